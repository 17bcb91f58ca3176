"""Deploy-time rewrites that keep a trained network's function and shrink its error on fp16 accelerators.

Measured on LiteRT's GPU path (docs/DESIGN.md §8, "Where the GPU's error starts"): about half of the
variance of the fp16 error in the heatmap logits came from the first two ops. `image / 127.5 - 1` cancels
near mid-grey, and the stem's 3x3 convolution sums products of about +-127 that cancel on flat image
regions, in fp16 partial sums. Both are rewritten here, exactly in real arithmetic:

- the input is centred, `image - 127.5`, which fp16 holds exactly for 8-bit values, and the 1/127.5 scale
  moves into the stem's weights;
- the stem becomes `DifferenceConv`: an exact convolution (weights 0 and +-1) that takes each tap's
  difference to the centre pixel, then a 1x1 convolution with the trained weights, whose products are small
  where the image is flat.

Rounding every parameter to fp16 as well (a fifth of the emulated error) was measured and is not done: it
moved the QNN W8A8 export's rest-pose p99 over its gate (1.08 -> 1.55 px), one draw of how far the int8 paths
move under any exact rewrite (docs/DESIGN.md §8).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn


class DifferenceConv(nn.Module):
    """A Conv2d computed as `mix(diff(x))`: `diff` (weights 0 and +-1) gives x at each tap minus x at the
    kernel centre, and x at the centre; `mix` (1x1) weights the differences by the kernel and the centre by
    the kernel's sum. Equal in real arithmetic; on integer-valued inputs `diff` is exact in fp16 and `mix`
    sums small products where the input is flat."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        kh, kw = conv.kernel_size
        if conv.groups != 1 or kh % 2 == 0 or kw % 2 == 0 or conv.padding_mode != "zeros":
            raise ValueError("DifferenceConv rewrites a dense convolution with an odd kernel and zero padding")
        weight = conv.weight.detach()
        out_ch, in_ch = weight.shape[:2]
        centre = (kh // 2, kw // 2)
        taps = [(i, j) for i in range(kh) for j in range(kw) if (i, j) != centre]
        channels = in_ch * (len(taps) + 1)
        diff = torch.zeros(channels, in_ch, kh, kw, dtype=weight.dtype)
        mix = torch.zeros(out_ch, channels, 1, 1, dtype=weight.dtype)
        row = 0
        for c in range(in_ch):
            for i, j in taps:
                diff[row, c, i, j], diff[row, c, *centre] = 1.0, -1.0
                mix[:, row, 0, 0] = weight[:, c, i, j]
                row += 1
        for c in range(in_ch):
            diff[row, c, *centre] = 1.0
            mix[:, row, 0, 0] = weight[:, c].sum(dim=(1, 2))
            row += 1
        self.diff = nn.Conv2d(in_ch, channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, bias=False,
                              dtype=weight.dtype)
        self.mix = nn.Conv2d(channels, out_ch, 1, dtype=weight.dtype)
        with torch.no_grad():
            self.diff.weight.copy_(diff)
            self.mix.weight.copy_(mix)
            if conv.bias is not None:
                self.mix.bias.copy_(conv.bias.detach())
            else:
                self.mix.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(self.diff(x))


@torch.no_grad()
def apply_fp16_rewrites(net: nn.Module) -> None:
    """Rewrite a batch-norm-folded MeshPoseNet in place (module docstring): its normalisation becomes
    (1, bias / scale), which centres the image, the scale moves into the stem, and the stem's first
    convolution becomes a DifferenceConv."""
    scale, bias = net.settings.normalization
    if scale == 1.0:
        raise ValueError("the network's input is already centred; rewrite it once")
    stem = getattr(net.backbone, "stem", None)
    if not isinstance(stem, nn.Sequential) or not isinstance(stem[0], nn.Conv2d):
        raise ValueError(f"{type(net.backbone).__name__} has no `stem` starting with a Conv2d to rewrite")
    conv = stem[0]
    conv.weight.mul_(scale)
    # image * scale + bias == (image + bias / scale) * scale; -127.5 and 8-bit values minus it are exact in fp16.
    net.settings = dataclasses.replace(net.settings, normalization=(1.0, bias / scale))
    stem[0] = DifferenceConv(conv)
