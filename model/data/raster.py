"""A z-buffer triangle rasteriser in numpy: per-pixel face index, barycentrics and depth.

Vectorised for small triangles (a body mesh at crop resolution: most faces cover a few
pixels): every triangle tests the pixel centres of its bounding box in one batch; the
nearest fragment per pixel wins. Pixel (i, j) has its centre at (j + 0.5, i + 0.5) in the
image frame of docs/CONTRACTS.md §1. Barycentrics are screen-space (affine), which is what
a weak-perspective camera produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Raster:
    """Rasterisation of one mesh: face_id -1 where no face covers the pixel."""

    face_id: np.ndarray  # (H, W) int64
    bary: np.ndarray  # (H, W, 3) float64, sums to 1 where covered
    depth: np.ndarray  # (H, W) float64, +inf where not covered

    @property
    def mask(self) -> np.ndarray:
        """Covered pixels."""
        return self.face_id >= 0


def rasterize(verts2d: np.ndarray, depth: np.ndarray, faces: np.ndarray, height: int, width: int,
              max_block: int = 4096, cull_backfaces: bool = False) -> Raster:
    """Rasterise triangles given screen positions (V, 2) in pixels and per-vertex depth (V,) (smaller = nearer).

    Both windings are drawn unless cull_backfaces (then only counter-clockwise triangles on screen,
    y down, i.e. front faces of an outward mesh seen by a camera looking along +z).
    """
    v = np.asarray(verts2d, np.float64)
    z = np.asarray(depth, np.float64)
    f = np.asarray(faces, np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    keep = np.abs(area) > 1e-12
    if cull_backfaces:
        keep &= area < 0  # y points down: counter-clockwise on screen has negative signed area
    lo = np.floor(np.minimum(np.minimum(a, b), c) - 0.5).astype(np.int64) + 1
    hi = np.floor(np.maximum(np.maximum(a, b), c) - 0.5).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [width - 1, height - 1])
    keep &= (hi[:, 0] >= lo[:, 0]) & (hi[:, 1] >= lo[:, 1])
    ids = np.flatnonzero(keep)
    best_depth = np.full(height * width, np.inf)
    best_face = np.full(height * width, -1, np.int64)
    best_bary = np.zeros((height * width, 3))
    if len(ids):
        spans = (hi[ids] - lo[ids] + 1)
        sizes = spans[:, 0] * spans[:, 1]
        # Bucket triangles by bbox size so each batch uses one dense (n, h, w) grid.
        for k in np.unique(np.ceil(np.log2(np.maximum(spans.max(axis=1), 1))).astype(int)):
            side = 2 ** k
            sel = ids[np.ceil(np.log2(np.maximum(spans.max(axis=1), 1))).astype(int) == k]
            step = max(1, max_block // (side * side))
            for s in range(0, len(sel), step):
                _fragments(sel[s : s + step], side, lo, a, b, c, area, z, f, width, height,
                           best_depth, best_face, best_bary)
        del sizes
    return Raster(best_face.reshape(height, width), best_bary.reshape(height, width, 3),
                  best_depth.reshape(height, width))


def _fragments(tri, side, lo, a, b, c, area, z, f, width, height, best_depth, best_face, best_bary):
    """Test a (side x side) pixel grid over each triangle's bbox and keep the nearest fragments."""
    oy, ox = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    px = lo[tri, 0][:, None, None] + ox[None]  # (n, side, side)
    py = lo[tri, 1][:, None, None] + oy[None]
    cx, cy = px + 0.5, py + 0.5
    A, B, C = a[tri][:, None, None], b[tri][:, None, None], c[tri][:, None, None]
    w0 = (B[..., 0] - cx) * (C[..., 1] - cy) - (B[..., 1] - cy) * (C[..., 0] - cx)
    w1 = (C[..., 0] - cx) * (A[..., 1] - cy) - (C[..., 1] - cy) * (A[..., 0] - cx)
    w2 = (A[..., 0] - cx) * (B[..., 1] - cy) - (A[..., 1] - cy) * (B[..., 0] - cx)
    ar = area[tri][:, None, None]
    l0, l1, l2 = w0 / ar, w1 / ar, w2 / ar
    inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0) & (px < width) & (py < height)
    if not inside.any():
        return
    n_idx, yy, xx = np.nonzero(inside)
    t = tri[n_idx]
    lam = np.stack([l0[n_idx, yy, xx], l1[n_idx, yy, xx], l2[n_idx, yy, xx]], axis=1)
    d = (lam * z[f[t]]).sum(axis=1)
    pix = py[n_idx, yy, xx] * width + px[n_idx, yy, xx]
    # Nearest fragment per pixel in this batch, then compare with the buffer.
    order = np.lexsort((d, pix))
    pix, d, t, lam = pix[order], d[order], t[order], lam[order]
    first = np.r_[True, pix[1:] != pix[:-1]]
    pix, d, t, lam = pix[first], d[first], t[first], lam[first]
    win = d < best_depth[pix]
    best_depth[pix[win]] = d[win]
    best_face[pix[win]] = t[win]
    best_bary[pix[win]] = lam[win]
