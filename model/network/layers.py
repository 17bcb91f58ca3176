"""Building blocks restricted to ops that phone NPUs and GPU delegates run natively.

Only regular/depthwise/pointwise convolutions, batch norm (folded at deploy time),
ReLU6 or ReLU, add, concat, nearest 2x upsampling and resizes written as constant
matmuls appear here (docs/DESIGN.md §4).
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBNAct(nn.Sequential):
    """Conv2d -> BatchNorm2d -> optional activation (ReLU6 by default), 'same' padding for odd kernels."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
        act_layer: type[nn.Module] = nn.ReLU6,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        if act:
            layers.append(act_layer(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: pointwise expand -> depthwise 3x3 -> pointwise project (+ skip)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = in_ch * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(in_ch, hidden, kernel=1))
        layers += [
            ConvBNAct(hidden, hidden, kernel=3, stride=stride, groups=hidden),
            ConvBNAct(hidden, out_ch, kernel=1, act=False),
        ]
        self.block = nn.Sequential(*layers)
        self.use_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_skip else out


class DepthwiseSeparable(nn.Sequential):
    """Depthwise 3x3 + pointwise 1x1, both with BN and ReLU6."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            ConvBNAct(in_ch, in_ch, kernel=3, groups=in_ch),
            ConvBNAct(in_ch, out_ch, kernel=1),
        )


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling (the only resize the ANE and GPU delegate both take well)."""
    return nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of `divisor` (vector-unit friendly), never below 90%."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def bilinear_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """(size_out, size_in) weights of a 1-D bilinear resize with align_corners=True.

    Output sample o reads input position o * (size_in - 1) / (size_out - 1), split between its two
    neighbours: the rule of torch's and the authors' `Upsample(mode="bilinear", align_corners=True)`.
    """
    out = torch.zeros(size_out, size_in, dtype=torch.float64)
    if size_in == 1 or size_out == 1:
        out[:, 0] = 1.0
        return out.float()
    pos = torch.arange(size_out, dtype=torch.float64) * (size_in - 1) / (size_out - 1)
    lo = pos.floor().clamp(max=size_in - 2).long()
    frac = pos - lo
    rows = torch.arange(size_out)
    out[rows, lo] = 1.0 - frac
    out[rows, lo + 1] += frac
    return out.float()


class BilinearResize(nn.Module):
    """Bilinear resize with align_corners=True by an integer factor, as two constant matmuls.

    Neither accelerator runs an align_corners resize natively, and the ANE takes at most 2x per
    resize; a matmul with a constant second operand (columns, then rows after a transpose) runs
    on both and computes the same interpolation exactly (docs/DESIGN.md §9).
    """

    def __init__(self, in_hw: tuple[int, int], factor: int) -> None:
        super().__init__()
        h, w = in_hw
        self.in_hw, self.factor = (h, w), factor
        self.register_buffer("rows_t", bilinear_matrix(h, h * factor).T.contiguous(), persistent=False)
        self.register_buffer("cols_t", bilinear_matrix(w, w * factor).T.contiguous(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.matmul(x, self.cols_t)  # (B, C, h, W)
        x = torch.matmul(x.transpose(2, 3), self.rows_t)  # (B, C, W, H)
        return x.transpose(2, 3)
