"""`python -m model.tools.detector_fixtures` (make detector-fixtures): golden fixtures for the detector ports.

tests/fixtures/detector_golden.json holds, for a few frames (portrait and landscape, two people,
nobody), the detector's raw outputs and what model/pipeline/detector.py makes of them (letterbox,
candidates, people with face box, keypoints, person box and MediaPipe's ROI, in frame pixels),
plus the anchors and a probe of the letterbox sampling. A Swift or Kotlin port checks its
post-processing against it to 1e-4 px without running any model.

Raw outputs are the PyTorch port's (parity with the .tflite: model/detector/README.md), rounded
to float32's shortest decimal; the expected values are computed from those rounded numbers, so a
port that parses the JSON into doubles reproduces them exactly. Regressor rows are stored only for
anchors whose score logit is >= RAW_LOGIT_FLOOR (sigmoid 0.047, far below the 0.5 threshold);
a port fills the other rows with zeros, which no step reads.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.atomic import atomic_path
from model.cli import run_main
from model.detector.frames import fixture_frames
from model.pipeline import detector as ref

REPO = Path(__file__).resolve().parents[2]
FIXTURE_PATH = REPO / "tests" / "fixtures" / "detector_golden.json"
FIXTURE_VERSION = 1
RAW_LOGIT_FLOOR = -3.0
# (case name, frame name, max_people): the two-people frame is also decoded with a cap of one.
CASES = (
    ("portrait_photo_512x600", "portrait_photo_512x600", ref.DEFAULT_MAX_PEOPLE),
    ("landscape_two_people_1600x720", "landscape_two_people_1600x720", ref.DEFAULT_MAX_PEOPLE),
    ("landscape_two_people_1600x720_max1", "landscape_two_people_1600x720", 1),
    ("portrait_render_720x1280", "portrait_render_720x1280", ref.DEFAULT_MAX_PEOPLE),
    ("landscape_empty_640x480", "landscape_empty_640x480", ref.DEFAULT_MAX_PEOPLE),
)
PROBE_SIZE = (64, 48)  # (width, height) of the synthetic frame of the sampling probe
PROBE_PIXELS = ((0, 0), (0, 60), (5, 100), (111, 111), (112, 150), (200, 170), (223, 223), (37, 53))


def probe_frame(width: int = PROBE_SIZE[0], height: int = PROBE_SIZE[1]) -> np.ndarray:
    """The probe frame, from a formula a port can rebuild: RGB = ((7x + 3y) mod 256, (x y) mod 256, 255 - 3x)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(7 * x + 3 * y) % 256, (x * y) % 256, 255 - 3 * x], axis=-1).astype(np.uint8)


def _f32(values: np.ndarray) -> list:
    """float32 values as the shortest decimals that round-trip (what the JSON stores and ports parse)."""
    return [float(str(np.float32(v))) for v in np.asarray(values, np.float32).ravel()]


def run_detector(model, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, ref.Letterbox]:
    """Raw (2254, 12) regressors and (2254,) logits of `model` (a DetectorDeploy) on a frame, and its letterbox."""
    x, lb = ref.letterbox_image(frame)
    with torch.no_grad():
        reg, logits = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))
    return reg[0].double().numpy(), logits[0, :, 0].double().numpy(), lb


def case_payload(name: str, regressors: np.ndarray, logits: np.ndarray, lb: ref.Letterbox, max_people: int
                 ) -> dict[str, Any]:
    """One case: stored raw outputs and the reference's results computed from exactly those numbers."""
    logits_json = _f32(logits)
    keep = [i for i, v in enumerate(logits_json) if v >= RAW_LOGIT_FLOOR]
    rows = {str(i): _f32(regressors[i]) for i in keep}
    full = np.zeros((len(logits_json), ref.DECODE_OPTIONS.num_coords))
    for k, row in rows.items():
        full[int(k)] = row
    anchors = ref.generate_anchors()
    boxes, _ = ref.decode(full, anchors)
    cands = ref.candidates(boxes, ref.scores(np.array(logits_json)))
    people = ref.detect_people(full, np.array(logits_json), lb, max_people=max_people)
    return {
        "name": name,
        "frame": {"width": lb.frame_width, "height": lb.frame_height},
        "max_people": max_people,
        "threshold": ref.DECODE_OPTIONS.min_score_thresh,
        "letterbox": lb.to_dict(),
        "raw": {"score_logits": logits_json, "regressors": rows},
        "decoded": {"candidates": [int(i) for i in cands], "people": [p.to_dict() for p in people]},
    }


def build_fixtures(model) -> dict[str, Any]:
    """The whole fixture file for a DetectorDeploy with normalisation in the graph."""
    frames = dict(fixture_frames())
    raw = {name: run_detector(model, frame) for name, frame in frames.items()}
    probe = probe_frame()
    probe_input, probe_lb = ref.letterbox_image(probe)
    weights = model.weights or {}
    return {
        "fixture_version": FIXTURE_VERSION,
        "description": "BlazePose person detector post-processing (model/pipeline/detector.py); see "
                       "model/tools/detector_fixtures.py for how to use it",
        "weights": {"sha256": weights.get("sha256"), "source": weights.get("source"),
                    "source_sha256": weights.get("source_sha256")},
        "raw_logit_floor": RAW_LOGIT_FLOOR,
        "constants": {
            "input_size": ref.INPUT_SIZE, "normalization": list(ref.NORMALIZATION), "pad_value": ref.PAD_VALUE,
            "anchors": asdict(ref.ANCHOR_OPTIONS), "decoding": asdict(ref.DECODE_OPTIONS),
            "nms": asdict(ref.NMS_OPTIONS), "roi": asdict(ref.ROI_OPTIONS), "keypoints": list(ref.KEYPOINT_NAMES),
            "default_max_people": ref.DEFAULT_MAX_PEOPLE,
        },
        "anchors": ref.generate_anchors()[:, :2].tolist(),
        "sampling_probe": {
            "frame": {"width": PROBE_SIZE[0], "height": PROBE_SIZE[1],
                      "rgb": "((7x + 3y) mod 256, (x y) mod 256, 255 - 3x) for pixel column x, row y"},
            "letterbox": probe_lb.to_dict(),
            "pixels": [{"u": u, "v": v, "rgb": probe_input[v, u].astype(np.float64).tolist()} for u, v in PROBE_PIXELS],
        },
        "cases": [case_payload(name, *raw[frame], max_people) for name, frame, max_people in CASES],
    }


def main(argv: list[str] | None = None) -> int:
    """Write the fixture file."""
    from model.detector.build import build_detector

    parser = argparse.ArgumentParser(prog="python -m model.tools.detector_fixtures",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(FIXTURE_PATH))
    args = parser.parse_args(argv)
    payload = build_fixtures(build_detector())
    with atomic_path(args.out) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, separators=(",", ":"))
        f.write("\n")
    counts = {c["name"]: len(c["decoded"]["people"]) for c in payload["cases"]}
    print(f"wrote {args.out}: people per case {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
