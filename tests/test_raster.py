"""The rasteriser against analytic cases."""

import numpy as np

from model.data.raster import rasterize


def test_single_triangle_coverage_matches_its_area():
    v = np.array([[10.0, 10.0], [50.0, 10.0], [10.0, 40.0]])
    r = rasterize(v, np.zeros(3), np.array([[0, 1, 2]]), 64, 64)
    assert r.mask.sum() == 600  # 40 x 30 / 2: pixel centres on the hypotenuse split evenly
    assert r.mask[11, 11] and not r.mask[38, 38]


def test_barycentrics_sum_to_one_and_interpolate_positions():
    v = np.array([[3.2, 4.7], [60.1, 8.3], [20.5, 55.9]])
    r = rasterize(v, np.zeros(3), np.array([[0, 1, 2]]), 64, 64)
    ys, xs = np.nonzero(r.mask)
    lam = r.bary[ys, xs]
    assert np.allclose(lam.sum(axis=1), 1.0)
    assert (lam >= -1e-12).all()
    recon = lam @ v
    assert np.allclose(recon, np.stack([xs + 0.5, ys + 0.5], axis=1), atol=1e-9)


def test_depth_order_nearest_wins_whatever_the_drawing_order():
    square = np.array([[0.0, 0.0], [32.0, 0.0], [32.0, 32.0], [0.0, 32.0]])
    verts = np.concatenate([square, square])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    for near_first in (True, False):
        depth = np.r_[np.full(4, 1.0), np.full(4, 2.0)] if near_first else np.r_[np.full(4, 2.0), np.full(4, 1.0)]
        r = rasterize(verts, depth, faces, 32, 32)
        near_faces = {0, 1} if near_first else {2, 3}
        assert set(np.unique(r.face_id)) <= near_faces
        assert np.allclose(r.depth, 1.0)


def test_partial_occlusion_interpolates_depth():
    # A tilted quad crossing a flat one: each pixel shows whichever surface is nearer there.
    flat = np.array([[0.0, 0.0], [40.0, 0.0], [40.0, 40.0], [0.0, 40.0]])
    verts = np.concatenate([flat, flat])
    depth = np.r_[np.full(4, 5.0), [0.0, 10.0, 10.0, 0.0]]  # second quad: depth grows with x
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    r = rasterize(verts, depth, faces, 40, 40)
    left, right = r.face_id[:, :19], r.face_id[:, 21:]
    assert np.isin(left, [2, 3]).all() and np.isin(right, [0, 1]).all()
    assert np.allclose(r.depth[:, 5], (5.5 / 40) * 10)


def test_backface_culling_and_clipping_to_the_image():
    v = np.array([[-20.0, -20.0], [100.0, -20.0], [-20.0, 100.0]])
    ccw = rasterize(v, np.zeros(3), np.array([[0, 2, 1]]), 16, 16, cull_backfaces=True)
    cw = rasterize(v, np.zeros(3), np.array([[0, 1, 2]]), 16, 16, cull_backfaces=True)
    assert ccw.mask.all() != cw.mask.all()
    assert rasterize(v, np.zeros(3), np.array([[0, 1, 2]]), 16, 16).mask.all()
