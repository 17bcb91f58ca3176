"""Evaluation metrics on analytic cases, and the evaluation of a checkpoint against the mean baseline."""

import numpy as np
import pytest

from model.eval.metrics import (
    error_by_region,
    keypoint_ap,
    left_right_swapped,
    mask_iou,
    mpjpe,
    pa_mpjpe,
    procrustes_align,
    pve,
    visible_vertex_error_px,
)
from tests.conftest import write_rest_body_split


def _rot(deg):
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def test_procrustes_undoes_a_similarity_transform():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(17, 3))
    pred = 2.5 * gt @ _rot(40).T + np.array([1.0, -2.0, 3.0])
    assert np.allclose(procrustes_align(pred, gt), gt, atol=1e-9)
    assert pa_mpjpe(pred, gt) < 1e-9
    assert mpjpe(pred, gt) > 0.1  # root alignment alone does not undo rotation and scale


def test_mpjpe_and_pve_ignore_a_global_shift():
    rng = np.random.default_rng(1)
    gt_j, gt_v = rng.normal(size=(17, 3)), rng.normal(size=(50, 3))
    shift = np.array([5.0, 5.0, 5.0])
    assert mpjpe(gt_j + shift, gt_j) < 1e-12
    assert pve(gt_v + shift, gt_v, gt_j + shift, gt_j) < 1e-12


def test_mask_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True
    b[1:3] = True
    assert mask_iou(a, b) == 4 / 12
    assert mask_iou(a, a) == 1.0


def test_keypoint_ap_perfect_and_wrong():
    kps = np.array([[10 + 3 * i, 20 + 4 * i, 2] for i in range(17)], float)
    coco = {"images": [{"id": 1, "width": 96, "height": 128}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 3000.0,
                             "bbox": [5, 10, 60, 90], "keypoints": kps.reshape(-1).tolist(), "num_keypoints": 17}],
            "categories": [{"id": 1, "name": "person"}]}
    good = [{"image_id": 1, "category_id": 1, "score": 1.0, "keypoints": kps.reshape(-1).tolist()}]
    bad_kps = kps.copy()
    bad_kps[:, :2] += 40
    bad = [{"image_id": 1, "category_id": 1, "score": 1.0, "keypoints": bad_kps.reshape(-1).tolist()}]
    assert keypoint_ap(coco, good)["AP"] > 0.99
    assert keypoint_ap(coco, bad)["AP"] < 0.1


def test_error_by_region_and_left_right_swaps(template):
    v = template.vertices.astype(np.float64)
    gt = np.stack([96 + 300 * v[:, 0], 128 - 300 * v[:, 2], 300 * v[:, 1]], axis=1)  # front view, crop pixels
    visible = np.ones(len(gt), bool)
    pred = gt.copy()
    hands = np.isin(template.parts, (3, 4))
    pred[hands, 0] += 10.0
    regions = error_by_region([visible_vertex_error_px(pred, gt, visible)], [template.parts])
    assert regions["hand"] == pytest.approx(10.0)
    assert all(err == 0.0 for name, err in regions.items() if name != "hand")
    assert set(regions) == {"torso", "head", "hand", "foot", "upper_arm", "lower_arm", "upper_leg", "lower_leg"}
    # A body predicted with its sides exchanged is a swap; the right answer and a small shift are not.
    assert left_right_swapped(gt[template.symmetry], gt, visible, template.symmetry)
    assert not left_right_swapped(gt, gt, visible, template.symmetry)
    assert not left_right_swapped(pred, gt, visible, template.symmetry)


def test_evaluate_a_checkpoint_against_the_mean_baseline(tmp_path, template):
    import torch

    from model.build import create_model
    from model.eval.run import evaluate, mean_mesh

    data = tmp_path / "d"
    write_rest_body_split(data / "train", template, range(6))
    write_rest_body_split(data / "test", template, range(100, 104))
    torch.manual_seed(0)
    net = create_model("tiny", template).eval()
    result = evaluate(net, data / "test", template, mean_mesh(data / "train", template))
    for who in ("model", "baseline"):
        r = result[who]
        assert r["samples"] == 4
        assert np.isfinite([r["mpjpe_mm"], r["pa_mpjpe_mm"], r["pve_mm"], r["visible_vertex_2d_error_px_median"]]).all()
        assert 0 <= r["keypoint_AP"] <= 100
        assert 0 <= r["GPS_mean"] <= 1 and 0 <= r["GPSm_AP"] <= 100 and 0 <= r["GPS_AR"] <= 100
        assert 0 <= r["truncated_share"] <= 1 and 0 <= r["left_right_swapped_share"] <= 1
        assert len(r["error_by_region_px"]) == 8
    assert 0 <= result["model"]["spread_heatmap_share"] <= 1 and "spread_heatmap_share" not in result["baseline"]
    # The mean training mesh of the same body beats an untrained network by far.
    key = "visible_vertex_2d_error_px_median"
    assert result["baseline"][key] < result["model"][key]
    # The ground-truth low-poly mesh, rasterised, finds the dense points' surface locations (GPS is
    # below 1 only because the points were rendered from the full mesh); an untrained network does not.
    from model.eval.densepose_eval import DensePoseScorer, mesh_surface_at
    from model.train.dataset import MeshPoseDataset

    test = MeshPoseDataset(data / "test", template, flip_probability=0.0, colour_jitter=0.0)
    scorer = DensePoseScorer(template)
    for i, ann in enumerate(test.anns):
        s = test.get(i, augment=False)
        n = int(s["dp_valid"].sum())
        surf = mesh_surface_at(s["vertices"].double().numpy(), template, s["dp_points"][:n].double().numpy(), 128, 96)
        scorer.add(surf, np.asarray(ann["dp_face"][:n]), np.asarray(ann["dp_bary"][:n]), 1.0)
    assert scorer.summary()["GPS_mean"] > 0.7 > result["model"]["GPS_mean"]


def test_spread_visible_maps_counts_the_visible_vertices_whose_heatmap_has_modes_apart(template):
    import torch

    from model.build import create_model
    from model.eval.run import SPREAD_VARIANCE_CELLS2, spread_visible_maps

    net = create_model("tiny", template).eval()
    h, w = net.vertexpose.argsoftmax.height, net.vertexpose.argsoftmax.width
    v = template.num_vertices
    logits = torch.full((1, v, h, w), -10.0)
    logits[0, :, 5, 5] = 10.0  # one sharp peak each
    logits[0, 0, 5, 5] = logits[0, 0, 5, 9] = 10.0  # two equal peaks 4 cells apart: variance 4 cells²
    logits[0, 1, 5, 5] = logits[0, 1, 5, 6] = 10.0  # 1 cell apart: variance 0.25, one blurred peak
    logits[0, 2, 5, 5] = logits[0, 2, 9, 9] = 10.0  # spread, but the vertex is hidden
    visibility = torch.ones(1, v)
    visibility[0, 2] = 0.4
    assert 0.25 < SPREAD_VARIANCE_CELLS2 < 4.0
    assert spread_visible_maps(net, {"heatmaps": logits, "visibility": visibility}) == (1, v - 1)


def test_eval_of_a_checkpoint_without_a_train_split_leaves_out_the_baseline_and_says_so(tmp_path, template, capsys):
    import json

    import torch

    from model.build import create_model
    from model.checkpoint import save_checkpoint
    from model.eval.run import main

    data = tmp_path / "d"
    write_rest_body_split(data / "test", template, range(100, 102))
    torch.manual_seed(0)
    ckpt = save_checkpoint(create_model("tiny", template), tmp_path / "tiny.safetensors", variant="tiny",
                           template=template, trained=False)
    out = tmp_path / "eval.json"
    assert main(["--variant", "tiny", "--ckpt", str(ckpt), "--data", str(data), "--out", str(out)]) == 0
    assert "no train split" in capsys.readouterr().err
    results = json.loads(out.read_text())["results"]
    assert list(results) == ["model"] and results["model"]["samples"] == 2
    # The phantom-body check ran on the test split's crop size, for every kind of empty frame.
    phantoms = results["model"]["empty_frames"]
    assert sorted(phantoms) == ["background", "covered_lens", "noise"]
    assert all(r["frames"] == 16 and 0 <= r["visible_vertex_share"] <= 1 for r in phantoms.values())


def test_empty_frames_are_deterministic_and_of_their_kind():
    from model.eval.empty_frames import empty_frames

    noise, lens = empty_frames("noise", 2, 32, 24), empty_frames("covered_lens", 2, 32, 24)
    assert noise[0].shape == (1, 3, 32, 24) and noise[0].dtype == np.float32
    np.testing.assert_array_equal(noise[1], empty_frames("noise", 2, 32, 24)[1])
    assert not np.array_equal(noise[0], noise[1])
    assert noise[0].std() > 50 and lens[0].mean() < 20  # uniform 0..255 pixels against a near-black frame
    with pytest.raises(ValueError, match="unknown empty frame 'snow'"):
        empty_frames("snow", 1, 32, 24)


def test_phantom_report_counts_the_vertices_called_visible_per_kind():
    import torch

    from model.eval.empty_frames import phantom_report

    def sees_a_body_in_noise(image: torch.Tensor) -> dict:
        # A stand-in network: a tenth of its 10 vertices visible on high-contrast frames, none otherwise.
        vis = torch.zeros(1, 10)
        if float(image.std()) > 50:
            vis[0, :1] = 0.9
        return {"visibility": vis}

    report = phantom_report(sees_a_body_in_noise, 32, 24, count=3)
    assert report["noise"]["frames"] == 3 and report["noise"]["frames_with_a_phantom"] == 1.0
    assert report["noise"]["visible_vertex_share"] == pytest.approx(0.1)
    assert report["covered_lens"]["frames_with_a_phantom"] == 0.0
    with pytest.raises(ValueError, match="count must be at least 1"):
        phantom_report(sees_a_body_in_noise, 32, 24, count=0)
