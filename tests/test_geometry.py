"""Crop geometry and decoding (the reference the Swift and Kotlin modules mirror)."""

import numpy as np
import pytest

from model.pipeline.crop import Crop, crop_from_box, crop_to_frame, frame_to_crop, sample_crop
from model.pipeline.decode import decode_outputs, next_crop


def test_crop_from_box_keeps_model_aspect_and_centre():
    crop = crop_from_box([100, 50, 300, 450], in_w=192, in_h=256, expand=1.25)
    w, h = 192 * crop.scale, 256 * crop.scale
    assert w / h == pytest.approx(192 / 256)
    assert crop.x0 + w / 2 == pytest.approx(200) and crop.y0 + h / 2 == pytest.approx(250)
    assert h == pytest.approx(400 * 1.25)  # tall box: height drives the size
    wide = crop_from_box([0, 0, 400, 100], in_w=192, in_h=256, expand=1.0)
    assert 192 * wide.scale == pytest.approx(400)
    with pytest.raises(ValueError, match="no area"):
        crop_from_box([5, 5, 5, 10], 192, 256)


def test_crop_round_trip():
    crop = Crop(12.5, -30.0, 2.75)
    pts = np.random.default_rng(0).uniform(-50, 300, size=(20, 3))
    assert np.allclose(frame_to_crop(crop_to_frame(pts, crop), crop), pts)
    assert np.allclose(crop_to_frame(pts, crop)[:, 2], pts[:, 2] * 2.75)


def test_sample_crop_identity_and_outside_is_zero():
    frame = np.random.default_rng(1).uniform(0, 255, size=(8, 6, 3)).astype(np.float32)
    same = sample_crop(frame, Crop(0.0, 0.0, 1.0), in_w=6, in_h=8)
    assert np.allclose(same, frame, atol=1e-4)
    shifted = sample_crop(frame, Crop(-6.0, 0.0, 1.0), in_w=6, in_h=8)
    assert np.allclose(shifted, 0.0)


def test_decode_and_tracking():
    v = 50
    rng = np.random.default_rng(2)
    verts = rng.uniform(20, 170, size=(v, 3))
    vis = np.linspace(0, 1, v)
    joints = rng.uniform(20, 170, size=(17, 3))
    crop = Crop(100.0, 40.0, 2.0)
    dec = decode_outputs(verts, vis, joints, crop, 192, 256)
    assert np.array_equal(dec.visible, vis >= 0.5)
    assert np.allclose(dec.vertices[:, 0], 100 + 2 * verts[:, 0])
    vx = dec.vertices[dec.visible]
    assert dec.visible_bounds == pytest.approx([vx[:, 0].min(), vx[:, 1].min(), vx[:, 0].max(), vx[:, 1].max()])
    assert dec.next_crop == crop_from_box(dec.visible_bounds, 192, 256)
    assert next_crop(dec.visible_bounds, 4, v, 192, 256) is None  # < 10% visible: re-detect
    none_visible = decode_outputs(verts, np.zeros(v), joints, crop, 192, 256)
    assert none_visible.visible_bounds is None and none_visible.next_crop is None
