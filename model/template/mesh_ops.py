"""Small triangle-mesh utilities in numpy: closest points, normals, edges, manifold checks."""

from __future__ import annotations

import numpy as np


def _closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Barycentric coordinates (P, F, 3) of the closest point of each triangle to each point.

    Vectorised version of the region test in Ericson, Real-Time Collision Detection, 5.1.5.
    p: (P, 1, 3); a, b, c: (1, F, 3).
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = p - b
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = p - c
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    denom = va + vb + vc
    with np.errstate(divide="ignore", invalid="ignore"):
        v = vb / denom
        w = vc / denom
    bary = np.stack([1 - v - w, v, w], axis=-1)
    eps = 1e-30

    def setw(mask, u0, u1, u2):
        bary[mask] = np.stack([u0[mask], u1[mask], u2[mask]], axis=-1)

    zero = np.zeros_like(d1)
    one = np.ones_like(d1)
    # Edge regions first, vertex regions last (vertex regions take precedence).
    m_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    t = (d4 - d3) / np.maximum((d4 - d3) + (d5 - d6), eps)
    setw(m_bc, zero, 1 - t, t)
    m_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    t = d2 / np.maximum(d2 - d6, eps)
    setw(m_ac, 1 - t, zero, t)
    m_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    t = d1 / np.maximum(d1 - d3, eps)
    setw(m_ab, 1 - t, t, zero)
    setw((d6 >= 0) & (d5 <= d6), zero, zero, one)
    setw((d3 >= 0) & (d4 <= d3), zero, one, zero)
    setw((d1 <= 0) & (d2 <= 0), one, zero, zero)
    return bary


def closest_points(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk_pairs: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point, the closest surface point: (face index (N,), barycentrics (N, 3), distance (N,))."""
    pts = np.asarray(points, np.float64)
    tri = np.asarray(vertices, np.float64)[np.asarray(faces)]
    a, b, c = tri[None, :, 0], tri[None, :, 1], tri[None, :, 2]
    n = len(pts)
    step = max(1, chunk_pairs // len(faces))
    face_idx = np.empty(n, np.int64)
    bary = np.empty((n, 3))
    dist = np.empty(n)
    for s in range(0, n, step):
        p = pts[s : s + step, None, :]
        w = _closest_on_triangles(p, a, b, c)
        q = w[..., 0:1] * a + w[..., 1:2] * b + w[..., 2:3] * c
        d = np.linalg.norm(q - p, axis=-1)
        best = d.argmin(axis=1)
        rows = np.arange(len(best))
        face_idx[s : s + step] = best
        bary[s : s + step] = w[rows, best]
        dist[s : s + step] = d[rows, best]
    return face_idx, np.clip(bary, 0.0, 1.0), dist


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unnormalised face normals (twice the area) (F, 3)."""
    tri = np.asarray(vertices, np.float64)[faces]
    return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3)."""
    n = np.zeros((len(vertices), 3))
    fn = face_normals(vertices, faces)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """Unique undirected edges (E, 2), each as (min, max), sorted."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0).astype(np.int32)


def manifold_report(faces: np.ndarray) -> dict[str, int]:
    """Counts of topological defects: edges in > 2 faces, edges used twice in the same direction,
    degenerate faces (repeated vertex), duplicate faces (same vertex set)."""
    f = np.asarray(faces)
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    _, dir_counts = np.unique(directed, axis=0, return_counts=True)
    und = np.sort(directed, axis=1)
    _, und_counts = np.unique(und, axis=0, return_counts=True)
    degenerate = int(((f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])).sum())
    _, face_counts = np.unique(np.sort(f, axis=1), axis=0, return_counts=True)
    return {
        "nonmanifold_edges": int((und_counts > 2).sum()),
        "misoriented_edges": int((dir_counts > 1).sum()),
        "degenerate_faces": degenerate,
        "duplicate_faces": int((face_counts > 1).sum()),
        "boundary_edges": int((und_counts == 1).sum()),
    }
