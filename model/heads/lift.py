"""MeshPose lift head: pooled features -> per-vertex X, Y, Z as 1-D argsoftmax over bins + visibility.

Global average pooling, a linear layer to a (D, bins) 1-D signal, then 1x1 convolutions
(1-D convolutions written as 4-D (B, C, 1, bins) tensors, the layout the ANE prefers)
to 4·V channels: three sets of bin logits (X, Y, Z) and a visibility set whose mean
over bins is the visibility logit.
"""

from __future__ import annotations

import torch
from torch import nn

from model.argsoftmax import ArgSoftmax1D


class LiftHead(nn.Module):
    """Coarse features (B, C, h, w) -> (xyz in [-1, 1] (B, V, 3), visibility logits (B, V))."""

    def __init__(self, in_ch: int, num_vertices: int, bins: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.num_vertices, self.bins, self.hidden = num_vertices, bins, hidden
        self.to_signal = nn.Linear(in_ch, hidden * bins)
        self.act = nn.ReLU6(inplace=True)
        self.mix = nn.Conv2d(hidden, hidden, kernel_size=1)
        self.to_bins = nn.Conv2d(hidden, 4 * num_vertices, kernel_size=1)
        self.argsoftmax = ArgSoftmax1D(bins)

    def forward(self, coarse: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = coarse.shape[0]
        v, bins = self.num_vertices, self.bins
        pooled = coarse.mean(dim=(2, 3))
        signal = self.act(self.to_signal(pooled)).reshape(b, self.hidden, 1, bins)
        logits = self.to_bins(self.act(self.mix(signal))).reshape(b, 4, v, bins)
        xyz = self.argsoftmax(logits[:, :3]).reshape(b, 3, v).transpose(1, 2)
        vis_logit = logits[:, 3].mean(dim=-1)
        return xyz, vis_logit
