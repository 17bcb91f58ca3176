"""Latency statistics shared by every runner (and mirrored by the apps' benchmark modes)."""

from __future__ import annotations

import numpy as np


def summarize_ms(samples_ms: list[float]) -> dict[str, float | None]:
    """p50/p90/p99/mean/min/max/std of timed runs in milliseconds (None when there are none)."""
    keys = ("p50", "p90", "p99", "mean", "min", "max", "std")
    if not samples_ms:
        return dict.fromkeys(keys)
    a = np.asarray(samples_ms, dtype=np.float64)
    return {
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "mean": float(a.mean()),
        "min": float(a.min()),
        "max": float(a.max()),
        "std": float(a.std()),
    }


def fps_from_p50(p50_ms: float | None, batch: int = 1) -> float | None:
    """Frames per second at the median latency."""
    return None if not p50_ms else 1000.0 * batch / p50_ms


def sustained_trend(stamps_s: list[float], window_s: float = 5.0) -> list[list[float]]:
    """[[t, fps], ...] over consecutive windows of the completion times of a sustained run."""
    if not stamps_s:
        return []
    t0 = stamps_s[0]
    rel = np.asarray(stamps_s) - t0
    edges = np.arange(0.0, rel[-1] + window_s, window_s)
    out = []
    for lo in edges:
        n = int(((rel >= lo) & (rel < lo + window_s)).sum())
        span = min(window_s, rel[-1] - lo) if rel[-1] > lo else 0.0
        if n and span > 0:
            out.append([float(lo + span / 2), n / span])
    return out
