"""HRNet-W32 exactly as in the authors' MeshPose release (the `paper` variant), in NPU-friendly ops.

Parallel branches at strides 4/8/16/32 (widths 32/64/128/256) exchange information at the end
of every module; ReLU throughout. The release upsamples in its exchanges with one bilinear
align_corners resize per factor (x2, x4, x8); here each is the same interpolation written as two
constant matmuls (model/network/layers.py BilinearResize), the only form both the ANE and the
LiteRT GPU delegate run. The last module keeps one output: every branch projected to
`head_channels` by a 1x1 conv + BN, resized to stride 4, summed, ReLU (docs/DESIGN.md §9).
Module names differ from the release's; model/tools/import_paper.py maps one onto the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model.network.layers import BilinearResize, ConvBNAct


@dataclass(frozen=True)
class HRNetConfig:
    """Input size, branch widths, modules per stage (stages 2..4), basic blocks per branch, output width."""

    input_hw: tuple[int, int] = (384, 288)
    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    modules: tuple[int, int, int] = (1, 4, 3)
    blocks: int = 4
    head_channels: int = 256


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1, act: bool = True) -> ConvBNAct:
    return ConvBNAct(in_ch, out_ch, kernel, stride, act=act, act_layer=nn.ReLU)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(ch, ch, 3), _conv(ch, ch, 3, act=False))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand, with a projected shortcut when channels change."""

    def __init__(self, in_ch: int, mid: int, out_ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(in_ch, mid, 1), _conv(mid, mid, 3), _conv(mid, out_ch, 1, act=False))
        self.short = nn.Identity() if in_ch == out_ch else _conv(in_ch, out_ch, 1, act=False)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.short(x) + self.body(x))


class ProjectUp(nn.Module):
    """1x1 conv + BN to the target width, then a bilinear (align_corners) resize by `factor` (1: none)."""

    def __init__(self, in_ch: int, out_ch: int, in_hw: tuple[int, int], factor: int) -> None:
        super().__init__()
        self.proj = _conv(in_ch, out_ch, 1, act=False)
        self.resize = BilinearResize(in_hw, factor) if factor > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resize(self.proj(x))


def _downsample(in_ch: int, out_ch: int, steps: int) -> nn.Sequential:
    """`steps` strided 3x3 convolutions; all but the last keep the width and end in ReLU."""
    layers = [_conv(in_ch, in_ch, 3, 2) for _ in range(steps - 1)]
    layers.append(_conv(in_ch, out_ch, 3, 2, act=False))
    return nn.Sequential(*layers)


class HRModule(nn.Module):
    """Basic blocks on each branch, then the exchange: every output row sums all branches, then ReLU.

    With `single_output=C`, only one row is made (stride 4, C channels) and every branch, the
    stride-4 one included, is projected to C first: the release's last module.
    """

    def __init__(self, widths: tuple[int, ...], sizes: list[tuple[int, int]], blocks: int,
                 single_output: int | None = None) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*[BasicBlock(w) for _ in range(blocks)]) for w in widths)
        rows: list[nn.ModuleList] = []
        for i in [0] if single_output else range(len(widths)):
            row: list[nn.Module] = []
            for j, wj in enumerate(widths):
                if single_output:
                    row.append(ProjectUp(wj, single_output, sizes[j], 2**j))
                elif j == i:
                    row.append(nn.Identity())
                elif j > i:
                    row.append(ProjectUp(wj, widths[i], sizes[j], 2 ** (j - i)))
                else:
                    row.append(_downsample(wj, widths[i], i - j))
            rows.append(nn.ModuleList(row))
        self.fuse = nn.ModuleList(rows)
        self.act = nn.ReLU(inplace=True)

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
    """HRNet-W32 returning (stride-4 features with `head_channels` channels, None): no coarse map."""

    def __init__(self, cfg: HRNetConfig) -> None:
        super().__init__()
        h, w = cfg.input_hw
        if h % 32 or w % 32:
            raise ValueError(f"HRNet input {h}x{w} must be a multiple of 32")
        wd = cfg.widths
        sizes = [(h // 4 // 2**k, w // 4 // 2**k) for k in range(4)]
        self.stem = nn.Sequential(_conv(3, 64, 3, 2), _conv(64, 64, 3, 2))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, 256), *[Bottleneck(256, 64, 256) for _ in range(3)])
        self.transitions = nn.ModuleList(
            [
                nn.ModuleList([_conv(256, wd[0], 3), _conv(256, wd[1], 3, 2)]),
                _conv(wd[1], wd[2], 3, 2),
                _conv(wd[2], wd[3], 3, 2),
            ]
        )
        stages = []
        for s, n in enumerate(cfg.modules):
            branches = s + 2
            last_stage = s == len(cfg.modules) - 1
            stages.append(nn.Sequential(*[
                HRModule(wd[:branches], sizes[:branches], cfg.blocks,
                         single_output=cfg.head_channels if last_stage and m == n - 1 else None)
                for m in range(n)
            ]))
        self.stages = nn.ModuleList(stages)
        self.out_channels = cfg.head_channels
        self.coarse_channels = 0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        x = self.layer1(self.stem(x))
        xs = [self.transitions[0][0](x), self.transitions[0][1](x)]
        xs = self.stages[0](xs)
        xs = self.stages[1](xs + [self.transitions[1](xs[-1])])
        xs = self.stages[2](xs + [self.transitions[2](xs[-1])])
        return xs[0], None
