"""Emulated fp16 rounding noise on the activations of part of a batch (the fp16_consistency term).

fp16 arithmetic perturbs every layer's output by a relative amount of the order of its unit roundoff
(2^-11), more where dot products accumulate. The noise here is uniform, relative, on every convolution's
and linear layer's output, and only on the batch rows from `start` on: a batch of [images; the same
images] then gives the clean and the perturbed outputs in one forward pass, whose distance the term
penalises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def activation_noise(net: nn.Module, start: int, relative: float, generator: torch.Generator) -> Iterator[None]:
    """Within the block, every Conv2d / Linear output of `net` is multiplied by (1 + relative * u),
    u ~ U(-1, 1) drawn from `generator`, in batch rows `start:` only."""

    def perturb(_module: nn.Module, _inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        uniform = torch.rand(out[start:].shape, generator=generator, device=generator.device)
        noise = (uniform * 2 - 1).to(out.device, out.dtype)
        return torch.cat([out[:start], out[start:] * (1 + relative * noise)])

    handles = [m.register_forward_hook(perturb) for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
