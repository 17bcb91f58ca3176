"""Phantom bodies: how often a network calls vertices visible on frames with no person in them.

An AR app draws every vertex the network calls visible, so a network that sees a body in sensor noise or
an empty room draws one there. The frames are those training uses as negatives (model/train/dataset.py:
a background, uniform random pixels, a covered lens), drawn from fixed seeds, so two checkpoints are
measured on the same frames.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from model.pipeline.decode import VISIBILITY_THRESHOLD
from model.train.dataset import EMPTY_FRAME_KINDS, empty_frame

EMPTY_FRAME_SEED = 20261204


def empty_frames(kind: str, count: int, height: int, width: int) -> list[np.ndarray]:
    """`count` deterministic (1, 3, H, W) float32 frames of one kind of EMPTY_FRAME_KINDS."""
    if kind not in EMPTY_FRAME_KINDS:
        raise ValueError(f"unknown empty frame {kind!r}; known: {', '.join(EMPTY_FRAME_KINDS)}")
    frames = []
    for i in range(count):
        rng = np.random.default_rng([EMPTY_FRAME_SEED, EMPTY_FRAME_KINDS.index(kind), i])
        frames.append(empty_frame(rng, height, width, kind).transpose(2, 0, 1)[None].copy())
    return frames


def phantom_report(net: Callable[[torch.Tensor], dict], height: int, width: int, count: int = 16) -> dict:
    """Per kind of empty frame: the share of frames with any vertex called visible, and the mean share of
    vertices called visible. `net` takes a (1, 3, H, W) image tensor and returns at least "visibility"."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    report = {}
    for kind in EMPTY_FRAME_KINDS:
        shares = []
        for frame in empty_frames(kind, count, height, width):
            with torch.no_grad():
                vis = np.asarray(net(torch.from_numpy(frame))["visibility"], np.float64).ravel()
            shares.append(float((vis >= VISIBILITY_THRESHOLD).mean()))
        report[kind] = {"frames": count, "frames_with_a_phantom": float(np.mean(np.array(shares) > 0)),
                        "visible_vertex_share": float(np.mean(shares))}
    return report


def phantom_markdown(report: dict) -> str:
    """One line per kind: frames with any visible vertex, and the mean share of vertices called visible."""
    return "\n".join(f"- {kind}: {100 * r['frames_with_a_phantom']:.0f}% of {r['frames']} frames with a visible "
                     f"vertex; {100 * r['visible_vertex_share']:.1f}% of vertices called visible on average"
                     for kind, r in report.items())
