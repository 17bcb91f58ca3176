"""model/pipeline/detector.py's constants are the ones in MediaPipe's pose-detection graphs of the pinned wheel."""

import math

import pytest

from model.pipeline import detector as ref
from tests.detector_support import detector_files


@pytest.fixture(scope="module")
def options():
    from model.detector.spec import CACHE_DIR, SOURCE
    from model.tools.mediapipe_graph import calculator_options

    detector_files()  # fetches the wheel, or skips with the reason
    return calculator_options(CACHE_DIR / SOURCE.wheel)


def test_input_options(options):
    o = options["ImageToTensorCalculator"]
    assert (o["output_tensor_width"], o["output_tensor_height"]) == (ref.INPUT_SIZE,) * 2
    assert o["keep_aspect_ratio"] is True
    lo, hi = o["output_tensor_float_range"].min, o["output_tensor_float_range"].max
    scale, bias = ref.NORMALIZATION
    assert (0 * scale + bias, 255 * scale + bias) == pytest.approx((lo, hi))
    assert o["border_mode"] == 1  # BORDER_ZERO: the pad is black (PAD_VALUE 0) before normalisation
    assert ref.PAD_VALUE == 0.0


def test_anchor_options(options):
    o = options["SsdAnchorsCalculator"]
    a = ref.ANCHOR_OPTIONS
    assert o["input_size_width"] == o["input_size_height"] == a.input_size
    assert (o["min_scale"], o["max_scale"]) == (a.min_scale, a.max_scale)
    assert (o["anchor_offset_x"], o["anchor_offset_y"]) == (a.anchor_offset_x, a.anchor_offset_y)
    assert o["num_layers"] == len(a.strides) and o["strides"] == list(a.strides)
    assert o["aspect_ratios"] == list(a.aspect_ratios) and o["fixed_anchor_size"] is a.fixed_anchor_size
    assert "interpolated_scale_aspect_ratio" not in o and a.interpolated_scale_aspect_ratio == 1.0  # proto default


def test_decoding_options(options):
    o = options["TensorsToDetectionsCalculator"]
    d = ref.DECODE_OPTIONS
    assert (o["num_boxes"], o["num_coords"], o["num_classes"]) == (d.num_boxes, d.num_coords, 1)
    assert (o["box_coord_offset"], o["keypoint_coord_offset"], o["num_keypoints"]) == (
        d.box_coord_offset, d.keypoint_coord_offset, d.num_keypoints)
    assert o["reverse_output_order"] is True and o["sigmoid_score"] is True  # x before y; sigmoid scores
    assert {o["x_scale"], o["y_scale"], o["w_scale"], o["h_scale"]} == {d.scale}
    assert o["score_clipping_thresh"] == d.score_clipping_thresh and o["min_score_thresh"] == d.min_score_thresh
    assert "apply_exponential_on_box_size" not in o  # sizes are linear


def test_nms_and_roi_options(options):
    o = options["NonMaxSuppressionCalculator"]
    assert o["algorithm"] == 1 and o["overlap_type"] == 3  # WEIGHTED, INTERSECTION_OVER_UNION
    assert math.isclose(o["min_suppression_threshold"], ref.NMS_OPTIONS.min_suppression_threshold, rel_tol=1e-7)
    a = options["AlignmentPointsRectsCalculator"]
    r = ref.ROI_OPTIONS
    assert (a["rotation_vector_start_keypoint_index"], a["rotation_vector_end_keypoint_index"]) == (
        r.center_keypoint, r.scale_keypoint)
    assert a["rotation_vector_target_angle_degrees"] == r.target_angle_deg
    t = options["RectTransformationCalculator"]
    assert t["scale_x"] == t["scale_y"] == r.scale and t["square_long"] is True
