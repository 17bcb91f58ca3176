"""MeshPose network: backbone -> VertexPose heatmaps (2D) + lift head (3D) -> Eq. 5 fusion.

Outputs live in the crop pixel frame of docs/DESIGN.md §5: x right, y down, origin at
the input's top-left corner, depth root-relative (mean vertex depth) in the same units.
Both branches work in coordinates normalised to [-1, 1] (fp16-safe, docs/DESIGN.md §8); one
constant scale and offset per axis maps them to pixels: ours for the mobile variants, the
release's for `paper` (`coordinate_affines`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from model.network.heads import LiftHead, PaperLiftHead, VertexPoseHead

HEATMAP_STRIDE = 4
# Regressed x, y cover 1.5x the crop half-size so truncated vertices stay representable.
REGRESSION_XY_EXTENT = 1.5
# The release's regression affines (docs/DESIGN.md §9): each head's expectation over bin indices is
# scaled by 96/64 (its output range over its bins), then X = 3*h/64*e - h, Y = 4*w/64*e - w and
# Z = 4*w/64*e - 2*w in stride-4 cells (h, w: heatmap height and width), then x4 to pixels.
RELEASE_OUTPUT_RANGE = 96.0
RELEASE_MULTIPLIERS = (3.0, 4.0, 4.0)
RELEASE_OFFSETS = (1.0, 1.0, 2.0)  # in units of (h, w, w)


@dataclass(frozen=True)
class MeshPoseSettings:
    """Non-backbone hyper-parameters of a variant."""

    input_hw: tuple[int, int]
    # The network sees image * scale + bias for RGB in [0, 255]: [-1, 1], as in the authors' release.
    normalization: tuple[float, float] = (1.0 / 127.5, -1.0)
    beta: float = 10.0
    bins: int = 64
    lift_hidden: int = 64
    lift_expand: int = 0  # > 0: 1x1 expansion of the coarse features before the global mean
    lift_spatial_channels: int = 0  # > 0: spatial summary (squeeze, flatten, linear) instead of a mean
    lift_embed: int = 256  # features of the spatial summary
    lift_uses_heatmap_xy: bool = False  # the spatial summary also takes the heatmap vertices
    argsoftmax_mode: str = "separable"
    heatmap_refine: bool = True  # a depthwise-separable block before the heatmap conv (not in the release)
    segmentation: bool = True  # a 2-class mask head beside the heatmaps (training and DensePose metrics)
    lift: str = "mobile"  # "mobile": model/network/heads/lift.py; "paper": the release's four 1-D heads
    coordinates: str = "meshpose"  # "meshpose" or "release": the affines from [-1, 1] to crop pixels


def coordinate_affines(settings: MeshPoseSettings) -> dict[str, torch.Tensor]:
    """Scales and offsets taking the branches' [-1, 1] outputs to crop pixels (our frame, §5).

    heatmap: (x, y) = n * scale + offset; regression: (x, y, z) = n * scale + offset.
    "release" reproduces the authors' cell-index expectations and affines, then moves their
    pixel convention (pixel i centred at i) to ours (centred at i + 0.5).
    """
    h, w = settings.input_hw
    if settings.coordinates == "meshpose":
        return {
            "heatmap_scale": torch.tensor([w / 2.0, h / 2.0]),
            "heatmap_offset": torch.tensor([w / 2.0, h / 2.0]),
            "regression_scale": torch.tensor([REGRESSION_XY_EXTENT * w / 2.0, REGRESSION_XY_EXTENT * h / 2.0, h / 2.0]),
            "regression_offset": torch.tensor([w / 2.0, h / 2.0, 0.0]),
        }
    if settings.coordinates != "release":
        raise ValueError(f"unknown coordinate convention {settings.coordinates!r}")
    s, b = float(HEATMAP_STRIDE), float(settings.bins)
    cells = (h / s, w / s, w / s)  # the release's h, w, w of each axis' affine
    # Cell c of a map n cells wide sits at normalised (c + 0.5) / n * 2 - 1 here, at pixel s * c there.
    hm_offset = [w / 2.0 - s / 2.0 + 0.5, h / 2.0 - s / 2.0 + 0.5]
    reg_scale, reg_centre = [], []
    for m, c, k, shift, target in zip(RELEASE_MULTIPLIERS, cells, RELEASE_OFFSETS, (0.5, 0.5, 0.0),
                                      (w / 2.0, h / 2.0, 0.0)):
        per_bin = s * m * c / b * RELEASE_OUTPUT_RANGE / b  # pixels per bin index
        # bin index E = (n + 1) * bins / 2 - 0.5, so pixel = n * scale + offset with:
        scale, offset = per_bin * b / 2.0, per_bin * (b / 2.0 - 0.5) - s * k * c + shift
        reg_scale.append(scale)
        # The release's bins span about 1,700 px (27 px a bin); in fp16 a value of n near 1 is only
        # known to 2^-11, i.e. 0.4 px. Expectations are therefore taken over bin centres shifted so that
        # the crop centre is n = 0, where the vertices are and fp16 is finest (regression_centre).
        reg_centre.append((target - offset) / scale)
    return {
        "heatmap_scale": torch.tensor([w / 2.0, h / 2.0]),
        "heatmap_offset": torch.tensor(hm_offset),
        "regression_scale": torch.tensor(reg_scale),
        "regression_offset": torch.tensor([w / 2.0, h / 2.0, 0.0]),
        "regression_centre": torch.tensor(reg_centre),
    }


def _check_origin(origin: str) -> None:
    """Refuse an unknown vertex origin."""
    if origin not in VERTEX_ORIGINS:
        raise ValueError(f"unknown origin {origin!r}; choose one of {VERTEX_ORIGINS}")


def seam_average_matrix(num_vertices: int, seam_pairs: np.ndarray) -> torch.Tensor:
    """(V, V) constant that replaces every vertex of a seam group by the group's mean.

    A group is a connected set of seam pairs (a vertex duplicated into several part charts);
    vertices in no pair keep their value. The matrix is doubly stochastic, so means survive.
    """
    parent = list(range(num_vertices))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in np.asarray(seam_pairs, dtype=np.int64).reshape(-1, 2):
        parent[root(int(i))] = root(int(j))
    groups = np.array([root(i) for i in range(num_vertices)])
    same = groups[:, None] == groups[None, :]
    return torch.from_numpy((same / same.sum(axis=1, keepdims=True)).astype(np.float32))


# Where the (x, y) of vertices and joints are measured from: the crop's top-left corner or its centre.
VERTEX_ORIGINS = ("corner", "centre")


class MeshPoseNet(nn.Module):
    """The trainable network. forward(image RGB in [0, 255], (B, 3, H, W)) -> dict of outputs."""

    def __init__(self, backbone: nn.Module, settings: MeshPoseSettings, template) -> None:
        super().__init__()
        h, w = settings.input_hw
        if h % 32 or w % 32:
            raise ValueError(f"input {h}x{w} must be a multiple of 32 in both dimensions")
        self.settings = settings
        self.template_sha256 = template.sha256
        v = template.num_vertices
        self.num_vertices = v
        self.backbone = backbone
        hm_hw = (h // HEATMAP_STRIDE, w // HEATMAP_STRIDE)
        self.vertexpose = VertexPoseHead(
            backbone.out_channels, v, hm_hw, beta=settings.beta, argsoftmax_mode=settings.argsoftmax_mode,
            refine=settings.heatmap_refine, segmentation=settings.segmentation,
        )
        if settings.lift == "paper":
            centre = coordinate_affines(settings)["regression_centre"].tolist()
            self.lift = PaperLiftHead(backbone.out_channels, v, hidden=settings.lift_hidden, bins=settings.bins,
                                      centre=tuple(centre))
        elif settings.lift == "mobile":
            self.lift = LiftHead(backbone.coarse_channels, v, bins=settings.bins, hidden=settings.lift_hidden,
                                 expand=settings.lift_expand, spatial_channels=settings.lift_spatial_channels,
                                 coarse_hw=(h // 32, w // 32), embed=settings.lift_embed,
                                 use_heatmap_xy=settings.lift_uses_heatmap_xy)
        else:
            raise ValueError(f"unknown lift head {settings.lift!r}; choose 'mobile' or 'paper'")
        # The coordinate tail runs with the crop centre as origin: in fp16 a value is only known to 2^-11 of
        # its magnitude, 0.125 px between 128 and 256 but finer near 0, so coordinates near the crop centre
        # keep their sub-pixel part through Eq. 5, the seam average and the landmarker (docs/DESIGN.md §8).
        affines = coordinate_affines(settings)
        centre = torch.tensor([w / 2.0, h / 2.0])
        self.register_buffer("crop_centre", torch.cat([centre, torch.zeros(1)]), persistent=False)
        self.register_buffer("heatmap_scale", affines["heatmap_scale"].float(), persistent=False)
        self.register_buffer("heatmap_shift", (affines["heatmap_offset"] - centre).float(), persistent=False)
        self.register_buffer("regression_scale", affines["regression_scale"].float(), persistent=False)
        self.register_buffer("regression_shift", (affines["regression_offset"] - self.crop_centre).float(),
                             persistent=False)
        seam = seam_average_matrix(v, template.seam_pairs)
        self.register_buffer("seam_average_t", seam.T.contiguous(), persistent=False)
        # Joints need a landmarker; a deploy-only template without one gives vertices and visibility only.
        self.has_joints = template.coco17 is not None
        if self.has_joints:
            landmarker = np.asarray(template.coco17, np.float64)
            self.register_buffer("landmarker_t", torch.tensor(landmarker.T, dtype=torch.float32).contiguous(),
                                 persistent=False)
            # A landmarker composed with an affine upsampler carries a constant term; one whose rows do not
            # sum to 1 moves the origin, which the centred tail folds into that term: joints about the crop
            # centre are L (v - c) + b + (L 1 - 1) c.
            bias = np.outer(self.crop_centre.double().numpy(), landmarker.sum(axis=1) - 1.0)  # (3, J)
            if getattr(template, "coco17_bias", None) is not None:  # (J,), the same for x, y and z
                bias += np.asarray(template.coco17_bias, np.float64)[None, :]
            self.landmarker_has_bias = bool(np.abs(bias).max() > 1e-6 * max(h, w))
            if self.landmarker_has_bias:
                self.register_buffer("landmarker_bias", torch.tensor(bias, dtype=torch.float32).reshape(1, 3, -1),
                                     persistent=False)

    @property
    def output_names(self) -> tuple[str, ...]:
        """The deployable outputs this network produces."""
        return ("vertices", "visibility", "joints") if self.has_joints else ("vertices", "visibility")

    @property
    def input_hw(self) -> tuple[int, int]:
        """Model input (height, width) in pixels."""
        return self.settings.input_hw

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 255] -> the network's input range (settings.normalization)."""
        scale, bias = self.settings.normalization
        return image * scale + bias

    def forward(self, image: torch.Tensor, with_segmentation: bool = True) -> dict[str, torch.Tensor]:
        """Run the network on RGB images in [0, 255]; see the module docstring for units."""
        return self.forward_normalized(self.normalize(image), with_segmentation)

    def forward_normalized(self, x: torch.Tensor, with_segmentation: bool = True,
                           origin: str = "corner") -> dict[str, torch.Tensor]:
        """Same as forward() for inputs already scaled to [-1, 1].

        origin="corner" gives vertices and joints in crop pixels from the top-left corner (training and
        evaluation); "centre" leaves them about the crop centre, as the deployed graph emits them, so that
        an fp16 accelerator's last rounding is 2^-11 of a small number (docs/CONTRACTS.md §1).
        """
        _check_origin(origin)  # before the backbone runs
        fine, coarse = self.backbone(x)
        return self.forward_features(fine, coarse, with_segmentation, origin)

    def forward_features(self, fine: torch.Tensor, coarse: torch.Tensor | None, with_segmentation: bool = True,
                         origin: str = "corner") -> dict[str, torch.Tensor]:
        """forward_normalized() from the backbone's outputs on: the heads, Eq. 5 and the coordinate tail (a
        deployment may run the backbone and this part as two models, at two precisions)."""
        _check_origin(origin)
        heatmaps, xy_norm, seg, trust = self.vertexpose(fine, with_segmentation)
        xy_heatmap = xy_norm * self.heatmap_scale + self.heatmap_shift  # crop pixels about the centre
        xyz_norm, vis_logit = self.lift(fine if getattr(self.lift, "reads", "coarse") == "fine" else coarse, xy_norm,
                                        trust)
        xyz_reg = xyz_norm * self.regression_scale + self.regression_shift
        visibility = torch.sigmoid(vis_logit)
        # Eq. 5: trust the heatmap where the vertex is visible, the regression elsewhere; with a heatmap
        # trust, also the regression where the heatmap is ambiguous (fp16 moves those; docs/DESIGN.md §8).
        # In training Eq. 5 takes the trust as a constant: the vertex losses would otherwise teach it to trust
        # whichever branch is nearer, not which heatmap is ambiguous.
        weight = visibility if trust is None else visibility * (trust.detach() if self.training else trust)
        xy = xyz_reg[..., :2] + weight.unsqueeze(-1) * (xy_heatmap - xyz_reg[..., :2])
        # Constant matrices multiply from the right: the LiteRT GPU delegate runs a matmul with a
        # constant second operand (as FULLY_CONNECTED) but not one with a constant first operand.
        coords = torch.cat([xy, xyz_reg[..., 2:]], dim=-1).transpose(1, 2)  # (B, 3, V)
        coords = torch.matmul(coords, self.seam_average_t)
        # Root-relative depth: subtract the mean vertex depth (a constant-axis mean, NPU friendly).
        depth = coords[:, 2:]
        coords = torch.cat([coords[:, :2], depth - depth.mean(dim=2, keepdim=True)], dim=1)
        shift = self.crop_centre.reshape(1, 1, 3) if origin == "corner" else None
        vertices = coords.transpose(1, 2)
        out = {
            "heatmaps": heatmaps,
            "xy_heatmap": xy_heatmap + self.crop_centre[:2],
            "xyz_regressed": xyz_reg + self.crop_centre,
            "visibility_logit": vis_logit,
            "visibility": visibility,
            "heatmap_weight": weight,
            **({} if trust is None else {"heatmap_trust": trust}),
            "vertices": vertices if shift is None else vertices + shift,
        }
        if self.has_joints:
            joints = torch.matmul(coords, self.landmarker_t)
            if self.landmarker_has_bias:
                joints = joints + self.landmarker_bias
            joints = joints.transpose(1, 2)
            out["joints"] = joints if shift is None else joints + shift
        if seg is not None:
            out["segmentation"] = seg
        return out
