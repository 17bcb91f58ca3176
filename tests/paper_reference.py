"""An independent reference of the MeshPose release's forward pass, for the tests only.

Written from the release's formulas (docs/DESIGN.md §9), functionally, with torch.nn.functional:
it reads release-format state-dict keys directly, uses the resize the release uses (bilinear,
align_corners=True) and its integer-cell soft-argmax, and shares no code with model/network.
Nothing of the release's code is imported or copied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ENC = "model.model.0.encoder."
HEADS = "model.model.1.head_layers."
BN_EPS = 1e-5


class _Calibration:
    """While set, every batch norm takes its running statistics from the batch it sees, perturbed at
    random, and writes them into `target` (the caller's state dict): random weights then give
    activations of a trained network's scale instead of growing through the stages."""

    def __init__(self, target: dict, generator: torch.Generator) -> None:
        self.target, self.g = target, generator

    def set(self, sd: dict, bn: str, x: torch.Tensor) -> None:
        dims = [0] + list(range(2, x.dim()))
        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        var = var.clamp_min(1e-2 * float(var.mean()) + 1e-6)
        mean = mean + 0.1 * var.sqrt() * torch.randn(mean.shape, generator=self.g, dtype=mean.dtype)
        var = var * (0.8 + 0.45 * torch.rand(var.shape, generator=self.g, dtype=var.dtype))
        for key, value in ((".running_mean", mean), (".running_var", var)):
            sd[bn + key] = value
            self.target[bn + key] = value.to(self.target[bn + key].dtype)


_CALIBRATION: _Calibration | None = None


def _bn(sd, bn: str, x):
    if _CALIBRATION is not None:
        _CALIBRATION.set(sd, bn, x)
    return F.batch_norm(x, sd[bn + ".running_mean"], sd[bn + ".running_var"], sd[bn + ".weight"], sd[bn + ".bias"],
                        False, 0.0, BN_EPS)


def _conv_bn(sd, conv: str, bn: str, x, stride: int = 1, relu: bool = True):
    w = sd[conv + ".weight"]
    x = _bn(sd, bn, F.conv2d(x, w, sd.get(conv + ".bias"), stride, w.shape[-1] // 2))
    return F.relu(x) if relu else x


def _bottleneck(sd, p: str, x, project: bool):
    out = _conv_bn(sd, p + "conv1", p + "bn1", x)
    out = _conv_bn(sd, p + "conv2", p + "bn2", out)
    out = _conv_bn(sd, p + "conv3", p + "bn3", out, relu=False)
    shortcut = _conv_bn(sd, p + "downsample.0", p + "downsample.1", x, relu=False) if project else x
    return F.relu(out + shortcut)


def _basic(sd, p: str, x):
    out = _conv_bn(sd, p + "conv1", p + "bn1", x)
    out = _conv_bn(sd, p + "conv2", p + "bn2", out, relu=False)
    return F.relu(out + x)


def _resize(x, factor: int):
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=True)


def _hr_module(sd, p: str, xs: list, single_output: bool) -> list:
    xs = [x for x in xs]
    for b in range(len(xs)):
        for k in range(4):
            xs[b] = _basic(sd, f"{p}branches.{b}.{k}.", xs[b])
    n = len(xs)
    outs = []
    for i in [0] if single_output else range(n):
        acc = None
        for j in range(n):
            f = f"{p}fuse_layers.{i}.{j}."
            if single_output:  # every branch projected to 256, resized to stride 4
                y = _conv_bn(sd, f + "0", f + "1", xs[j], relu=False)
                y = _resize(y, 2**j) if j else y
            elif j == i:
                y = xs[j]
            elif j > i:
                y = _resize(_conv_bn(sd, f + "0", f + "1", xs[j], relu=False), 2 ** (j - i))
            else:
                y = xs[j]
                for k in range(i - j):
                    y = _conv_bn(sd, f"{f}{k}.0", f"{f}{k}.1", y, stride=2, relu=k < i - j - 1)
            acc = y if acc is None else acc + y
        outs.append(F.relu(acc))
    return outs


def _backbone(sd, x):
    e = ENC
    x = _conv_bn(sd, e + "conv1", e + "bn1", x, stride=2)
    x = _conv_bn(sd, e + "conv2", e + "bn2", x, stride=2)
    for i in range(4):
        x = _bottleneck(sd, f"{e}layer1.{i}.", x, project=i == 0)
    xs = [_conv_bn(sd, e + "transition1.0.0", e + "transition1.0.1", x),
          _conv_bn(sd, e + "transition1.1.0.0", e + "transition1.1.0.1", x, stride=2)]
    xs = _hr_module(sd, e + "stage2.0.", xs, False)
    xs.append(_conv_bn(sd, e + "transition2.2.0.0", e + "transition2.2.0.1", xs[-1], stride=2))
    for m in range(4):
        xs = _hr_module(sd, f"{e}stage3.{m}.", xs, False)
    xs.append(_conv_bn(sd, e + "transition3.3.0.0", e + "transition3.3.0.1", xs[-1], stride=2))
    for m in range(3):
        xs = _hr_module(sd, f"{e}stage4.{m}.", xs, single_output=m == 2)
    return xs[0]


def _bins(sd, name: str, pooled):
    p = HEADS + name + "."
    h = F.conv1d(pooled[:, :, None], sd[p + "conv_z_1.0.weight"], sd[p + "conv_z_1.0.bias"])
    h = F.relu(_bn(sd, p + "conv_z_1.1", h)).reshape(pooled.shape[0], 256, 64)
    return F.conv1d(h, sd[p + "conv_z_2.0.weight"], sd[p + "conv_z_2.0.bias"])  # (B, 518, 64)


def release_forward(sd: dict, image_rgb255: torch.Tensor, seams: list, dtype=torch.float64) -> dict:
    """The release's outputs for RGB images in [0, 255] (B, 3, 384, 288), in its own frame and in ours.

    Returns `vertices_release` (crop pixels, pixel i centred at i, z as the release gives it),
    `vertices` (our crop frame: +0.5 on x, y; z minus the mean vertex depth) and `visibility`.
    """
    sd = {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}
    x = (image_rgb255.to(dtype) / 255.0 - 0.5) / 0.5
    feat = _backbone(sd, x)  # (B, 256, 96, 72)
    hm = F.conv2d(feat, sd[HEADS + "SP_MESHPOSE.weight"], sd[HEADS + "SP_MESHPOSE.bias"])
    b, v, h, w = hm.shape
    prob = torch.softmax(10.0 * hm.reshape(b, v, h * w), dim=-1).reshape(b, v, h, w)
    rows = torch.arange(h, dtype=prob.dtype)
    cols = torch.arange(w, dtype=prob.dtype)
    hm_x = (prob.sum(dim=2) * cols).sum(-1)
    hm_y = (prob.sum(dim=3) * rows).sum(-1)
    pooled = feat.mean(dim=(2, 3))
    positions = torch.arange(64, dtype=prob.dtype)

    def expectation(name):
        return (torch.softmax(_bins(sd, name, pooled), dim=-1) * positions).sum(-1) * 96 / 64

    reg_x = 3 * h / 64 * expectation("SP_VERTEX_X") - h
    reg_y = 4 * w / 64 * expectation("SP_VERTEX_Y") - w
    reg_z = 4 * w / 64 * expectation("SP_VERTEX_Z") - 2 * w
    visibility = torch.sigmoid(_bins(sd, "SP_VISIBILITY", pooled).mean(-1))
    verts = torch.stack([hm_x * visibility + reg_x * (1 - visibility),
                         hm_y * visibility + reg_y * (1 - visibility), reg_z], dim=-1)
    for a, c in seams:
        mean = 0.5 * (verts[:, a] + verts[:, c])
        verts[:, a] = mean
        verts[:, c] = mean
    verts = 4.0 * verts
    ours = verts.clone()
    ours[..., :2] += 0.5
    ours[..., 2] -= ours[..., 2].mean(dim=1, keepdim=True)
    return {"vertices_release": verts, "vertices": ours, "visibility": visibility}


def release_upsample(up: dict, vertices, center_indices: list, center_weights: list):
    """The release's full mesh from its low-poly vertices (B, 518, 3): centre, two linear maps, centre back."""
    up = {k: v.double() for k, v in up.items()}
    vertices = vertices.double()
    w = torch.tensor(center_weights, dtype=torch.float64).reshape(1, -1, 1)
    center = (vertices[:, center_indices] * w).sum(dim=1, keepdim=True)
    m = (vertices - center).transpose(1, 2)
    m = F.linear(F.linear(m, up["upsampling.weight"], up["upsampling.bias"]), up["upsampling2.weight"],
                 up["upsampling2.bias"])
    return m.transpose(1, 2) + center


def calibrate_batchnorm(sd: dict, images: torch.Tensor, seed: int = 0) -> None:
    """Set every batch norm's running statistics in `sd` (in place) from `images` (B, 3, 384, 288),
    perturbed at random (mean + N(0, 0.1 std), variance x U(0.8, 1.25)): random but not identity."""
    global _CALIBRATION
    _CALIBRATION = _Calibration(sd, torch.Generator().manual_seed(seed))
    try:
        release_forward(sd, images, seams=[])
    finally:
        _CALIBRATION = None
