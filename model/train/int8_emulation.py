"""Emulated int8 arithmetic on part of a batch (the int8_heatmap_consistency term).

The int8 exports quantise one part of the backbone (model/network/int8_region.py): weights per output
channel, symmetric, 8 bits; activations per tensor, asymmetric, 8 bits over the range calibration saw.
Within `Int8Emulation.rows(start)` the same rounding is applied to batch rows `start:` only, so a batch of
[images; the same images] gives the float and the int8 outputs in one forward pass:

- every Conv2d of that part convolves those rows with its weight rounded to the int8 grid. Per-channel
  symmetric rounding commutes with the per-channel scale that folding batch norm multiplies in, so rounding
  the unfolded weight lands on the same grid as the exporters' rounding of the folded one;
- the input and output of every ConvBNAct and the output of every InvertedResidual of that part are rounded
  to 256 levels over a running min/max of what those rows carried (the exporters' calibration, tracked).

Both roundings pass gradients straight through (torch's fake-quantize ops), so a consistency term on the
two halves teaches the float weights to give the same positions when rounded as when not. The FPN's two
intermediate sums are not rounded (they are no module's input or output).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from model.network.int8_region import int8_modules
from model.network.layers import ConvBNAct, InvertedResidual


def fake_quantize_weight(weight: torch.Tensor) -> torch.Tensor:
    """`weight` (out, ...) rounded per output channel to the symmetric int8 grid max|w| / 127."""
    scale = weight.detach().abs().flatten(1).amax(dim=1).clamp_min(1e-12).float() / 127
    zero = torch.zeros(len(scale), dtype=torch.int32, device=weight.device)
    return torch.fake_quantize_per_channel_affine(weight, scale, zero, 0, -127, 127)


def fake_quantize_activation(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """`x` rounded to the asymmetric int8 grid spanning [lo, hi] (widened to hold 0, as the exporters do)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / 255
    zero = round(-lo / scale) - 128
    return torch.fake_quantize_per_tensor_affine(x, scale, max(-128, min(127, zero)), -128, 127)


class Int8Emulation:
    """Int8 rounding of the int8 exports' part of `net`, on chosen batch rows; keeps activation ranges across steps.

    `momentum`: weight of each batch's min / max in the running range (the first batch sets it).
    """

    def __init__(self, net: nn.Module, momentum: float = 0.05) -> None:
        region = list(int8_modules(net))
        if not region:
            raise ValueError("this network has no int8 part to emulate (model/network/int8_region.py)")
        self.convs = [m for _, m in region if isinstance(m, nn.Conv2d)]
        self.inputs = [(p, m) for p, m in region if isinstance(m, ConvBNAct)]
        self.outputs = [(p, m) for p, m in region if isinstance(m, ConvBNAct | InvertedResidual)]
        self.momentum = momentum
        self.ranges: dict[str, tuple[float, float]] = {}

    def _round(self, key: str, x: torch.Tensor, start: int) -> torch.Tensor:
        part = x[start:]
        lo, hi = float(part.detach().amin()), float(part.detach().amax())
        if key in self.ranges:
            (old_lo, old_hi), m = self.ranges[key], self.momentum
            lo, hi = old_lo + m * (lo - old_lo), old_hi + m * (hi - old_hi)
        self.ranges[key] = (lo, hi)
        return torch.cat([x[:start], fake_quantize_activation(part, lo, hi)])

    @contextmanager
    def rows(self, start: int) -> Iterator[None]:
        """Within the block, batch rows `start:` run through the emulated int8 part; rows before it in float."""

        def conv_forward(conv: nn.Conv2d):
            def forward(x: torch.Tensor) -> torch.Tensor:
                head = conv._conv_forward(x[:start], conv.weight, conv.bias)
                tail = conv._conv_forward(x[start:], fake_quantize_weight(conv.weight), conv.bias)
                return torch.cat([head, tail])
            return forward

        handles = []
        for path, m in self.inputs:
            handles.append(m.register_forward_pre_hook(
                lambda _m, args, key=path + ":in": (self._round(key, args[0], start), *args[1:])))
        for path, m in self.outputs:
            handles.append(m.register_forward_hook(
                lambda _m, _args, out, key=path + ":out": self._round(key, out, start)))
        for conv in self.convs:
            conv.forward = conv_forward(conv)
        try:
            yield
        finally:
            for h in handles:
                h.remove()
            for conv in self.convs:
                del conv.forward
