"""The deployed graph: image in -> vertices, visibility, joints out (docs/CONTRACTS.md §1).

This is what every exporter converts. Batch norm is folded into the convolutions, the
segmentation branch is dropped, and only ops of the NPU policy remain (docs/DESIGN.md §4;
checked by export/op_policy.py inside every export). `model.build.build_deploy_model`
builds one from a variant's spec.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from model.checkpoint import CheckpointInfo
from model.network.meshpose import VERTEX_ORIGINS, MeshPoseNet


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every Conv2d (Linear) directly followed by BatchNorm2d (BatchNorm1d) inside a Sequential
    into one layer, in place."""
    for child in module.children():
        fold_batchnorm(child)
    if isinstance(module, nn.Sequential):
        items = list(module._modules.items())
        for (_, a), (name_b, b) in pairwise(items):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                fused = fuse_conv_bn_eval(a, b)
            elif isinstance(a, nn.Linear) and isinstance(b, nn.BatchNorm1d):
                fused = fuse_linear_bn_eval(a, b)
            else:
                continue
            a.weight, a.bias = fused.weight, fused.bias
            module._modules[name_b] = nn.Identity()
    return module


class DeployModel(nn.Module):
    """Wraps a trained MeshPoseNet for export: fixed batch 1, static shapes, the spec's named outputs."""

    def __init__(self, net: MeshPoseNet, *, input_name: str, output_names: tuple[str, ...],
                 normalize_in_graph: bool = True, nhwc: bool = False, vertex_origin: str = "centre") -> None:
        super().__init__()
        if vertex_origin not in VERTEX_ORIGINS:
            raise ValueError(f"unknown vertex origin {vertex_origin!r}; choose one of {VERTEX_ORIGINS}")
        self.input_name = input_name
        self.output_names = tuple(output_names)
        self.net = fold_batchnorm(net.eval())
        self.normalize_in_graph = normalize_in_graph
        self.nhwc = nhwc
        # Exports emit (x, y) about the crop centre (contract v3, docs/CONTRACTS.md §1); "corner" is the
        # crop-pixel frame the training and evaluation code works in.
        self.vertex_origin = vertex_origin
        self.variant = getattr(net, "variant", "custom")
        self.checkpoint: CheckpointInfo | None = None

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Static input shape, (1, 3, H, W) or (1, H, W, 3) with nhwc."""
        h, w = self.net.input_hw
        return (1, h, w, 3) if self.nhwc else (1, 3, h, w)

    @property
    def origin_px(self) -> tuple[float, float, float]:
        """What to add to the emitted (x, y, z) to get crop pixels from the top-left corner."""
        if self.vertex_origin == "corner":
            return (0.0, 0.0, 0.0)
        return tuple(float(v) for v in self.net.crop_centre)  # the centre the network's tail subtracts

    @property
    def num_vertices(self) -> int:
        """Number of template vertices V."""
        return self.net.num_vertices

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.heads(*self.features(image))
        return tuple(out[name] for name in self.output_names)

    def features(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The graph's first part, image to the backbone's (fine, coarse) maps (coarse None where the backbone
        makes none): layout, normalisation and backbone."""
        if self.nhwc:
            image = image.permute(0, 3, 1, 2)
        if self.normalize_in_graph:
            image = self.net.normalize(image)
        return self.net.backbone(image)

    def heads(self, fine: torch.Tensor, coarse: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The graph's second part, the backbone's maps to every output of the network by name."""
        return self.net.forward_features(fine, coarse, with_segmentation=False, origin=self.vertex_origin)

    def example_input(self, seed: int = 0) -> torch.Tensor:
        """A deterministic example input of the right shape and value range."""
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(self.input_shape, generator=g) * 255.0
        return x if self.normalize_in_graph else self.net.normalize(x)


class DeployBackbone(nn.Module):
    """The deployed graph's first part: image in, the backbone's feature maps out (`fine`, and `coarse` where
    the backbone makes one). With DeployHeads it computes the DeployModel's function as two models, which a
    GPU can run at two precisions (docs/DESIGN.md §8, "Precision by part")."""

    def __init__(self, deploy: DeployModel) -> None:
        super().__init__()
        if deploy.nhwc:
            raise ValueError("the two-part deployment takes NCHW input only")
        self.deploy = deploy

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        fine, coarse = self.deploy.features(image)
        return {"fine": fine} if coarse is None else {"fine": fine, "coarse": coarse}


class DeployHeads(nn.Module):
    """The deployed graph's second part: the backbone's feature maps in (DeployBackbone's outputs, by name),
    the DeployModel's outputs out, by name (a dict, so that a converted model's signature carries them)."""

    def __init__(self, deploy: DeployModel) -> None:
        super().__init__()
        self.deploy = deploy

    def forward(self, fine: torch.Tensor, coarse: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        out = self.deploy.heads(fine, coarse)
        return {name: out[name] for name in self.deploy.output_names}
