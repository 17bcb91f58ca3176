"""The committed detector fixtures (tests/fixtures/detector_golden.json) reproduce: what the Swift and Kotlin
ports check their post-processing against."""

import json
from pathlib import Path

import numpy as np
import pytest

from model.pipeline import detector as ref
from model.tools.detector_fixtures import CASES, RAW_LOGIT_FLOOR, probe_frame

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "detector_golden.json"


@pytest.fixture(scope="module")
def fixture():
    return json.loads(FIXTURE.read_text())


def _raw(case):
    logits = np.array(case["raw"]["score_logits"])
    reg = np.zeros((logits.size, 12))
    for k, row in case["raw"]["regressors"].items():
        reg[int(k)] = row
    return reg, logits


def _same_letterbox(lb, stored):
    got = lb.to_dict()
    assert set(got) == set(stored)
    for key, value in got.items():
        np.testing.assert_allclose(value, stored[key], atol=1e-12, rtol=0)


def test_cases_cover_orientations_people_and_nobody(fixture):
    cases = fixture["cases"]
    assert [c["name"] for c in cases] == [name for name, _, _ in CASES]
    assert any(c["frame"]["width"] > c["frame"]["height"] for c in cases)
    assert any(c["frame"]["width"] < c["frame"]["height"] for c in cases)
    assert sorted(len(c["decoded"]["people"]) for c in cases) == [0, 1, 1, 1, 2]


def test_constants_and_anchors_match_the_reference(fixture):
    np.testing.assert_array_equal(np.array(fixture["anchors"]), ref.generate_anchors()[:, :2])
    assert fixture["constants"]["decoding"]["min_score_thresh"] == ref.DECODE_OPTIONS.min_score_thresh
    assert fixture["constants"]["anchors"]["strides"] == list(ref.ANCHOR_OPTIONS.strides)


def test_decoding_reproduces_to_1e9(fixture):
    for case in fixture["cases"]:
        reg, logits = _raw(case)
        stored = {int(k) for k in case["raw"]["regressors"]}
        assert stored == {i for i, v in enumerate(logits) if v >= RAW_LOGIT_FLOOR}
        lb = ref.letterbox(case["frame"]["width"], case["frame"]["height"])
        _same_letterbox(lb, case["letterbox"])
        boxes, _ = ref.decode(reg, ref.generate_anchors())
        assert ref.candidates(boxes, ref.scores(logits), case["threshold"]).tolist() == case["decoded"]["candidates"]
        people = ref.detect_people(reg, logits, lb, max_people=case["max_people"], threshold=case["threshold"])
        want = case["decoded"]["people"]
        assert len(people) == len(want), case["name"]
        for got, exp in zip(people, want):
            g = got.to_dict()
            assert g["anchor"] == exp["anchor"] and g["score"] == pytest.approx(exp["score"], abs=1e-12)
            for key in ("person_box", "face_box", "keypoints"):
                np.testing.assert_allclose(g[key], exp[key], atol=1e-9, rtol=0)
            assert g["roi"] == pytest.approx(exp["roi"], abs=1e-9)


def test_sampling_probe_reproduces(fixture):
    probe = fixture["sampling_probe"]
    x, lb = ref.letterbox_image(probe_frame(probe["frame"]["width"], probe["frame"]["height"]))
    _same_letterbox(lb, probe["letterbox"])
    for p in probe["pixels"]:
        np.testing.assert_allclose(x[p["v"], p["u"]], p["rgb"], atol=1e-4)


def test_raw_outputs_are_the_detectors(fixture):
    """The stored raw outputs are the detector's on the fixture frames (needs the converted weights)."""
    from model.detector.build import build_detector
    from model.detector.frames import fixture_frames
    from model.tools.detector_fixtures import run_detector
    from tests.detector_support import detector_files

    _, weights = detector_files()
    model = build_detector(weights)
    frames = dict(fixture_frames())
    for name, frame_name, _ in CASES[1:2]:  # two people, landscape
        case = next(c for c in fixture["cases"] if c["name"] == name)
        reg, logits, lb = run_detector(model, frames[frame_name])
        stored_reg, stored_logits = _raw(case)
        np.testing.assert_allclose(logits, stored_logits, atol=1e-3, rtol=0)  # float32 runs on another CPU
        rows = [int(k) for k in case["raw"]["regressors"]]
        np.testing.assert_allclose(reg[rows], stored_reg[rows], atol=2e-3, rtol=0)
        assert [lb.frame_width, lb.frame_height] == [case["frame"]["width"], case["frame"]["height"]]
