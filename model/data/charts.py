"""Map DensePose chart coordinates (part I, U, V) to a point on the low-poly template surface.

Each of the template's 24 parts carries a UV chart (`template.uv`, per vertex, seams split so a
face lies on one chart). A point (I, U, V) is located by finding the face of part I whose UV
triangle contains (U, V); its barycentrics in that UV triangle are the surface barycentrics.
Where no UV triangle contains the point (charts do not tile the whole unit square), the nearest
triangle is used with barycentrics clamped onto it, and the point is flagged as snapped.

Note: the template's charts are its own per-part parameterisations (see model/template), not
the SMPL charts of DensePose-COCO; mapping real DensePose UVs through them is an approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Smallest UV triangle area (in chart units) treated as non-degenerate.
_MIN_AREA = 1e-12


@dataclass(frozen=True)
class SurfacePoints:
    """Located points: face index (into template.faces), barycentrics (N, 3), snapped flags."""

    face: np.ndarray  # (N,) int64
    bary: np.ndarray  # (N, 3) float64, non-negative, sums to 1
    snapped: np.ndarray  # (N,) bool: (U, V) lay outside every UV triangle of its part


def _barycentrics_2d(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Barycentrics of points p (N, 2) in each triangle tri (F, 3, 2) -> (N, F, 3)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1 = b - a, c - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]  # (F,)
    d = p[:, None, :] - a[None]  # (N, F, 2)
    l1 = (d[..., 0] * v1[:, 1] - d[..., 1] * v1[:, 0]) / det
    l2 = (v0[:, 0] * d[..., 1] - v0[:, 1] * d[..., 0]) / det
    return np.stack([1.0 - l1 - l2, l1, l2], axis=-1)


def _closest_on_triangle_2d(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points p (N, 2) and triangles (F, 3, 2): squared distance (N, F) to each triangle and
    the barycentrics (N, F, 3) of the closest point on it."""
    bary = _barycentrics_2d(p, tri)
    inside = (bary >= 0).all(-1)
    best_d = np.where(inside, 0.0, np.inf)
    best_b = np.where(inside[..., None], bary, 0.0)
    # Outside: the closest point lies on one of the three edges.
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        a, b = tri[:, i], tri[:, j]
        ab = b - a
        t = ((p[:, None, :] - a[None]) * ab[None]).sum(-1) / np.maximum((ab * ab).sum(-1), _MIN_AREA)
        t = np.clip(t, 0.0, 1.0)
        q = a[None] + t[..., None] * ab[None]
        d = ((p[:, None, :] - q) ** 2).sum(-1)
        better = (d < best_d) & ~inside
        b_edge = np.zeros(bary.shape)
        b_edge[..., i] = 1.0 - t
        b_edge[..., j] = t
        b_edge[..., k] = 0.0
        best_d = np.where(better, d, best_d)
        best_b = np.where(better[..., None], b_edge, best_b)
    return best_d, best_b


class ChartLocator:
    """Locates (I, U, V) on the template surface through its per-part UV charts."""

    def __init__(self, template) -> None:
        faces = np.asarray(template.faces, np.int64)
        uv = np.asarray(template.uv, np.float64)
        tri = uv[faces]  # (F, 3, 2)
        area = 0.5 * np.abs((tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1])
                            - (tri[:, 1, 1] - tri[:, 0, 1]) * (tri[:, 2, 0] - tri[:, 0, 0]))
        face_parts = np.asarray(template.face_parts, np.int64)
        self._faces_of_part: dict[int, np.ndarray] = {}
        for part in range(1, 25):
            sel = np.flatnonzero((face_parts == part) & (area > _MIN_AREA))
            if len(sel):
                self._faces_of_part[part] = sel
        self._tri = tri

    @property
    def parts(self) -> list[int]:
        """Parts that have at least one non-degenerate UV triangle."""
        return sorted(self._faces_of_part)

    def locate(self, part: np.ndarray, u: np.ndarray, v: np.ndarray) -> SurfacePoints:
        """Faces and barycentrics of points (I, U, V); I in 1..24, U and V in [0, 1]."""
        part = np.asarray(part, np.int64).reshape(-1)
        uvp = np.stack([np.asarray(u, np.float64).reshape(-1), np.asarray(v, np.float64).reshape(-1)], 1)
        if len(part) != len(uvp):
            raise ValueError(f"{len(part)} part labels for {len(uvp)} (U, V) pairs")
        unknown = sorted(set(part.tolist()) - set(self._faces_of_part))
        if unknown:
            raise ValueError(f"parts {unknown} have no chart on this template (expected 1..24)")
        face = np.zeros(len(part), np.int64)
        bary = np.zeros((len(part), 3))
        snapped = np.zeros(len(part), bool)
        for p in np.unique(part):
            rows = np.flatnonzero(part == p)
            cand = self._faces_of_part[int(p)]
            d, b = _closest_on_triangle_2d(uvp[rows], self._tri[cand])
            k = d.argmin(1)
            face[rows] = cand[k]
            chosen = b[np.arange(len(rows)), k]
            chosen = np.clip(chosen, 0.0, None)
            bary[rows] = chosen / chosen.sum(1, keepdims=True)
            snapped[rows] = d[np.arange(len(rows)), k] > 0
        return SurfacePoints(face, bary, snapped)
