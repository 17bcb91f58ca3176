"""MeshPose lift head: coarse features -> per-vertex X, Y, Z as 1-D argsoftmax over bins + visibility.

The coarse features are summarised into one vector, a linear layer turns it into a (D, bins)
1-D signal, then 1x1 convolutions (1-D convolutions written as 4-D (B, C, 1, bins) tensors,
the layout the ANE prefers) give 4·V channels: three sets of bin logits (X, Y, Z) and a
visibility set whose mean over bins is the visibility logit.

Summaries (the paper pools globally):
  global mean                       - `spatial_channels=0, expand=0`;
  1x1 expansion, then global mean   - `expand=C` (MobileNet's last layer before its classifier);
  spatial                           - `spatial_channels=C`: a 1x1 squeeze to C channels, flattened
                                      with its layout kept (where the limbs are), then a linear
                                      embedding of `embed` features.
With `use_heatmap_xy`, the spatial summary also takes the VertexPose branch's 2D vertices (their
gradient stopped): the lift then completes and lifts a mesh it partly sees, instead of regressing
every vertex from pooled features alone, so where a vertex is visible its regressed x, y can agree
with the heatmap and Eq. 5's blend stops costing accuracy.

How it reads them (`heatmap_xy_reading`, recorded in the checkpoint): "plain", or "trust", each vertex's
position scaled by its heatmap trust (model/network/heads/trust.py), so a map Eq. 5 distrusts reaches the
lift as the crop centre. On an fp16 accelerator those maps' positions move by pixels, and read plainly
they carried that error into every regressed vertex (docs/DESIGN.md §8).
"""

from __future__ import annotations

import torch
from torch import nn

from model.network.argsoftmax import ArgSoftmax1D
from model.network.layers import ConvBNAct

# How the spatial summary reads the heatmap vertices: as they are, or scaled by each one's heatmap trust.
HEATMAP_XY_READINGS = ("plain", "trust")


class LiftHead(nn.Module):
    """Coarse features (B, C, h, w) -> (xyz in [-1, 1] (B, V, 3), visibility logits (B, V))."""

    heatmap_xy_readings = HEATMAP_XY_READINGS

    def __init__(self, in_ch: int, num_vertices: int, bins: int = 64, hidden: int = 64, *,
                 expand: int = 0, spatial_channels: int = 0, coarse_hw: tuple[int, int] | None = None,
                 embed: int = 256, use_heatmap_xy: bool = False) -> None:
        super().__init__()
        if expand and spatial_channels:
            raise ValueError("choose one summary: expand or spatial_channels")
        if spatial_channels and coarse_hw is None:
            raise ValueError("a spatial summary needs the coarse feature size coarse_hw")
        if use_heatmap_xy and not spatial_channels:
            raise ValueError("use_heatmap_xy needs the spatial summary (spatial_channels > 0)")
        self.use_heatmap_xy = use_heatmap_xy
        self.heatmap_xy_reading = "plain"  # set from the checkpoint (model/checkpoint.py)
        self.num_vertices, self.bins, self.hidden = num_vertices, bins, hidden
        self.act = nn.ReLU6(inplace=True)
        self.spatial = bool(spatial_channels)
        if spatial_channels:
            self.squeeze = ConvBNAct(in_ch, spatial_channels, kernel=1)
            flat = spatial_channels * coarse_hw[0] * coarse_hw[1] + (2 * num_vertices if use_heatmap_xy else 0)
            self.embed = nn.Linear(flat, embed)
            summary = embed
        elif expand:
            self.expand = ConvBNAct(in_ch, expand, kernel=1)
            summary = expand
        else:
            summary = in_ch
        self.to_signal = nn.Linear(summary, hidden * bins)
        self.mix = nn.Conv2d(hidden, hidden, kernel_size=1)
        self.to_bins = nn.Conv2d(hidden, 4 * num_vertices, kernel_size=1)
        self.argsoftmax = ArgSoftmax1D(bins)

    def summarize(self, coarse: torch.Tensor, xy: torch.Tensor | None = None,
                  trust: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, h, w) [and heatmap vertices (B, V, 2) in [-1, 1], their trust (B, V)] -> (B, summary features)."""
        if self.spatial:
            flat = self.squeeze(coarse).flatten(1)
            if self.use_heatmap_xy:
                if xy is None:
                    raise ValueError("this lift head takes the heatmap vertices as input")
                if self.heatmap_xy_reading == "trust":
                    if trust is None:
                        raise ValueError("this lift head reads the heatmap vertices scaled by their trust: "
                                         "the network needs a heatmap trust head")
                    xy = xy * trust.unsqueeze(-1)
                # Stop the gradient (into the heatmaps and the trust) while training; the deployed (eval)
                # graph needs no detach op.
                flat = torch.cat([flat, (xy.detach() if self.training else xy).flatten(1)], dim=1)
            return self.act(self.embed(flat))
        if hasattr(self, "expand"):
            coarse = self.expand(coarse)
        return coarse.mean(dim=(2, 3))

    def forward(self, coarse: torch.Tensor, xy: torch.Tensor | None = None,
                trust: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        b = coarse.shape[0]
        v, bins = self.num_vertices, self.bins
        signal = self.act(self.to_signal(self.summarize(coarse, xy, trust))).reshape(b, self.hidden, 1, bins)
        logits = self.to_bins(self.act(self.mix(signal))).reshape(b, 4, v, bins)
        xyz = self.argsoftmax(logits[:, :3]).reshape(b, 3, v).transpose(1, 2)
        vis_logit = logits[:, 3].mean(dim=-1)
        return xyz, vis_logit
