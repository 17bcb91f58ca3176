"""One Euro filter (Casiez et al., CHI 2012), the smoothing every runtime applies to a person's mesh.

A low-pass filter whose cutoff rises with speed: a still mesh stops jittering, a moving one does not
lag. `min_cutoff` (Hz) sets the smoothing at rest, `beta` how fast the cutoff follows speed, and
`d_cutoff` the cutoff of the speed estimate. Mirrored by OneEuroFilter in Swift and Kotlin.
"""

from __future__ import annotations

import math

import numpy as np


class OneEuroFilter:
    """Filters a fixed-length vector sampled at increasing times."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.01, d_cutoff: float = 1.0) -> None:
        if not (min_cutoff > 0 and d_cutoff > 0 and beta >= 0):
            raise ValueError(f"One Euro parameters must be min_cutoff > 0, d_cutoff > 0, beta >= 0 "
                             f"(got {min_cutoff}, {d_cutoff}, {beta})")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def filter(self, x: np.ndarray, t_seconds: float) -> np.ndarray:
        """The smoothed sample. A new length, or time not moving forward, starts a new history."""
        x = np.asarray(x, np.float64)
        if self.prev is None or self.prev.shape != x.shape or t_seconds <= self.prev_t:
            self.prev, self.prev_deriv, self.prev_t = x.copy(), np.zeros_like(x), t_seconds
            return x.copy()
        dt = t_seconds - self.prev_t
        a_d = self._alpha(self.d_cutoff, dt)
        deriv = a_d * (x - self.prev) / dt + (1 - a_d) * self.prev_deriv
        cutoff = self.min_cutoff + self.beta * np.abs(deriv)
        tau = 1.0 / (2 * math.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        out = a * x + (1 - a) * self.prev
        self.prev, self.prev_deriv, self.prev_t = out, deriv, t_seconds
        return out.copy()

    def reset(self) -> None:
        """Forget the history (a re-detected person jumps: do not smooth across it)."""
        self.prev: np.ndarray | None = None
        self.prev_deriv: np.ndarray | None = None
        self.prev_t = 0.0
