"""Heatmap trust: how far Eq. 5 may trust each vertex's heatmap, read through the heatmap itself.

A heatmap with two modes of nearly equal mass (a limb that could be in two places, or one point of
the body split over two charts) has an expectation that an fp16 accelerator moves by pixels: a few
per cent of the mass moving between modes 40 px apart is a pixel. Eq. 5 then passes that on wherever
the vertex is visible. Trusting such maps less fixes it only if the trust itself does not move: a
gate computed from the fp16 map's spread moves with the mass and multiplies the heatmap-to-regression
distance (docs/DESIGN.md §8). Here the trust is the expectation, under the vertex's own probabilities,
of a coarse map predicted from the head's features, t(x, y) in [0, 1]. A map the trust head marks as
ambiguous everywhere it puts mass gets a low trust whichever mode the mass sits in, and a sharp map
reads t at its peak; the trust is linear in the probabilities, so it moves only by the mass that moves
times the difference of t between where the mass was and where it went.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class HeatmapTrust(nn.Module):
    """(features (B, C, h, w), probabilities (B, V, h, w)) -> trust (B, V) in [0, 1].

    The trust map is predicted and read at `pool` times the heatmap stride (16 px for xs): ambiguity
    is a property of a region, and the pooled map costs a sixteenth of the heatmap convolution.
    """

    def __init__(self, in_ch: int, num_vertices: int, pool: int = 4, hidden: int = 128) -> None:
        super().__init__()
        self.pool = pool
        # A 3x3 conv sees the neighbouring cells: whether a second place for the vertex is nearby.
        self.context = nn.Conv2d(in_ch, hidden, kernel_size=3, padding=1)
        self.logits = nn.Conv2d(hidden, num_vertices, kernel_size=1)
        # Start by trusting every heatmap (sigmoid(4) = 0.98): Eq. 5 as it was until trained.
        nn.init.zeros_(self.logits.weight)
        nn.init.constant_(self.logits.bias, 4.0)

    def pool_features(self, features: torch.Tensor) -> torch.Tensor:
        """The head's features averaged over pool x pool cells: what the trust map is predicted from."""
        return F.avg_pool2d(features, self.pool)

    def pool_probabilities(self, probabilities: torch.Tensor) -> torch.Tensor:
        """The probabilities averaged over the trust map's cells (their sums, divided by pool squared)."""
        return F.avg_pool2d(probabilities, self.pool)

    def trust_map(self, pooled_features: torch.Tensor) -> torch.Tensor:
        """The coarse trust map t (B, V, h / pool, w / pool) in [0, 1], from pool_features()."""
        return torch.sigmoid(self.logits(torch.relu(self.context(pooled_features))))

    def read(self, pooled_probabilities: torch.Tensor, trust_map: torch.Tensor) -> torch.Tensor:
        """The trust (B, V): the expectation of t under the probabilities averaged over the same cells."""
        return (pooled_probabilities * trust_map).sum(dim=(2, 3)) * float(self.pool * self.pool)

    def forward(self, features: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
        # Sum-pooled probabilities, written as an average pool and one scale on the (B, V) result (in read).
        return self.read(self.pool_probabilities(probabilities), self.trust_map(self.pool_features(features)))


def heatmap_variance(probabilities: torch.Tensor) -> torch.Tensor:
    """Variance (B, V) of each map's position in square heatmap cells, taken about the map's mean (the
    form E[c^2] - E[c]^2 cancels in fp16): the spread the trust is fitted to distrust."""
    _, _, h, w = probabilities.shape
    cols = torch.arange(w, dtype=probabilities.dtype, device=probabilities.device)
    rows = torch.arange(h, dtype=probabilities.dtype, device=probabilities.device)
    px, py = probabilities.sum(dim=2), probabilities.sum(dim=3)  # (B, V, w), (B, V, h)
    mx = (px * cols).sum(dim=-1, keepdim=True)
    my = (py * rows).sum(dim=-1, keepdim=True)
    return (px * (cols - mx) ** 2).sum(dim=-1) + (py * (rows - my) ** 2).sum(dim=-1)
