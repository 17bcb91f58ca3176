"""The frame pipeline's reference: smoothing, several people, tracking, and the sequence fixture."""

import json
from pathlib import Path

import numpy as np
import pytest

from model.pipeline.crop import Crop
from model.pipeline.smoothing import OneEuroFilter
from model.pipeline.tracker import Detection, FramePipeline, PipelineConfig, blend_crops, iou
from model.tools.sequence_fixtures import DEFAULT_OUT, build

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "sequence_golden.json"


def test_one_euro_passes_the_first_sample_and_smooths_jitter_more_at_rest():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    assert np.array_equal(f.filter(np.array([1.0, 2.0]), 0.0), [1.0, 2.0])
    rng = np.random.default_rng(0)
    out = [f.filter(np.array([5.0]) + rng.normal(0, 1, 1), t / 30) for t in range(1, 200)]
    assert np.std(out[50:]) < 0.5  # the raw jitter has std 1
    assert np.array_equal(f.filter(np.array([9.0]), 0.0), [9.0])  # time going back: a new history
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0)


def test_iou_and_crop_blending():
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 0, 10], [0, 0, 10, 10]) == 0.0
    a, b = Crop(0, 0, 1.0), Crop(10, 20, 2.0)
    half = blend_crops(a, b, 0.5, 48, 64)
    assert half.scale == pytest.approx(1.5)
    # centres blend: a's centre (24, 32), b's (58, 84)
    assert half.x0 + 1.5 * 24 == pytest.approx(41) and half.y0 + 1.5 * 32 == pytest.approx(58)
    assert blend_crops(a, b, 1.0, 48, 64) == b


def test_the_committed_sequence_fixture_is_what_the_reference_does_today():
    assert DEFAULT_OUT == FIXTURE
    assert json.loads(FIXTURE.read_text()) == json.loads(json.dumps(build(), separators=(",", ":")))


def test_people_get_stable_ids_are_lost_behind_the_occluder_and_come_back_as_new_tracks():
    frames = json.loads(FIXTURE.read_text())["frames"]
    ids = [[p["id"] for p in f["expected"]["people"]] for f in frames]
    assert ids[0] == [1] and ids[15] == [1, 2] and ids[30] == [2] and ids[39] == [2, 3]
    lost_at = [i for i, f in enumerate(frames) if 1 in f["expected"]["lost"]]
    assert lost_at == [24]  # A behind the occluder
    assert not frames[24]["expected"]["detected"] and frames[25]["expected"]["detected"]  # re-detection next
    # between detections the crops come from tracking: every crop requested is the previous frame's next crop
    assert sum(f["expected"]["detected"] for f in frames) < len(frames) / 3


def test_tracking_follows_a_person_without_the_detector():
    cfg = PipelineConfig(in_w=48, in_h=64, max_people=1, detect_every=1000)
    pts = np.stack(np.meshgrid(np.linspace(-30, 30, 4), np.linspace(-75, 75, 6)), -1).reshape(-1, 2)
    calls = {"detect": 0}

    def detect(_):
        calls["detect"] += 1
        return [Detection([70, 25, 130, 175], 0.9)]

    def infer(frame, crops):
        centre = np.array([100 + 4 * frame[0, 0, 0], 100])  # the person moves 4 px a frame
        out = []
        for c in crops:
            v = np.c_[(pts + centre - [c.x0, c.y0]) / c.scale, np.zeros(len(pts))]
            out.append({"vertices": v, "visibility": np.full(len(pts), 0.9)})
        return out

    pipe = FramePipeline(cfg, detect, infer)
    for f in range(30):
        frame = np.full((360, 640, 3), float(f), np.float32)
        res = pipe.process(frame, f / 30)
    assert calls["detect"] == 1 and [p.id for p in res.people] == [1]
    centre = (res.people[0].box[0] + res.people[0].box[2]) / 2
    assert abs(centre - (100 + 4 * 29)) < 10  # followed 116 px of motion on tracking alone


def test_the_committed_sampler_fixture_is_what_sample_crop_does_today():
    from model.tools.sampler_fixture import OUT, build

    assert json.loads(json.dumps(build())) == json.loads(OUT.read_text())  # both apps' samplers are held to it
