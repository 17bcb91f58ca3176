"""GPS/GPSm and GPS-based AP on the template surface."""

import numpy as np
import pytest

from model.eval.gps import KAPPA, SurfaceGeodesics, average_precision, gps, gpsm


@pytest.fixture(scope="module")
def geo(template):
    return SurfaceGeodesics(template)


def test_geodesic_distance_properties(template, geo):
    rng = np.random.default_rng(0)
    n = 300
    fa, fb = rng.integers(0, len(template.faces), (2, n))
    ba, bb = rng.dirichlet([1, 1, 1], (2, n))
    d = geo.distance(fa, ba, fb, bb)
    np.testing.assert_allclose(d, geo.distance(fb, bb, fa, ba))  # symmetric
    np.testing.assert_allclose(geo.distance(fa, ba, fa, ba), 0.0, atol=1e-12)
    euclid = np.linalg.norm(geo.points(fa, ba) - geo.points(fb, bb), axis=1)
    assert (d >= euclid - 1e-9).all() and np.isfinite(d).all()
    assert d.max() < 3.0  # metres: no path longer than a few body heights


def test_geodesic_between_vertices_follows_edges(template, geo):
    a, b = template.edges[0]
    length = np.linalg.norm(template.vertices[a].astype(np.float64) - template.vertices[b])
    assert geo.vertex_distance[a, b] == pytest.approx(length, rel=1e-9)
    orig, dup = template.seam_pairs[0]
    assert geo.vertex_distance[orig, dup] < 1e-6  # seam duplicates are the same surface point


def test_gps_values():
    parts = np.array([1, 3, 24])
    assert gps(np.zeros(3), parts, np.ones(3, bool)) == pytest.approx(1.0)
    assert gps(np.zeros(3), parts, np.zeros(3, bool)) == 0.0
    kappa = KAPPA[[0, 1, 7]]
    assert gps(kappa, parts, np.ones(3, bool)) == pytest.approx(np.exp(-0.5))
    assert gpsm(0.81, 1.0) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        gps(np.zeros(1), np.array([0]), np.ones(1, bool))


def test_average_precision_by_hand():
    perfect = [(np.array([0.9]), np.array([[1.0]])) for _ in range(4)]
    r = average_precision(perfect)
    assert r["AP"] == pytest.approx(1.0) and r["AR"] == pytest.approx(1.0)
    # Two images matched at similarity 1 (higher scores), two at 0.6: thresholds 0.5..0.6 match all,
    # the other seven only half (precision 1 up to recall 0.5, i.e. 51 of 101 recall points).
    mixed = [(np.array([0.9]), np.array([[1.0]]))] * 2 + [(np.array([0.1]), np.array([[0.6]]))] * 2
    r = average_precision(mixed)
    assert r["AP"] == pytest.approx((3 + 7 * 51 / 101) / 10)
    assert r["AR"] == pytest.approx((3 + 7 * 0.5) / 10)
    assert r["AP50"] == pytest.approx(1.0) and r["AP75"] == pytest.approx(51 / 101)
    # A false positive scored above the true one halves the precision at every recall.
    fp_first = [(np.array([0.9, 0.8]), np.array([[0.0], [1.0]]))]
    assert average_precision(fp_first)["AP"] == pytest.approx(0.5)
    fp_last = [(np.array([0.2, 0.8]), np.array([[0.0], [1.0]]))]
    assert average_precision(fp_last)["AP"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        average_precision([(np.zeros(0), np.zeros((0, 0)))])
