"""Crop geometry between camera frames and the model input (docs/DESIGN.md §5).

A crop maps model-input pixels to frame pixels by a uniform scale and an offset:
frame = (x0, y0) + scale * crop. The Swift and Kotlin logic modules mirror these
functions; the golden fixtures hold Python's results for them to match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_EXPAND = 1.25


@dataclass(frozen=True)
class Crop:
    """frame_x = x0 + scale * crop_x, frame_y = y0 + scale * crop_y."""

    x0: float
    y0: float
    scale: float

    def to_dict(self) -> dict[str, float]:
        """Plain-JSON form."""
        return asdict(self)


def crop_from_box(box, in_w: int, in_h: int, expand: float = DEFAULT_EXPAND) -> Crop:
    """Crop of the model aspect around a person box [x0, y0, x1, y1], enlarged by `expand`."""
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = x1 - x0, y1 - y0
    if not (w > 0 and h > 0):
        raise ValueError(f"person box {box} has no area")
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    if w / h > in_w / in_h:
        h = w * in_h / in_w
    else:
        w = h * in_w / in_h
    scale = expand * w / in_w
    return Crop(cx - scale * in_w / 2.0, cy - scale * in_h / 2.0, scale)


def crop_to_frame(points: np.ndarray, crop: Crop) -> np.ndarray:
    """Map (..., 2 or 3) crop-pixel points (z in the same units) to frame pixels."""
    pts = np.asarray(points, dtype=np.float64)
    out = pts * crop.scale
    out[..., 0] += crop.x0
    out[..., 1] += crop.y0
    return out


def frame_to_crop(points: np.ndarray, crop: Crop) -> np.ndarray:
    """Inverse of crop_to_frame."""
    pts = np.array(points, dtype=np.float64)
    pts[..., 0] -= crop.x0
    pts[..., 1] -= crop.y0
    return pts / crop.scale


def sample_crop(frame: np.ndarray, crop: Crop, in_w: int, in_h: int, pad=0.0) -> np.ndarray:
    """Model input (in_h, in_w, C) float32 bilinearly sampled from an (H, W, C) frame; outside is `pad`
    (a value or one per channel: the variant's crop convention, e.g. (127.5, 0, 0) for `paper`).

    Pixel (u, v) of the input samples the frame at (x0 + scale (u + 0.5), y0 + scale (v + 0.5)),
    in the convention where frame pixel centres sit at integer + 0.5.
    """
    img = np.asarray(frame, dtype=np.float32)
    fh, fw = img.shape[:2]
    xs = crop.x0 + crop.scale * (np.arange(in_w) + 0.5) - 0.5  # to centre-at-integer indices
    ys = crop.y0 + crop.scale * (np.arange(in_h) + 0.5) - 0.5
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    ax = (xs - x0).astype(np.float32)
    ay = (ys - y0).astype(np.float32)
    padded = np.empty((fh + 2, fw + 2) + img.shape[2:], dtype=np.float32)
    padded[...] = np.asarray(pad, np.float32)
    padded[1:-1, 1:-1] = img
    xi0 = np.clip(x0 + 1, 0, fw + 1)
    xi1 = np.clip(x0 + 2, 0, fw + 1)
    yi0 = np.clip(y0 + 1, 0, fh + 1)
    yi1 = np.clip(y0 + 2, 0, fh + 1)
    wx = ax[None, :, None] if img.ndim == 3 else ax[None, :]
    wy = ay[:, None, None] if img.ndim == 3 else ay[:, None]
    top = padded[yi0][:, xi0] * (1 - wx) + padded[yi0][:, xi1] * wx
    bottom = padded[yi1][:, xi0] * (1 - wx) + padded[yi1][:, xi1] * wx
    return top * (1 - wy) + bottom * wy
