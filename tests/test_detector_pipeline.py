"""The person detector's frame-side reference (model/pipeline/detector.py), on hand-made inputs with known answers."""

import math

import numpy as np
import pytest

from model.pipeline import detector as ref


def test_anchor_layout_matches_the_graph_options():
    a = ref.generate_anchors()
    # 28x28 cells x 2 anchors (stride 8), 14x14 x 2 (stride 16), 7x7 x 6 (three stride-32 layers merged)
    assert a.shape == (28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6, 4) == (ref.DECODE_OPTIONS.num_boxes, 4)
    assert np.all(a[:, 2:] == 1.0)  # fixed_anchor_size
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28, 1, 1])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per cell, same centre
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28, 1, 1])  # row-major: x moves first
    np.testing.assert_allclose(a[2 * 28], [0.5 / 28, 1.5 / 28, 1, 1])
    np.testing.assert_allclose(a[1567], [27.5 / 28, 27.5 / 28, 1, 1])
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14, 1, 1])
    np.testing.assert_allclose(a[1568 + 392], [0.5 / 7, 0.5 / 7, 1, 1])
    np.testing.assert_allclose(a[-6:], np.tile([6.5 / 7, 6.5 / 7, 1, 1], (6, 1)))


def test_anchor_sizes_without_fixed_size_follow_the_scales():
    a = ref.generate_anchors(ref.AnchorOptions(fixed_anchor_size=False))
    s0 = ref.ANCHOR_OPTIONS.min_scale
    s1 = s0 + (ref.ANCHOR_OPTIONS.max_scale - s0) / 4
    np.testing.assert_allclose(a[0, 2:], [s0, s0])  # aspect 1.0
    np.testing.assert_allclose(a[1, 2:], [math.sqrt(s0 * s1)] * 2)  # interpolated scale
    np.testing.assert_allclose(a[-1, 2:], [math.sqrt(ref.ANCHOR_OPTIONS.max_scale * 1.0)] * 2)


def test_decode_known_values():
    anchors = np.array([[0.5, 0.5, 1.0, 1.0], [0.25, 0.75, 1.0, 1.0]])
    raw = np.zeros((2, 12))
    raw[0, :4] = [22.4, -11.2, 44.8, 22.4]  # 224 px = 1.0: centre +0.1, -0.05; size 0.2 x 0.1
    raw[0, 4:6] = [112.0, 0.0]
    raw[1, 10:12] = [-56.0, 56.0]
    boxes, kps = ref.decode(raw, anchors)
    np.testing.assert_allclose(boxes[0], [0.5, 0.4, 0.7, 0.5], atol=1e-12)
    np.testing.assert_allclose(kps[0, 0], [1.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(kps[0, 1:], [[0.5, 0.5]] * 3)
    np.testing.assert_allclose(boxes[1], [0.25, 0.75, 0.25, 0.75])
    np.testing.assert_allclose(kps[1, 3], [0.0, 1.0])
    with pytest.raises(ValueError, match="anchors"):
        ref.decode(raw, anchors[:1])


def test_scores_clip_and_threshold_is_inclusive():
    p = ref.scores(np.array([[0.0], [1000.0], [-1000.0], [math.log(3.0)]]))
    np.testing.assert_allclose(p, [0.5, 1 / (1 + math.exp(-100)), 1 / (1 + math.exp(100)), 0.75])
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, -0.1, 1], [0, 0, 1, np.nan]], dtype=float)
    probs = np.array([0.5, 0.49, 0.9, 0.9])
    assert ref.candidates(boxes, probs).tolist() == [0]  # 0.5 kept, 0.49 not, negative width and NaN dropped


def test_iou():
    assert ref.iou(np.array([0, 0, 1, 1.0]), np.array([2, 2, 3, 3.0])) == 0.0
    assert ref.iou(np.array([0, 0, 1, 1.0]), np.array([0, 0, 1, 1.0])) == 1.0
    assert ref.iou(np.array([0, 0, 2, 1.0]), np.array([1, 0, 3, 1.0])) == pytest.approx(1 / 3)
    assert ref.iou(np.array([0, 0, 0, 1.0]), np.array([0, 0, 0, 1.0])) == 0.0  # no area


def _nms(boxes, probs, kps=None):
    boxes = np.asarray(boxes, float)
    kps = np.zeros((len(boxes), 4, 2)) if kps is None else np.asarray(kps, float)
    probs = np.asarray(probs, float)
    return ref.weighted_nms(boxes, kps, probs, np.arange(len(boxes)))


def test_weighted_nms_blends_overlapping_boxes_with_score_weights():
    kps = np.zeros((2, 4, 2))
    kps[1] += 1.0
    out = _nms([[0, 0, 1, 1], [0.1, 0, 1.1, 1]], [0.6, 0.9], kps)  # IoU 0.82
    assert len(out) == 1
    d = out[0]
    assert d.score == 0.9 and d.anchor == 1 and d.merged == [1, 0]
    np.testing.assert_allclose(d.box, [(0.6 * 0 + 0.9 * 0.1) / 1.5, 0, (0.6 * 1 + 0.9 * 1.1) / 1.5, 1])
    np.testing.assert_allclose(d.keypoints, np.full((4, 2), 0.9 / 1.5))


def test_weighted_nms_threshold_is_strict():
    # IoU of [0,0,1,1] and [x,0,1+x,1] is (1-x)/(1+x): 0.2987 for x = 0.54 (kept apart), 0.3072 for x = 0.53
    out = _nms([[0, 0, 1, 1], [0.54, 0, 1.54, 1]], [0.7, 0.8])
    assert [d.anchor for d in out] == [1, 0]
    np.testing.assert_allclose(out[1].box, [0, 0, 1, 1])
    assert [d.merged for d in _nms([[0, 0, 1, 1], [0.53, 0, 1.53, 1]], [0.7, 0.8])] == [[1, 0]]


def test_weighted_nms_is_greedy_not_transitive():
    # A overlaps B, B overlaps C, A does not overlap C: B joins A, then C stands alone
    out = _nms([[0, 0, 1, 1], [0.3, 0, 1.3, 1], [0.9, 0, 1.9, 1]], [0.9, 0.8, 0.7])
    assert [d.merged for d in out] == [[0, 1], [2]]


def test_weighted_nms_ties_and_zero_area():
    out = _nms([[0, 0, 1, 1], [5, 5, 6, 6]], [0.7, 0.7])
    assert [d.anchor for d in out] == [0, 1]  # equal scores: lower anchor first
    out = _nms([[0, 0, 0, 1], [5, 5, 6, 6]], [0.9, 0.8])  # a zero-area best box: MediaPipe stops after it
    assert [d.anchor for d in out] == [0]


@pytest.mark.parametrize("size", [(1920, 1080), (720, 1280), (640, 640), (513, 301)])
def test_letterbox_round_trip_and_mediapipe_padding(size):
    w, h = size
    lb = ref.letterbox(w, h)
    side = max(w, h)
    assert lb.scale == side / 224
    # MediaPipe: padding fractions, then (v - pad) / (1 - 2 pad) * frame size
    assert lb.padding == ((1 - w / side) / 2, (1 - h / side) / 2) * 2
    v = np.array([[0.3, 0.7], [0.55, 0.45]])
    mp = np.stack([(v[:, 0] - lb.padding[0]) / (1 - 2 * lb.padding[0]) * w,
                   (v[:, 1] - lb.padding[1]) / (1 - 2 * lb.padding[1]) * h], axis=1)
    np.testing.assert_allclose(ref.to_frame(v, lb), mp, atol=1e-9)
    box = np.array([[0.25 * w, 0.1 * h], [0.8 * w, 0.95 * h]])  # frame -> input -> frame
    to_input = np.stack([(box[:, 0] - lb.x0) / (lb.scale * 224), (box[:, 1] - lb.y0) / (lb.scale * 224)], axis=1)
    np.testing.assert_allclose(ref.to_frame(to_input, lb), box, atol=1e-9)
    np.testing.assert_allclose(ref.to_frame(np.array([0.5, 0.5]), lb), [w / 2, h / 2])


def test_letterbox_image_pads_black_and_keeps_the_frame():
    frame = np.full((100, 200, 3), 200, np.uint8)  # landscape: 50 input rows of padding above and below
    x, lb = ref.letterbox_image(frame)
    assert x.shape == (224, 224, 3) and x.dtype == np.float32
    assert lb.y0 == -50 and lb.scale == 200 / 224
    assert np.all(x[60:164, :-1] == 200.0) and np.all(x == np.rint(x))  # 8-bit values
    # MediaPipe's geometry: column 0 reads the first pixel centre, column 223 reads past the last one
    assert 0 < x[100, -1, 0] < 200
    assert np.all(x[:55] == 0.0) and np.all(x[-55:] == 0.0)  # rows whose centres lie beyond the frame edge
    with pytest.raises(ValueError, match="RGB"):
        ref.letterbox_image(np.zeros((10, 10)))
    with pytest.raises(ValueError, match="positive"):
        ref.letterbox(0, 10)


def test_person_box_and_roi_from_keypoints():
    kps = np.array([[100.0, 200.0], [100.0, 100.0], [0, 0], [0, 0]])  # upright: head point above the hips
    assert ref.person_box(kps) == (0.0, 100.0, 200.0, 300.0)
    roi = ref.pose_roi(kps)
    assert (roi.cx, roi.cy, roi.size) == (100.0, 200.0, 250.0) and roi.rotation == pytest.approx(0.0)
    right = np.array([[100.0, 200.0], [200.0, 200.0], [0, 0], [0, 0]])  # body lying towards +x
    assert ref.pose_roi(right).rotation == pytest.approx(math.pi / 2)
    assert ref.person_box(right) == ref.person_box(kps)  # a circle's box ignores the rotation
    down = np.array([[100.0, 200.0], [100.0, 300.0], [0, 0], [0, 0]])
    assert ref.pose_roi(down).rotation == pytest.approx(-math.pi)  # normalised to [-pi, pi)


def _raw_people(n_anchor_groups):
    """Raw outputs with high-scoring anchors at chosen places (keypoint 1 is 20 input px above keypoint 0)."""
    anchors = ref.generate_anchors()
    reg = np.zeros((anchors.shape[0], 12))
    logits = np.full(anchors.shape[0], -10.0)
    reg[:, 2:4] = 20.0
    reg[:, 7] = -20.0
    for idx, logit in n_anchor_groups:
        logits[idx] = logit
    return reg, logits


def test_detect_people_caps_sorts_and_maps_to_the_frame():
    reg, logits = _raw_people([(0, 1.0), (1, 2.0), (1000, 3.0), (2253, 0.5)])  # anchors 0 and 1 share a cell
    lb = ref.letterbox(448, 448)  # 2 frame px per input px
    people = ref.detect_people(reg, logits, lb, max_people=10)
    assert [p.anchor for p in people] == [1000, 1, 2253]
    assert [p.score for p in people] == sorted((p.score for p in people), reverse=True)
    a = ref.generate_anchors()[1000]
    np.testing.assert_allclose(people[0].keypoints[0], a[:2] * 448)
    np.testing.assert_allclose(people[0].person_box, [a[0] * 448 - 40, a[1] * 448 - 40, a[0] * 448 + 40,
                                                      a[1] * 448 + 40])
    assert len(ref.detect_people(reg, logits, lb)) == ref.DEFAULT_MAX_PEOPLE == 2
    assert len(ref.detect_people(reg, logits, lb, threshold=0.9)) == 1  # sigmoid(3) = 0.95, sigmoid(2) = 0.88
    with pytest.raises(ValueError, match="max_people"):
        ref.detect_people(reg, logits, lb, max_people=0)
    with pytest.raises(ValueError, match="probability"):
        ref.detect_people(reg, logits, lb, threshold=2.0)
