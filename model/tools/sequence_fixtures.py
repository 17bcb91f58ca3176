"""`python -m model.tools.sequence_fixtures`: the frame pipeline's golden sequence for the Swift and Kotlin ports.

A short synthetic scene, 40 frames of 640x360 at 30 fps: person A walks right from the start,
person B walks in from beyond the right edge at frame 6, and A passes behind an occluder (frames
24-34), is lost, and comes back as a new track. People are 24-point stand-ins (the pipeline does
not care what the vertices are), so the fixture stays small. A scripted detector returns each
person whose visible share is at least 0.3, and a scripted model returns, for each crop, the
nearest person's points in crop pixels about the crop centre (as contract v3 graphs emit them, with
the config's origin_px) with fixed noise. model/pipeline/tracker.py runs the scene;
the fixture holds, frame by frame, what the detector and the model returned and what the pipeline
did: whether it detected, the crops it asked for, and each person's id, box, score and smoothed
vertices and joints. A port replays the recorded detector and model outputs and must reproduce
the rest to 1e-4 px.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from model.cli import run_main
from model.pipeline.crop import Crop, frame_to_crop
from model.pipeline.tracker import Detection, FramePipeline, PipelineConfig

FRAME_W, FRAME_H, FPS, FRAMES = 640, 360, 30.0, 40
OCCLUDER = (270.0, 330.0)  # x range hiding person A between frames 24 and 34
OCCLUDED_FRAMES = range(24, 35)
CONFIG = PipelineConfig(in_w=48, in_h=64, box_scale=1.25, max_people=2, detect_every=5, origin_px=(24.0, 32.0, 0.0))
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sequence_golden.json"


def body_points() -> np.ndarray:
    """(24, 3) stand-in body around its centre: a 4 x 6 grid 60 x 150 px, a little depth."""
    xs, ys = np.meshgrid(np.linspace(-30, 30, 4), np.linspace(-75, 75, 6))
    z = 5.0 * np.sin(xs / 20.0) * np.cos(ys / 40.0)
    return np.stack([xs.ravel(), ys.ravel(), z.ravel()], axis=1)


def scene(frame: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each person's (24, 3) points in frame pixels and (24,) visibility at `frame`."""
    out = {}
    centres = {"A": (150.0 + 5.0 * frame, 190.0)}
    if frame >= 6:
        centres["B"] = (max(430.0, 700.0 - 14.0 * (frame - 6)), 200.0)
    for name, (cx, cy) in centres.items():
        pts = body_points() + np.array([cx, cy, 0.0])
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < FRAME_W) & (pts[:, 1] >= 0) & (pts[:, 1] < FRAME_H)
        hidden = np.zeros(len(pts), bool)
        if name == "A" and frame in OCCLUDED_FRAMES:
            hidden = (pts[:, 0] >= OCCLUDER[0] - 30) & (pts[:, 0] <= OCCLUDER[1] + 30)
        out[name] = (pts, inside & ~hidden)
    return out


def scripted_detector(frame: int, rng: np.random.Generator) -> list[Detection]:
    """People with at least 30% of their points visible: padded visible bounds, score from that share."""
    found = []
    for pts, vis in scene(frame).values():
        share = vis.mean()
        if share < 0.3:
            continue
        p = pts[vis]
        box = [p[:, 0].min() - 5, p[:, 1].min() - 5, p[:, 0].max() + 5, p[:, 1].max() + 5]
        box = [float(np.round(v + rng.uniform(-1, 1), 3)) for v in box]
        found.append(Detection(box, float(np.round(0.5 + 0.5 * share, 4))))
    return sorted(found, key=lambda d: -d.score)


def scripted_model(frame: int, crop: Crop, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The person nearest the crop's centre, in crop pixels about that centre, noisy; visibility 0.9 or 0.1."""
    cx, cy = crop.x0 + crop.scale * CONFIG.in_w / 2, crop.y0 + crop.scale * CONFIG.in_h / 2
    people = scene(frame)
    pts, vis = min(people.values(), key=lambda pv: np.hypot(*(pv[0][:, :2].mean(0) - [cx, cy])))
    noisy = pts + rng.normal(0, 0.5, pts.shape)
    joints = np.stack([noisy[:4].mean(0), noisy[-4:].mean(0)])
    origin = np.asarray(CONFIG.origin_px)
    return {
        "vertices": np.round(frame_to_crop(noisy, crop) - origin, 5),
        "visibility": np.round(np.where(vis, 0.9, 0.1) + rng.uniform(-0.05, 0.05, len(vis)), 5),
        "joints": np.round(frame_to_crop(joints, crop) - origin, 5),
    }


def build() -> dict:
    """Run the scene through the pipeline and record it."""
    rng = np.random.default_rng(7)
    frames = []
    state = {"frame": 0, "raw": []}

    def detect(_image):
        return state["detections"]

    def infer(_image, crops):
        raws = [scripted_model(state["frame"], c, rng) for c in crops]
        state["raw"] = raws
        return raws

    pipeline = FramePipeline(CONFIG, detect, infer)
    blank = np.zeros((FRAME_H, FRAME_W, 3), np.float32)
    for f in range(FRAMES):
        state.update(frame=f, raw=[], detections=scripted_detector(f, rng))
        t = f / FPS
        result = pipeline.process(blank, t)
        frames.append({
            "t": t,
            "detections": [asdict(d) for d in state["detections"]],
            "raw": [{k: v.tolist() for k, v in r.items()} for r in state["raw"]],
            "expected": {
                "detected": result.detected,
                "crops": [c.to_dict() for c in result.crops],
                "lost": result.lost,
                "people": [{"id": p.id, "box": p.box, "score": p.score, "detection_box": p.detection_box,
                            "crop": p.crop.to_dict(),
                            "vertices": p.mesh.vertices.tolist(), "joints": p.mesh.joints.tolist(),
                            "visible": p.mesh.visible.tolist()} for p in result.people],
            },
        })
    return {"fixture_version": 2, "description": __doc__.splitlines()[0],
            "frame": {"width": FRAME_W, "height": FRAME_H}, "config": asdict(CONFIG), "frames": frames}


def main(argv: list[str] | None = None) -> int:
    """Write the fixture (default tests/fixtures/sequence_golden.json)."""
    p = argparse.ArgumentParser(prog="python -m model.tools.sequence_fixtures", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    data = build()
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    ids = sorted({p["id"] for f in data["frames"] for p in f["expected"]["people"]})
    print(f"wrote {args.out}: {len(data['frames'])} frames, track ids {ids}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
