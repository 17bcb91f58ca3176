"""DensePose evaluation of predictions against dense ground-truth points (GPS/GPSm AP/AR).

A predictor gives, at each ground-truth point's pixel, a template surface point or background:
  - the network: its heatmaps decoded to (part, U, V) per pixel (model.heads.uv_decode, Eq. 2,
    any of its methods), located on the template through the part charts like any DensePose
    (I, U, V) output; background where the segmentation head says so;
  - a mesh (e.g. the mean-template baseline): rasterised in the crop; background off the mesh.
Ground-truth points carry their exact template face and barycentrics (synthetic data) or come
from DensePose-COCO through the same charts (model.data.densepose_coco).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from model.data.charts import ChartLocator
from model.data.raster import rasterize
from model.eval.gps import SurfaceGeodesics, average_precision, gps, gpsm


@dataclass
class SurfacePrediction:
    """Predicted surface point per query pixel; `predicted` False where the predictor says background."""

    face: np.ndarray  # (N,) int64
    bary: np.ndarray  # (N, 3)
    predicted: np.ndarray  # (N,) bool


def _pixel_index(points: np.ndarray, stride: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row/column of the (stride-reduced) pixel that contains each point (x, y) in crop pixels."""
    col = np.clip(np.floor(points[:, 0] / stride).astype(np.int64), 0, width - 1)
    row = np.clip(np.floor(points[:, 1] / stride).astype(np.int64), 0, height - 1)
    return row, col


def network_surface_at(heatmaps: torch.Tensor, segmentation: torch.Tensor, points: np.ndarray, template,
                       locator: ChartLocator, stride: int = 4, method: str = "barycentric") -> SurfacePrediction:
    """Surface points the network predicts at `points` (N, 2) crop pixels from one image's
    heatmaps (V, h, w) and segmentation logits (2, h, w)."""
    from model.network.heads import uv_decode

    if heatmaps.dim() != 3 or segmentation.dim() != 3:
        raise ValueError("expected one image: heatmaps (V, h, w) and segmentation (2, h, w)")
    h, w = heatmaps.shape[-2:]
    row, col = _pixel_index(np.asarray(points, np.float64), stride, h, w)
    with torch.no_grad():
        part, uv = uv_decode(heatmaps[None].float(), template.faces, template.face_parts, template.parts,
                             template.uv, method=method)
    part_at = part[0].numpy()[row, col]
    uv_at = uv[0].numpy()[row, col].astype(np.float64)
    fg = segmentation.argmax(0).numpy().astype(bool)[row, col]
    loc = locator.locate(part_at, uv_at[:, 0], uv_at[:, 1])
    return SurfacePrediction(loc.face, loc.bary, fg)


def mesh_surface_at(vertices: np.ndarray, template, points: np.ndarray, height: int, width: int) -> SurfacePrediction:
    """Surface points of a mesh (V, 3) in crop pixels (z away from the camera) seen at `points`."""
    r = rasterize(vertices[:, :2], vertices[:, 2], template.faces, height, width)
    row, col = _pixel_index(np.asarray(points, np.float64), 1, height, width)
    face = r.face_id[row, col]
    bary = r.bary[row, col]
    hit = face >= 0
    bary = np.where(hit[:, None], bary, 1.0 / 3.0)
    return SurfacePrediction(np.where(hit, face, 0), bary, hit)


@dataclass
class DensePoseScorer:
    """Collects per-instance GPS/GPSm and detection scores; `summary()` gives AP/AR (area 'all')."""

    template: object
    geodesics: SurfaceGeodesics = field(init=False)
    gps_values: list[float] = field(default_factory=list)
    gpsm_values: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.geodesics = SurfaceGeodesics(self.template)

    def add(self, pred: SurfacePrediction, gt_face: np.ndarray, gt_bary: np.ndarray, mask_iou: float,
            score: float = 1.0) -> float:
        """Score one instance (one detection per ground-truth person); returns its GPS."""
        gt_face = np.asarray(gt_face, np.int64)
        d = self.geodesics.distance(pred.face, pred.bary, gt_face, np.asarray(gt_bary, np.float64))
        g = gps(d, self.template.face_parts[gt_face], pred.predicted)
        self.gps_values.append(g)
        self.gpsm_values.append(gpsm(g, mask_iou))
        self.scores.append(float(score))
        return g

    def summary(self) -> dict[str, float]:
        """GPS AP/AP50/AP75/AR, GPSm AP/AR and the mean GPS over instances."""
        if not self.gps_values:
            raise ValueError("no instances scored")
        out = {"GPS_mean": float(np.mean(self.gps_values))}
        for name, values in (("GPS", self.gps_values), ("GPSm", self.gpsm_values)):
            per_image = [(np.array([s]), np.array([[v]])) for s, v in zip(self.scores, values)]
            for k, v in average_precision(per_image).items():
                out[f"{name}_{k}"] = v
        return out
