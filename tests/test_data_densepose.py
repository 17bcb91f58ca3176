"""DensePose-COCO loader and chart locator on a small JSON file written by the test."""

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from model.data.charts import ChartLocator
from model.data.densepose_coco import load_densepose_coco


def _points_on_faces(template, faces, rng):
    """(I, U, V) of random points on the given template faces, and their barycentrics."""
    bary = rng.dirichlet([2.0, 2.0, 2.0], len(faces))
    uv = (bary[:, :, None] * template.uv[template.faces[faces]]).sum(1)
    return template.face_parts[faces].astype(int), uv, bary


def test_locator_reproduces_chart_coordinates(template):
    rng = np.random.default_rng(1)
    faces = rng.integers(0, len(template.faces), 500)
    part, uv, bary = _points_on_faces(template, faces, rng)
    loc = ChartLocator(template).locate(part, uv[:, 0], uv[:, 1])
    # Where charts overlap another face of the same part may be chosen; its UV must still be the query's.
    got_uv = (loc.bary[:, :, None] * template.uv[template.faces[loc.face]]).sum(1)
    np.testing.assert_allclose(got_uv, uv, atol=1e-9)
    assert (template.face_parts[loc.face] == part).all()
    assert not loc.snapped.any()
    np.testing.assert_allclose(loc.bary.sum(1), 1.0)
    same = loc.face == faces
    assert same.mean() > 0.5
    np.testing.assert_allclose(loc.bary[same], bary[same], atol=1e-9)


def test_locator_snaps_points_outside_the_chart(template):
    locator = ChartLocator(template)
    part = np.array([1, 1])
    faces = np.flatnonzero(template.face_parts == 1)
    corner = template.uv[template.faces[faces]].reshape(-1, 2)
    # A point far outside the unit square lies outside every UV triangle of the part.
    loc = locator.locate(part, np.array([5.0, corner[0, 0]]), np.array([5.0, corner[0, 1]]))
    assert loc.snapped.tolist() == [True, False]
    assert (loc.bary >= 0).all()
    np.testing.assert_allclose(loc.bary.sum(1), 1.0)
    with pytest.raises(ValueError, match="no chart"):
        locator.locate(np.array([25]), np.array([0.5]), np.array([0.5]))
    with pytest.raises(ValueError, match="part labels"):
        locator.locate(np.array([1, 2]), np.array([0.5]), np.array([0.5]))


def test_loader_maps_points_and_counts_skips(template, tmp_path):
    rng = np.random.default_rng(2)
    faces = rng.integers(0, len(template.faces), 20)
    part, uv, _ = _points_on_faces(template, faces, rng)
    xy = rng.uniform(0, 255, (20, 2))
    fg = np.zeros((256, 256), np.uint8, order="F")
    fg[40:200, 60:180] = 1
    rle = mask_utils.encode(fg)
    rle["counts"] = rle["counts"].decode()
    good = {"id": 1, "image_id": 7, "bbox": [10.0, 20.0, 128.0, 64.0], "dp_x": xy[:, 0].tolist(),
            "dp_y": xy[:, 1].tolist(), "dp_I": part.tolist(), "dp_U": uv[:, 0].tolist(), "dp_V": uv[:, 1].tolist(),
            "dp_masks": [rle] + [[] for _ in range(13)]}
    anns = [
        good,
        {"id": 2, "image_id": 7, "bbox": [0, 0, 10, 10], "keypoints": [0] * 51},  # no DensePose points
        dict(good, id=3, dp_x=good["dp_x"][:5]),
        dict(good, id=4, dp_I=[25] + good["dp_I"][1:]),
        dict(good, id=5, dp_U=[1.5] + good["dp_U"][1:]),
        dict(good, id=6, bbox=[0, 0, 0, 5]),
        dict(good, id=7, dp_masks=[[]] * 3),
        {k: v for k, v in good.items() if k != "dp_V"},
    ]
    path = tmp_path / "dp.json"
    path.write_text(json.dumps({"images": [], "annotations": anns}))
    records, summary = load_densepose_coco(path, template)
    assert summary.annotations == 8 and summary.used == 1 and summary.points == 20
    assert dict(summary.skipped) == {"no_densepose": 1, "length_mismatch": 1, "part_out_of_range": 1,
                                     "uv_out_of_range": 1, "bad_bbox": 1, "dp_masks_not_14": 1, "missing_dp_V": 1}
    assert "skipped" in str(summary)
    (rec,) = records
    assert rec.image_id == 7
    np.testing.assert_allclose(rec.points[:, 0], 10.0 + xy[:, 0] * 128.0 / 256.0)
    np.testing.assert_allclose(rec.points[:, 1], 20.0 + xy[:, 1] * 64.0 / 256.0)
    assert (template.face_parts[rec.face] == part).all()
    np.testing.assert_array_equal(rec.mask, fg.astype(bool))


def test_loader_rejects_non_coco_files(template, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_densepose_coco(bad, template)
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="annotations"):
        load_densepose_coco(bad, template)
