"""Fused argsoftmax layers (Eq. 1 of the paper), written for fp16 accelerators.

Every expectation is taken over coordinates normalised to [-1, 1] around the map
centre, never over raw pixel indices: in fp16 a dot product with pixel-valued
coordinates accumulates rounding of up to 0.125 px per term (docs/DESIGN.md §8). The
spatial softmax is a reshape of H·W into the last axis, the only axis the LiteRT
GPU delegate takes a softmax over; the expectations are matmuls with constants, each
divided by the mass it was taken over (`normalised_expectation`).
"""

from __future__ import annotations

import torch
from torch import nn

ARGSOFTMAX_MODES = ("separable", "matmul")


def cell_centers(n: int, extent: float = 1.0) -> torch.Tensor:
    """Centres of `n` equal cells tiling [-extent, extent], as a float32 vector."""
    idx = torch.arange(n, dtype=torch.float64)
    return (((idx + 0.5) / n) * 2.0 - 1.0).mul(extent).to(torch.float32)


def normalised_expectation(mass: torch.Tensor, centers: torch.Tensor, ones: torch.Tensor) -> torch.Tensor:
    """(Σ m c) / (Σ m) over the last axis of `mass`, by two matmuls with the (n, 1) `centers` and `ones`.

    Equal to Σ m c when `mass` comes from a softmax (Σ m = 1). An fp16 accelerator's softmax misses that
    sum by a few rounding steps, which scales every coordinate by the same factor, and the ratio cancels
    it: on the LiteRT GPU this took the shipped `xs`'s golden-set median error from 0.051 to 0.043 px
    (0.044 to 0.026 with fp32 accumulation; docs/DESIGN.md §8, "The softmax's sum").
    """
    return torch.matmul(mass, centers) / torch.matmul(mass, ones)


class _TrainingArgSoftmax(torch.autograd.Function):
    """Separable argsoftmax with its gradient in closed form, for training only.

    d x / d s_i = beta p_i (c_i - x): one pass over the (B, V, h, w) probabilities instead of
    autograd's softmax backward plus the gradients of both marginals (the heatmap tensor is the
    largest in the network; this is most of a training step's time on a CPU).
    """

    @staticmethod
    def forward(ctx, heatmaps: torch.Tensor, beta: float, cols: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        b, v, h, w = heatmaps.shape
        prob = torch.softmax(heatmaps.reshape(b, v, h * w) * beta, dim=-1).reshape(b, v, h, w)
        x = torch.matmul(prob.sum(dim=2), cols)  # (B, V, 1)
        y = torch.matmul(prob.sum(dim=3), rows)
        ctx.save_for_backward(prob, x, y, cols, rows)
        ctx.beta = beta
        return torch.cat([x, y], dim=-1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        prob, x, y, cols, rows = ctx.saved_tensors
        tx = ctx.beta * grad[..., :1] * (cols.reshape(1, 1, -1) - x)  # (B, V, w)
        ty = ctx.beta * grad[..., 1:] * (rows.reshape(1, 1, -1) - y)  # (B, V, h)
        return prob * (tx.unsqueeze(2) + ty.unsqueeze(3)), None, None, None


class SpatialArgSoftmax(nn.Module):
    """Heatmaps (B, V, h, w) -> soft-argmax positions (B, V, 2) as normalised (x, y) in [-1, 1].

    mode="separable": softmax over h·w, then the row and column marginals and two 1-D
    expectations (accurate in fp16). mode="matmul": one matmul with an (h·w, 2) grid.
    """

    def __init__(self, height: int, width: int, beta: float = 10.0, mode: str = "separable") -> None:
        super().__init__()
        if mode not in ARGSOFTMAX_MODES:
            raise ValueError(f"unknown argsoftmax mode {mode!r}; choose one of {ARGSOFTMAX_MODES}")
        self.height, self.width, self.beta, self.mode = height, width, float(beta), mode
        cx, cy = cell_centers(width), cell_centers(height)
        self.register_buffer("col_centers", cx.reshape(width, 1), persistent=False)
        self.register_buffer("row_centers", cy.reshape(height, 1), persistent=False)
        self.register_buffer("col_ones", torch.ones(width, 1), persistent=False)
        self.register_buffer("row_ones", torch.ones(height, 1), persistent=False)
        gy, gx = torch.meshgrid(cy, cx, indexing="ij")
        self.register_buffer("grid", torch.stack([gx, gy], dim=-1).reshape(height * width, 2), persistent=False)
        self.register_buffer("grid_ones", torch.ones(height * width, 1), persistent=False)

    def probabilities(self, heatmaps: torch.Tensor) -> torch.Tensor:
        """Spatial softmax of beta * heatmaps, flattened to (B, V, h·w)."""
        b, v, h, w = heatmaps.shape
        return torch.softmax(heatmaps.reshape(b, v, h * w) * self.beta, dim=-1)

    def forward(self, heatmaps: torch.Tensor) -> torch.Tensor:
        return self.positions_and_probabilities(heatmaps, need_probabilities=False)[0]

    def positions_and_probabilities(self, heatmaps: torch.Tensor, need_probabilities: bool = True
                                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Positions (B, V, 2) and, if asked, the softmax probabilities (B, V, h, w) they are the expectation
        of: one softmax serves both (the heatmap trust reads the probabilities)."""
        b, v, h, w = heatmaps.shape
        if (h, w) != (self.height, self.width):
            raise ValueError(f"heatmaps are {h}x{w}, layer was built for {self.height}x{self.width}")
        if self.training and self.mode == "separable" and heatmaps.requires_grad and torch.is_grad_enabled():
            xy = _TrainingArgSoftmax.apply(heatmaps, self.beta, self.col_centers, self.row_centers)
            # The closed-form backward keeps its own copy; a second softmax gives the trust its gradient.
            prob = self.probabilities(heatmaps).reshape(b, v, h, w) if need_probabilities else None
            return xy, prob
        prob = self.probabilities(heatmaps)
        if self.mode == "matmul":
            xy = normalised_expectation(prob, self.grid, self.grid_ones)
            return xy, prob.reshape(b, v, h, w) if need_probabilities else None
        prob = prob.reshape(b, v, h, w)
        x = normalised_expectation(prob.sum(dim=2), self.col_centers, self.col_ones)  # (B, V, 1)
        y = normalised_expectation(prob.sum(dim=3), self.row_centers, self.row_ones)  # (B, V, 1)
        return torch.cat([x, y], dim=-1), prob if need_probabilities else None


class ArgSoftmax1D(nn.Module):
    """Logits (..., bins) -> expectation of normalised bin centres in [-1, 1], shape (..., 1).

    Not divided by its mass like the spatial one: on the shipped `xs`'s depth bins that division made the
    GPU's fp16 error larger, not smaller (docs/DESIGN.md §8, "The softmax's sum").
    """

    def __init__(self, bins: int) -> None:
        super().__init__()
        self.register_buffer("centers", cell_centers(bins).reshape(bins, 1), persistent=False)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.matmul(torch.softmax(logits, dim=-1), self.centers)


def naive_argsoftmax(heatmaps: torch.Tensor, beta: float) -> torch.Tensor:
    """Reference Eq. 1: explicit softmax then expectation of the normalised grid (float64 inside)."""
    b, v, h, w = heatmaps.shape
    logits = heatmaps.double().reshape(b, v, h * w) * beta
    prob = torch.softmax(logits, dim=-1).reshape(b, v, h, w)
    cx, cy = cell_centers(w).double(), cell_centers(h).double()
    x = (prob * cx.view(1, 1, 1, w)).sum(dim=(2, 3))
    y = (prob * cy.view(1, 1, h, 1)).sum(dim=(2, 3))
    return torch.stack([x, y], dim=-1)
