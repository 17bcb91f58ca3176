"""VertexPose head: one heatmap per template vertex at stride 4, plus an optional mask."""

from __future__ import annotations

import torch
from torch import nn

from model.network.argsoftmax import SpatialArgSoftmax
from model.network.heads.trust import HeatmapTrust
from model.network.layers import DepthwiseSeparable


class VertexPoseHead(nn.Module):
    """Stride-4 features -> per-vertex heatmap logits (B, V, h, w) and soft-argmax (B, V, 2) in [-1, 1].

    The segmentation logits (B, 2, h, w) localise the foreground for DensePose metrics and
    training losses; the deploy graph does not compute them. With a trust head attached
    (`attach_trust`), it also gives each vertex's heatmap trust (B, V) in [0, 1], else None.
    """

    def __init__(
        self,
        in_ch: int,
        num_vertices: int,
        heatmap_hw: tuple[int, int],
        beta: float = 10.0,
        argsoftmax_mode: str = "separable",
        refine: bool = True,
        segmentation: bool = True,
    ) -> None:
        super().__init__()
        # The release has neither the refine block nor the mask: its heatmaps are one 1x1 conv.
        self.refine = DepthwiseSeparable(in_ch, in_ch) if refine else nn.Identity()
        self.heatmaps = nn.Conv2d(in_ch, num_vertices, kernel_size=1)
        self.segmentation = nn.Conv2d(in_ch, 2, kernel_size=1) if segmentation else None
        self.argsoftmax = SpatialArgSoftmax(*heatmap_hw, beta=beta, mode=argsoftmax_mode)
        # Optional, fitted on the frozen network and attached by the checkpoint that carries it
        # (model/network/heads/trust.py, model/train/fit_trust.py).
        self.trust: HeatmapTrust | None = None
        # Training only: std of Gaussian noise added to the logits that the argsoftmax reads, an
        # attempt at heatmaps whose vertices move less under the GPU's fp16 arithmetic (measured: no
        # clear effect at 0.03; see the xs model card). Drawn from `noise_generator` for exact resumes.
        self.logit_noise = 0.0
        # Training only: relative noise on the head's input features, x * (1 + std * n): fp16 arithmetic
        # errs in proportion to each value, so a head trained under it learns heatmaps that move less.
        self.feature_noise = 0.0
        self.noise_generator: torch.Generator | None = None

    def forward(
        self, features: torch.Tensor, with_segmentation: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        if self.training and self.feature_noise > 0:
            features = features * (1 + self.feature_noise * self._noise_like(features))
        x = self.refine(features)
        heatmaps = self.heatmaps(x)
        seg = self.segmentation(x) if with_segmentation and self.segmentation is not None else None
        logits = heatmaps
        if self.training and self.logit_noise > 0:
            logits = heatmaps + self.logit_noise * self._noise_like(heatmaps)
        xy, prob = self.argsoftmax.positions_and_probabilities(logits, need_probabilities=self.trust is not None)
        # In training the trust is taught by its own loss term only: through the trust map it predicts from
        # the features, not by moving the probabilities it reads (model/train/config.py, heatmap_trust).
        trust = None if self.trust is None else self.trust(x, prob.detach() if self.training else prob)
        return heatmaps, xy, seg, trust

    def attach_trust(self, hidden: int = 128) -> HeatmapTrust:
        """Add a heatmap trust head (untrained: it trusts every heatmap) and return it."""
        self.trust = HeatmapTrust(self.heatmaps.in_channels, self.heatmaps.out_channels, hidden=hidden)
        self.trust.to(self.heatmaps.weight.device)
        return self.trust

    def _noise_like(self, x: torch.Tensor) -> torch.Tensor:
        """Standard normal noise shaped like `x` on x's device, drawn on the CPU generator (the same numbers
        whatever device trains, so a resumed run repeats them)."""
        gen = self.noise_generator
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=gen.device if gen is not None else "cpu")
        return noise.to(x.device)
