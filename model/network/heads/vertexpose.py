"""VertexPose head: one heatmap per template vertex at stride 4, plus an optional mask."""

from __future__ import annotations

import torch
from torch import nn

from model.network.argsoftmax import SpatialArgSoftmax
from model.network.layers import DepthwiseSeparable


class VertexPoseHead(nn.Module):
    """Stride-4 features -> per-vertex heatmap logits (B, V, h, w) and soft-argmax (B, V, 2) in [-1, 1].

    The segmentation logits (B, 2, h, w) localise the foreground for DensePose metrics and
    training losses; the deploy graph does not compute them.
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
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if self.training and self.feature_noise > 0:
            features = features * (1 + self.feature_noise * self._noise_like(features))
        x = self.refine(features)
        heatmaps = self.heatmaps(x)
        seg = self.segmentation(x) if with_segmentation and self.segmentation is not None else None
        logits = heatmaps
        if self.training and self.logit_noise > 0:
            logits = heatmaps + self.logit_noise * self._noise_like(heatmaps)
        return heatmaps, self.argsoftmax(logits), seg

    def _noise_like(self, x: torch.Tensor) -> torch.Tensor:
        """Standard normal noise shaped like `x` on x's device, drawn on the CPU generator (the same numbers
        whatever device trains, so a resumed run repeats them)."""
        gen = self.noise_generator
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=gen.device if gen is not None else "cpu")
        return noise.to(x.device)
