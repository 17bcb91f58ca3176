"""Raw model outputs of one crop -> a mesh in frame pixels, and the crop to track it with next.

Mirrored by the Swift and Kotlin logic modules (Decoder); the golden fixtures hold
Python's results for them to match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.pipeline.crop import DEFAULT_EXPAND, Crop, crop_from_box, crop_to_frame

# A vertex is visible when its visibility output is at least this: the apps, their contracts, the parity
# gates and the evaluation's phantom check all read this one value.
VISIBILITY_THRESHOLD = 0.5

# Fewer visible vertices than this fraction means tracking is lost: re-detect the person.
MIN_VISIBLE_FRACTION = 0.10


def visible_bounds(vertices_frame: np.ndarray, visible: np.ndarray) -> list[float] | None:
    """[x0, y0, x1, y1] of the visible vertices, or None when none is visible."""
    vis = np.asarray(visible, dtype=bool)
    if not vis.any():
        return None
    pts = np.asarray(vertices_frame)[vis, :2]
    return [float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())]


def next_crop(bounds, num_visible: int, num_vertices: int, in_w: int, in_h: int,
              expand: float = DEFAULT_EXPAND) -> Crop | None:
    """Crop for the next frame from this frame's visible bounds; None asks for re-detection."""
    if bounds is None or num_visible < MIN_VISIBLE_FRACTION * num_vertices:
        return None
    if bounds[2] <= bounds[0] or bounds[3] <= bounds[1]:
        return None
    return crop_from_box(bounds, in_w, in_h, expand)


@dataclass(frozen=True)
class DecodedMesh:
    """Raw model outputs mapped to frame pixels."""

    vertices: np.ndarray  # (V, 3) frame pixels, z scaled alike
    visible: np.ndarray  # (V,) bool
    joints: np.ndarray  # (J, 3)
    visible_bounds: list[float] | None
    next_crop: Crop | None


def decode_outputs(
    vertices: np.ndarray,
    visibility: np.ndarray,
    joints: np.ndarray,
    crop: Crop,
    in_w: int,
    in_h: int,
    threshold: float = VISIBILITY_THRESHOLD,
    expand: float = DEFAULT_EXPAND,
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> DecodedMesh:
    """Decode one frame's raw outputs (batch dimension already removed) into a frame-space mesh.

    `origin` is added to vertices and joints first: the contract's `origin_px`, (W/2, H/2, 0) for graphs
    that emit coordinates about the crop centre, zero for crop pixels from the top-left corner.
    """
    shift = np.asarray(origin, np.float64)
    verts_f = crop_to_frame(np.asarray(vertices, np.float64) + shift, crop)
    visible = np.asarray(visibility) >= threshold
    bounds = visible_bounds(verts_f, visible)
    return DecodedMesh(
        vertices=verts_f,
        visible=visible,
        joints=crop_to_frame(np.asarray(joints, np.float64).reshape(-1, 3) + shift, crop),
        visible_bounds=bounds,
        next_crop=next_crop(bounds, int(visible.sum()), len(visible), in_w, in_h, expand),
    )
