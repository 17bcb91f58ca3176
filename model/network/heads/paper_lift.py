"""The release's lift: four independent 1-D heads (X, Y, Z, visibility) on the stride-4 map.

Each head: global mean of the (B, C, h, w) map -> fully connected C -> hidden*bins + BN + ReLU
-> reshape to (hidden, bins) -> 1x1 conv hidden -> V -> per-vertex logits over `bins`. X, Y, Z
take a softmax over the bins and its expectation (here over bin centres normalised to [-1, 1] and
shifted by `centre` per axis so that the crop centre is 0, the fp16-safe form; the network maps them
to pixels), visibility takes the mean of its logits.
The release writes the two layers as Conv1d with kernel 1; a fully connected layer and a 1x1
Conv2d over a (B, hidden, 1, bins) map are the same arithmetic in ops both accelerators run.
"""

from __future__ import annotations

import torch
from torch import nn

from model.network.argsoftmax import cell_centers

HEAD_NAMES = ("x", "y", "z", "visibility")


class BinHead(nn.Module):
    """Pooled features (B, C) -> per-vertex bin logits (B, V, bins)."""

    def __init__(self, in_ch: int, num_vertices: int, hidden: int, bins: int) -> None:
        super().__init__()
        self.hidden, self.bins, self.num_vertices = hidden, bins, num_vertices
        self.expand = nn.Sequential(nn.Linear(in_ch, hidden * bins), nn.BatchNorm1d(hidden * bins),
                                    nn.ReLU(inplace=True))
        self.to_bins = nn.Conv2d(hidden, num_vertices, kernel_size=1)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        b = pooled.shape[0]
        signal = self.expand(pooled).reshape(b, self.hidden, 1, self.bins)
        return self.to_bins(signal).reshape(b, self.num_vertices, self.bins)


class PaperLiftHead(nn.Module):
    """Stride-4 features (B, C, h, w) -> (xyz, normalised and centred (B, V, 3), visibility logits (B, V))."""

    reads = "fine"  # the stride-4 map; the mobile lift reads the stride-32 one

    def __init__(self, in_ch: int, num_vertices: int, hidden: int = 256, bins: int = 64,
                 centre: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({n: BinHead(in_ch, num_vertices, hidden, bins) for n in HEAD_NAMES})
        for axis, shift in zip(("x", "y", "z"), centre):
            self.register_buffer(f"centres_{axis}", (cell_centers(bins) - shift).reshape(bins, 1), persistent=False)

    def forward(self, fine: torch.Tensor, xy: torch.Tensor | None = None,
                trust: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        # The release's lift reads pooled features only; xy and trust are taken for a common call.
        pooled = fine.mean(dim=(2, 3))
        xyz = torch.cat([torch.matmul(torch.softmax(self.heads[n](pooled), dim=-1), getattr(self, f"centres_{n}"))
                         for n in ("x", "y", "z")], dim=-1)
        vis_logit = self.heads["visibility"](pooled).mean(dim=-1)
        return xyz, vis_logit
