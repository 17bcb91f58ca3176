"""Building blocks restricted to ops that phone NPUs and GPU delegates run natively.

Only regular/depthwise/pointwise convolutions, batch norm (folded at deploy time),
ReLU6, add, concat and nearest 2x upsampling appear here (docs/DESIGN.md §4).
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBNAct(nn.Sequential):
    """Conv2d -> BatchNorm2d -> optional ReLU6, with 'same' padding for odd kernels."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
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
