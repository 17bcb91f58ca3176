"""DensePose scoring of mesh and network predictions at ground-truth points."""

import numpy as np
import pytest
import torch

from model.data.charts import ChartLocator
from model.eval.densepose_eval import DensePoseScorer, mesh_surface_at, network_surface_at


def _front_view(template, height=192, width=128):
    """Template at rest seen from the front in crop pixels (x right, y down, z away from the camera)."""
    v = np.asarray(template.vertices, np.float64)
    lo, hi = v.min(0), v.max(0)
    s = 0.9 * height / (hi[2] - lo[2])  # z is up in the template's frame
    cx, cz = (lo[0] + hi[0]) / 2, (lo[2] + hi[2]) / 2
    return np.stack([width / 2 + s * (v[:, 0] - cx), height / 2 - s * (v[:, 2] - cz), s * v[:, 1]], 1)


def test_mesh_predictions_score_gps_one_on_their_own_points(template):
    mesh = _front_view(template)
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, 0], [128, 192], (400, 2))
    truth = mesh_surface_at(mesh, template, pts, 192, 128)
    assert 50 < truth.predicted.sum() < 400  # some points hit the body, some the background
    on = truth.predicted
    scorer = DensePoseScorer(template)
    assert scorer.add(truth, truth.face, truth.bary, 1.0)
    g_same = scorer.add(mesh_surface_at(mesh, template, pts[on], 192, 128), truth.face[on], truth.bary[on], 1.0)
    shifted = mesh + np.array([12.0, 0.0, 0.0])
    g_shift = scorer.add(mesh_surface_at(shifted, template, pts[on], 192, 128), truth.face[on], truth.bary[on], 0.5)
    assert g_same == pytest.approx(1.0)
    assert g_shift < 0.9
    s = scorer.summary()
    assert 0 < s["GPS_mean"] < 1 and 0 <= s["GPS_AP"] <= 1 and s["GPSm_AP"] <= s["GPS_AP"]


def test_network_decoding_recovers_a_known_surface_point(template):
    locator = ChartLocator(template)
    V, h, w = template.num_vertices, 8, 6
    face = 10
    bary = np.array([0.6, 0.3, 0.1])
    heat = torch.full((V, h, w), -30.0)
    # Logits whose softmax over vertices puts the barycentrics on the face's corners.
    for k, vid in enumerate(template.faces[face]):
        heat[int(vid)] = float(np.log(bary[k]))
    seg = torch.zeros(2, h, w)
    seg[1, :, :3] = 5.0  # foreground in the left half only
    pts = np.array([[2.0, 2.0], [21.0, 2.0]])  # stride 4: columns 0 and 5
    pred = network_surface_at(heat, seg, pts, template, locator)
    assert pred.predicted.tolist() == [True, False]
    scorer = DensePoseScorer(template)
    g = scorer.add(pred, np.array([face, face]), np.stack([bary, bary]), 1.0)
    assert g == pytest.approx(0.5, abs=1e-6)  # first point exact (GPS 1), second background (0)
    with pytest.raises(ValueError):
        network_surface_at(heat[None], seg, pts, template, locator)
    with pytest.raises(ValueError):
        DensePoseScorer(template).summary()
