"""Metric functions (numpy). Units: pixels of the crop for 2D, millimetres for 3D."""

from __future__ import annotations

import numpy as np

from model.template.parts import SEGMENTS

PELVIS = (11, 12)  # COCO left/right hip: the root for root-aligned 3D errors


def visible_vertex_error_px(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """2D error of each ground-truth-visible vertex, pixels."""
    return np.linalg.norm(pred[visible, :2] - gt[visible, :2], axis=-1)


def body_region_of_parts() -> dict[str, tuple[int, ...]]:
    """Fine DensePose parts of each body region, left and right together (hand, lower arm, ...)."""
    regions: dict[str, tuple[int, ...]] = {}
    for name, parts in SEGMENTS.items():
        region = name.removesuffix("_left").removesuffix("_right")
        regions[region] = regions.get(region, ()) + parts
    return regions


def error_by_region(errors: list[np.ndarray], parts: list[np.ndarray]) -> dict[str, float]:
    """Median 2D error per body region over all samples (errors[i] of vertices with fine parts parts[i])."""
    err, part = np.concatenate(errors), np.concatenate(parts)
    return {region: float(np.median(err[np.isin(part, fine)])) if np.isin(part, fine).any() else float("nan")
            for region, fine in body_region_of_parts().items()}


def left_right_swapped(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, symmetry: np.ndarray,
                       margin: float = 0.8) -> bool:
    """Whether the prediction fits the image better with its left and right sides exchanged.

    True when the mirrored prediction's median visible-vertex error is below `margin` times the
    prediction's own: a body seen from the wrong side (front/back confusion) or crossed limbs.
    """
    own = np.median(visible_vertex_error_px(pred, gt, visible))
    mirrored = np.median(visible_vertex_error_px(pred[symmetry], gt, visible))
    return bool(mirrored < margin * own)


def root_align(j: np.ndarray, root: tuple[int, ...] = PELVIS) -> np.ndarray:
    """Subtract the mean of the root joints."""
    return j - j[list(root)].mean(axis=0, keepdims=True)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred (N, 3) after the similarity transform (scale, rotation, translation) that best fits gt."""
    mp, mg = pred.mean(0), gt.mean(0)
    p, g = pred - mp, gt - mg
    u, s, vt = np.linalg.svd(p.T @ g)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rot = u @ fix @ vt
    scale = (s * np.diag(fix)).sum() / max((p**2).sum(), 1e-12)
    return scale * p @ rot + mg


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error after root alignment."""
    return float(np.linalg.norm(root_align(pred) - root_align(gt), axis=-1).mean())


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint error after Procrustes alignment."""
    return float(np.linalg.norm(procrustes_align(pred, gt) - gt, axis=-1).mean())


def pve(pred_v: np.ndarray, gt_v: np.ndarray, pred_j: np.ndarray, gt_j: np.ndarray) -> float:
    """Mean per-vertex error with both meshes aligned at their joint root."""
    rp = pred_j[list(PELVIS)].mean(0)
    rg = gt_j[list(PELVIS)].mean(0)
    return float(np.linalg.norm((pred_v - rp) - (gt_v - rg), axis=-1).mean())


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(pred, gt).sum()
    return float(np.logical_and(pred, gt).sum() / union) if union else 1.0


def keypoint_ap(gt_coco: dict, predictions: list[dict]) -> dict[str, float]:
    """COCO keypoint AP/AR through pycocotools' COCOeval (OKS, maxDets 20)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO()
    gt.dataset = gt_coco
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(predictions) if predictions else None
    if dt is None:
        return {"AP": 0.0, "AR": 0.0}
    ev = COCOeval(gt, dt, "keypoints")
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    names = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    return {n: float(v) for n, v in zip(names, ev.stats)}
