"""HRNet-style backbone (paper-scale reference `l`), built from NPU-friendly ops only.

Parallel branches at strides 4/8/16/32 exchange information in every module; all
upsampling is repeated nearest 2x (the ANE takes at most 2x per resize). The output
concatenates every branch at stride 4 and projects it to `head_channels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model.network.layers import ConvBNAct, upsample2x


@dataclass(frozen=True)
class HRNetConfig:
    """Branch widths, number of modules per stage (stages 2..4), residual blocks per branch."""

    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    modules: tuple[int, int, int] = (1, 4, 3)
    blocks: int = 4
    head_channels: int = 256


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBNAct(ch, ch, 3), ConvBNAct(ch, ch, 3, act=False))
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand, with a projected shortcut when channels change."""

    def __init__(self, in_ch: int, mid: int, out_ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBNAct(in_ch, mid, 1), ConvBNAct(mid, mid, 3), ConvBNAct(mid, out_ch, 1, act=False)
        )
        self.short = nn.Identity() if in_ch == out_ch else ConvBNAct(in_ch, out_ch, 1, act=False)
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.short(x) + self.body(x))


class Upsample(nn.Module):
    """1x1 projection then `steps` nearest 2x upsamplings."""

    def __init__(self, in_ch: int, out_ch: int, steps: int) -> None:
        super().__init__()
        self.proj = ConvBNAct(in_ch, out_ch, 1, act=False)
        self.steps = steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        for _ in range(self.steps):
            x = upsample2x(x)
        return x


def _downsample(in_ch: int, out_ch: int, steps: int) -> nn.Sequential:
    """`steps` strided 3x3 convolutions, the last one without activation."""
    layers = [ConvBNAct(in_ch, in_ch, 3, 2) for _ in range(steps - 1)]
    layers.append(ConvBNAct(in_ch, out_ch, 3, 2, act=False))
    return nn.Sequential(*layers)


class HRModule(nn.Module):
    """Residual blocks on each branch, then an all-to-all exchange between branches."""

    def __init__(self, widths: tuple[int, ...], blocks: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*[BasicBlock(w) for _ in range(blocks)]) for w in widths)
        fuse: list[nn.ModuleList] = []
        for i, wi in enumerate(widths):
            row: list[nn.Module] = []
            for j, wj in enumerate(widths):
                if j == i:
                    row.append(nn.Identity())
                elif j > i:
                    row.append(Upsample(wj, wi, j - i))
                else:
                    row.append(_downsample(wj, wi, i - j))
            fuse.append(nn.ModuleList(row))
        self.fuse = nn.ModuleList(fuse)
        self.act = nn.ReLU6(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        out = []
        for row in self.fuse:
            acc = row[0](xs[0])
            for j in range(1, len(xs)):
                acc = acc + row[j](xs[j])
            out.append(self.act(acc))
        return out


class HRNet(nn.Module):
    """HRNet-W32-like backbone returning (stride-4 features, stride-32 features)."""

    def __init__(self, cfg: HRNetConfig) -> None:
        super().__init__()
        w = cfg.widths
        self.stem = nn.Sequential(ConvBNAct(3, 64, 3, 2), ConvBNAct(64, 64, 3, 2))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, 256), *[Bottleneck(256, 64, 256) for _ in range(3)])
        self.transitions = nn.ModuleList(
            [
                nn.ModuleList([ConvBNAct(256, w[0], 3), ConvBNAct(256, w[1], 3, 2)]),
                ConvBNAct(w[1], w[2], 3, 2),
                ConvBNAct(w[2], w[3], 3, 2),
            ]
        )
        self.stages = nn.ModuleList(
            nn.Sequential(*[HRModule(w[: s + 2], cfg.blocks) for _ in range(n)]) for s, n in enumerate(cfg.modules)
        )
        self.merge_up = nn.ModuleList(
            [nn.Identity()] + [Upsample(w[j], w[j], j) for j in range(1, 4)]
        )
        self.merge = ConvBNAct(sum(w), cfg.head_channels, 1)
        self.out_channels = cfg.head_channels
        self.coarse_channels = w[3]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.layer1(self.stem(x))
        xs = [self.transitions[0][0](x), self.transitions[0][1](x)]
        xs = self.stages[0](xs)
        xs = self.stages[1](xs + [self.transitions[1](xs[-1])])
        xs = self.stages[2](xs + [self.transitions[2](xs[-1])])
        fine = torch.cat([up(t) for up, t in zip(self.merge_up, xs)], dim=1)
        return self.merge(fine), xs[3]
