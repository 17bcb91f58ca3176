"""DensePose geodesic point similarity (GPS, GPSm) and GPS-based AP/AR (docs/DESIGN.md §6).

Geodesic distances are measured on the low-poly template at rest (metres, like the SMPL mesh the
protocol's kappa values were set on): exact shortest paths along mesh edges between vertices
(Dijkstra; seam duplicates joined at zero length), and from a surface point to a vertex of its
own face by the straight line inside the face. d(p, q) = min over corners a of p's face and b of
q's face of |p - a| + D(a, b) + |b - q|, or |p - q| when both lie on the same face. Edge paths
overestimate true geodesics by a few percent on this mesh; that is the approximation made here.

AP/AR follow the COCO scheme with GPS (or GPSm) in place of IoU: thresholds 0.5:0.05:0.95,
greedy matching by descending score, at most 20 detections per image, 101-point interpolated
precision. Only the area range "all" is computed.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

# Fine part (0..24) -> coarse part (0 = background, 1..8) and kappa per coarse part.
COARSE_OF_FINE = np.array([0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8])
KAPPA = np.array([0.351, 0.107, 0.126, 0.237, 0.173, 0.142, 0.128, 0.150])
THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)
MAX_DETS = 20
# Length given to seam edges (duplicates at one position); zero would be dropped by scipy.sparse.
_SEAM_EPS = 1e-9


class SurfaceGeodesics:
    """All-pairs vertex geodesics of the template and point-to-point surface distances."""

    def __init__(self, template) -> None:
        self.vertices = np.asarray(template.vertices, np.float64)
        self.faces = np.asarray(template.faces, np.int64)
        edges = np.asarray(template.edges, np.int64)
        length = np.linalg.norm(self.vertices[edges[:, 0]] - self.vertices[edges[:, 1]], axis=1)
        seams = np.asarray(template.seam_pairs, np.int64).reshape(-1, 2)
        rows = np.concatenate([edges[:, 0], seams[:, 0]])
        cols = np.concatenate([edges[:, 1], seams[:, 1]])
        w = np.concatenate([np.maximum(length, _SEAM_EPS), np.full(len(seams), _SEAM_EPS)])
        n = len(self.vertices)
        graph = coo_matrix((w, (rows, cols)), shape=(n, n)).tocsr()
        self.vertex_distance = dijkstra(graph, directed=False)

    def points(self, face: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """3D rest positions of surface points (N,) faces with (N, 3) barycentrics."""
        return (np.asarray(bary)[:, :, None] * self.vertices[self.faces[np.asarray(face)]]).sum(1)

    def distance(self, face_a: np.ndarray, bary_a: np.ndarray, face_b: np.ndarray, bary_b: np.ndarray) -> np.ndarray:
        """Geodesic distance (N,) between surface points a and b (metres at rest)."""
        face_a, face_b = np.asarray(face_a, np.int64), np.asarray(face_b, np.int64)
        if face_a.shape != face_b.shape:
            raise ValueError(f"{face_a.shape} vs {face_b.shape} points")
        pa, pb = self.points(face_a, bary_a), self.points(face_b, bary_b)
        ia, ib = self.faces[face_a], self.faces[face_b]  # (N, 3)
        la = np.linalg.norm(pa[:, None] - self.vertices[ia], axis=-1)  # (N, 3)
        lb = np.linalg.norm(pb[:, None] - self.vertices[ib], axis=-1)
        via = la[:, :, None] + self.vertex_distance[ia[:, :, None], ib[:, None, :]] + lb[:, None, :]
        d = via.reshape(len(face_a), -1).min(1)
        same = face_a == face_b
        d[same] = np.linalg.norm(pa[same] - pb[same], axis=1)
        return d


def gps(distance: np.ndarray, gt_part: np.ndarray, predicted: np.ndarray) -> float:
    """GPS of one instance: mean of exp(-d^2 / (2 kappa^2)) over its ground-truth points, with
    kappa from the point's coarse part; points predicted as background (predicted False) count 0."""
    gt_part = np.asarray(gt_part, np.int64)
    if len(gt_part) == 0:
        raise ValueError("GPS of an instance without points")
    if (gt_part < 1).any() or (gt_part > 24).any():
        raise ValueError("ground-truth parts must be in 1..24")
    kappa = KAPPA[COARSE_OF_FINE[gt_part] - 1]
    d = np.where(predicted, np.asarray(distance, np.float64), np.inf)
    return float(np.exp(-(d**2) / (2 * kappa**2)).mean())


def gpsm(gps_value: float, mask_iou: float) -> float:
    """GPSm = sqrt(GPS * mask IoU)."""
    return float(np.sqrt(gps_value * mask_iou))


def _match(sim: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy COCO matching: sim (D, G) with detections sorted by score; True per matched detection."""
    taken = np.zeros(sim.shape[1], bool)
    tp = np.zeros(sim.shape[0], bool)
    for d in range(sim.shape[0]):
        cand = np.where(taken, -np.inf, sim[d])
        if cand.size and cand.max() >= threshold:
            g = int(cand.argmax())
            taken[g] = tp[d] = True
    return tp


def average_precision(images: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """AP, AP50, AP75 and AR over images given as (scores (D,), similarity (D, G)) pairs."""
    num_gt = sum(sim.shape[1] for _, sim in images)
    if num_gt == 0:
        raise ValueError("no ground-truth instances")
    recall_points = np.linspace(0.0, 1.0, 101)
    aps, ars = [], []
    for t in THRESHOLDS:
        scores, tps = [], []
        for s, sim in images:
            order = np.argsort(-np.asarray(s), kind="mergesort")[:MAX_DETS]
            scores.append(np.asarray(s)[order])
            tps.append(_match(np.asarray(sim)[order], t))
        s_all, tp_all = np.concatenate(scores), np.concatenate(tps)
        order = np.argsort(-s_all, kind="mergesort")
        tp_cum = np.cumsum(tp_all[order])
        fp_cum = np.cumsum(~tp_all[order])
        recall = tp_cum / num_gt
        precision = tp_cum / np.maximum(tp_cum + fp_cum, 1)
        envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
        idx = np.searchsorted(recall, recall_points, side="left")
        sampled = np.where(idx < len(envelope), envelope[np.minimum(idx, len(envelope) - 1)], 0.0)
        aps.append(sampled.mean())
        ars.append(recall[-1] if len(recall) else 0.0)
    return {"AP": float(np.mean(aps)), "AP50": float(aps[0]), "AP75": float(aps[5]), "AR": float(np.mean(ars))}
