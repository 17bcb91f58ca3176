"""MobileNetV2-style encoder with a light top-down FPN neck back to stride 4.

The mobile variants' backbone: depthwise-separable inverted residuals (cheap on NPUs),
nearest 2x upsampling and additions in the neck, ReLU6 everywhere (fp16-safe range).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model.network.layers import ConvBNAct, DepthwiseSeparable, InvertedResidual, make_divisible, upsample2x


@dataclass(frozen=True)
class MobileNetFPNConfig:
    """Width and depth of the encoder and neck.

    stages: (expand ratio, out channels, repeats, stride) per stage, before width scaling.
    """

    width: float = 1.0
    stem: int = 32
    stages: tuple[tuple[int, int, int, int], ...] = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),  # stride 4
        (6, 32, 3, 2),  # stride 8
        (6, 64, 4, 2),  # stride 16
        (6, 96, 3, 1),
        (6, 160, 3, 2),  # stride 32
    )
    neck_channels: int = 96


class MobileNetFPN(nn.Module):
    """Encoder to stride 32, top-down FPN to stride 4; returns (fine, coarse) features."""

    def __init__(self, cfg: MobileNetFPNConfig) -> None:
        super().__init__()
        stem = make_divisible(cfg.stem * cfg.width)
        self.stem = ConvBNAct(3, stem, kernel=3, stride=2)
        blocks: list[nn.Module] = []
        taps: list[int] = []  # block index after which a new stride level ends
        tap_channels: list[int] = []
        in_ch, stride = stem, 2
        for expand, ch, repeats, s in cfg.stages:
            out_ch = make_divisible(ch * cfg.width)
            if s == 2 and stride >= 4:
                taps.append(len(blocks) - 1)
                tap_channels.append(in_ch)
            for i in range(repeats):
                blocks.append(InvertedResidual(in_ch, out_ch, s if i == 0 else 1, expand))
                in_ch = out_ch
            stride *= s
        taps.append(len(blocks) - 1)
        tap_channels.append(in_ch)
        if stride != 32 or len(taps) != 4:
            raise ValueError("MobileNetFPN stages must reach stride 32 through strides 4, 8, 16")
        self.blocks = nn.ModuleList(blocks)
        self.taps = tuple(taps)
        c = cfg.neck_channels
        self.lateral = nn.ModuleList(ConvBNAct(tc, c, kernel=1, act=False) for tc in tap_channels)
        self.smooth = DepthwiseSeparable(c, c)
        self.out_channels = c
        self.coarse_channels = in_ch

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats: list[torch.Tensor] = []
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                feats.append(x)
        top = self.lateral[3](feats[3])
        for level in (2, 1, 0):
            top = upsample2x(top) + self.lateral[level](feats[level])
        return self.smooth(top), feats[3]
