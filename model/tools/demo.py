"""`python -m model.tools.demo` (make demo): every person's mesh drawn over an image or a video.

The frame pipeline of the apps runs as its Python reference (model/pipeline/tracker.py): the person
detector finds up to `--max-people` people (model/tools/detect.py; without `make detector`'s weights,
or with `--box`, the whole image or the given box is the one person, and the console says so), each
is cropped by the variant's crop convention, the network predicts its low-poly mesh, the template's
upsampler lifts it to the full mesh, and the numpy rasteriser draws it shaded.

- IMAGE: one PNG, input | overlay | side view (every person turned 90 degrees about the vertical axis).
- VIDEO: an MP4 of the overlays with tracked, smoothed meshes and a per-frame timing line.
Beside it, demo.json: per person (per frame for a video) the detector box [x0, y0, x1, y1] and score
in frame pixels, the track id, the COCO-17 joints and the low-poly vertices in frame pixels and their
visibility. Outputs are written whole or not at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model.atomic import atomic_path
from model.cli import read_image, remove_outputs, run_main
from model.data.raster import rasterize
from model.pipeline.crop import sample_crop
from model.pipeline.decode import MIN_VISIBLE_FRACTION, VISIBILITY_THRESHOLD
from model.pipeline.tracker import Detection, FramePipeline, PipelineConfig
from model.registry import get_variant

DEFAULT_TEST_IMAGE = Path("data/synthetic/test/images/000000.png")
MESH_RGB = np.array([110.0, 190.0, 255.0])


def default_image() -> tuple[np.ndarray, str]:
    """The first synthetic test render if `make data` ran, else a render of the template body."""
    if DEFAULT_TEST_IMAGE.is_file():
        return np.asarray(Image.open(DEFAULT_TEST_IMAGE).convert("RGB"), np.float32), str(DEFAULT_TEST_IMAGE)
    from model.data.synthetic import render_template_body

    return render_template_body(256, 192, seed=1000), "a render of the template body (seed 1000)"


def shade(vertices: np.ndarray, faces: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) Lambert-shaded render (light from the camera) and its (H, W) coverage."""
    r = rasterize(vertices[:, :2], vertices[:, 2], faces, height, width)
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    lambert = 0.25 + 0.75 * np.abs(normal[:, 2])  # both windings: the side view mirrors one axis
    shaded = np.zeros((height, width, 3))
    shaded[r.mask] = lambert[r.face_id[r.mask], None] * MESH_RGB
    return shaded, r.mask


def side_view(vertices: np.ndarray, height: int, width: int) -> np.ndarray:
    """The mesh turned 90 degrees about the image's vertical axis, fitted into (height, width)."""
    centre = vertices.mean(axis=0)
    turned = np.stack([vertices[:, 2] - centre[2], vertices[:, 1] - centre[1], centre[0] - vertices[:, 0]], 1)
    span = np.ptp(turned[:, :2], axis=0).max() + 1e-9
    scale = 0.9 * min(height, width) / span
    turned[:, :2] = turned[:, :2] * scale + np.array([width / 2.0, height / 2.0])
    turned[:, 2] *= scale
    return turned


def full_mesh(template, low: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The mesh to draw: the full mesh through the upsampler with its faces, or the low-poly points."""
    try:
        return template.upsample(low), (None if template.full_faces is None else np.asarray(template.full_faces))
    except ValueError:  # a deploy template without an upsampler: draw what there is
        return low, None


def draw_people(image: np.ndarray, meshes: list[tuple[np.ndarray, np.ndarray | None]], side: bool,
                alpha: float = 0.65) -> np.ndarray:
    """The image with every mesh shaded over it (points where a mesh has no faces), and optionally the
    side view of them all: (H, W, 3) or (H, 3W, 3) uint8."""
    h, w = image.shape[:2]
    overlay = image.astype(np.float64).copy()
    side_img = np.full((h, w, 3), 40.0)
    for vertices, faces in meshes:
        if faces is None:
            for x, y in np.rint(vertices[:, :2]).astype(int):
                if 0 <= x < w and 0 <= y < h:
                    overlay[max(0, y - 1):y + 2, max(0, x - 1):x + 2] = MESH_RGB
            continue
        front, covered = shade(vertices, faces, h, w)
        overlay[covered] = (1 - alpha) * overlay[covered] + alpha * front[covered]
    if not side:
        return np.clip(overlay, 0, 255).astype(np.uint8)
    drawn = [(v, f) for v, f in meshes if f is not None]
    if drawn:
        sizes = np.cumsum([0] + [len(v) for v, _ in drawn])
        vertices = np.concatenate([v for v, _ in drawn])
        faces = np.concatenate([f + off for (_, f), off in zip(drawn, sizes)])
        shaded, covered = shade(side_view(vertices, h, w), faces, h, w)
        side_img[covered] = shaded[covered]
    return np.clip(np.concatenate([image, overlay, side_img], axis=1), 0, 255).astype(np.uint8)


def compose(image: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """input | overlay | side view of one mesh, as one (H, 3W, 3) uint8 image."""
    return draw_people(image, [(vertices, faces)], side=True)


class MeshRunner:
    """The network of a variant as the pipeline's infer callback, timing its calls."""

    def __init__(self, variant: str, ckpt: Path | None) -> None:
        from model.build import build_deploy_model

        self.spec = get_variant(variant)
        ckpt = ckpt or self.spec.checkpoint
        if ckpt is None or not Path(ckpt).is_file():
            raise FileNotFoundError(f"no checkpoint for {variant} ({ckpt}); pass CKPT=... (`make import-paper` "
                                    "writes the paper's)")
        self.model = build_deploy_model(variant, str(ckpt))
        self.template = self.model.template
        self.model_ms = 0.0

    def __call__(self, frame: np.ndarray, crops) -> list[dict[str, np.ndarray]]:
        h, w = self.spec.input_hw
        batch = np.stack([sample_crop(frame, c, w, h, pad=self.spec.crop.pad_rgb).transpose(2, 0, 1) for c in crops])
        t0 = time.perf_counter()
        with torch.no_grad():
            outs = self.model(torch.from_numpy(batch))
        self.model_ms = (time.perf_counter() - t0) * 1e3
        named = dict(zip(self.model.output_names, outs))
        return [{k: v[i].double().numpy() for k, v in named.items()} for i in range(len(crops))]


def make_pipeline(runner: MeshRunner, max_people: int, box: list[float] | None, frame_hw: tuple[int, int]):
    """The frame pipeline with the detector (or the given box, or the whole frame) and the runner."""
    from model.tools.detect import person_detector

    h, w = runner.spec.input_hw
    cfg = PipelineConfig(in_w=w, in_h=h, box_scale=runner.spec.crop.box_scale, max_people=max_people,
                         origin_px=runner.model.origin_px)
    if box is not None:
        return FramePipeline(cfg, lambda frame: [Detection(box, 1.0)], runner), "the given box"
    detect = person_detector(max_people)
    if detect is None:
        fh, fw = frame_hw
        print("note: no person detector (run `make detector` to fetch it): the whole frame is the one person",
              file=sys.stderr)
        return FramePipeline(cfg, lambda frame: [Detection([0.0, 0.0, float(fw), float(fh)], 1.0)], runner), \
            "the whole frame (no detector)"
    return FramePipeline(cfg, detect, runner), "the person detector"


def person_record(person, visibility_threshold: float = VISIBILITY_THRESHOLD) -> dict:
    """demo.json entry of one person."""
    mesh = person.mesh
    return {"track_id": person.id, "box": [float(v) for v in person.detection_box], "score": person.score,
            "mesh_box": [float(v) for v in person.box], "joints": mesh.joints.tolist(),
            "vertices": mesh.vertices.tolist(), "visible": mesh.visible.tolist()}


def demo_image(image: np.ndarray, source: str, runner: MeshRunner, max_people: int, box, out: Path,
               json_out: Path) -> str:
    """One image: detect, mesh every person, draw; returns the summary line."""
    pipeline, boxes_from = make_pipeline(runner, max_people, box, image.shape[:2])
    result = pipeline.process(image, 0.0)
    meshes = [full_mesh(runner.template, p.mesh.vertices) for p in result.people]
    panel = draw_people(image, meshes, side=True)
    with atomic_path(out) as tmp:
        Image.fromarray(panel).save(tmp, format="PNG")
    with atomic_path(json_out) as tmp:
        Path(tmp).write_text(json.dumps({"source": source, "boxes_from": boxes_from,
                                         "people": [person_record(p) for p in result.people],
                                         "dropped": len(result.lost)}) + "\n")
    # A box the network sees nobody in is dropped by the tracker: say so, or an empty overlay looks like a bug.
    dropped = (f" ({len(result.lost)} dropped: the network called under {MIN_VISIBLE_FRACTION:.0%} of the vertices "
               "visible, or it was a duplicate)") if result.lost else ""
    return (f"{source}: {len(result.people)} people from {boxes_from}{dropped}; wrote {out} "
            f"(input | overlay | side view), {json_out}")


def demo_video(path: Path, runner: MeshRunner, max_people: int, out: Path, json_out: Path,
               limit: int | None) -> str:
    """A video: the tracked, smoothed meshes and a timing line on every frame, as an MP4."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames, pipeline, writer, index = [], None, None, 0
    with atomic_path(out, suffix=out.suffix) as tmp:
        try:
            while limit is None or index < limit:
                ok, bgr = cap.read()
                if not ok:
                    break
                frame = bgr[:, :, ::-1].astype(np.float32)
                if pipeline is None:
                    pipeline, boxes_from = make_pipeline(runner, max_people, None, frame.shape[:2])
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                             (frame.shape[1], frame.shape[0]))
                t0 = time.perf_counter()
                result = pipeline.process(frame, index / fps)
                total_ms = (time.perf_counter() - t0) * 1e3
                drawn = draw_people(frame, [full_mesh(runner.template, p.mesh.vertices) for p in result.people],
                                    side=False)
                text = (f"frame {index}: {len(result.people)} people, model {runner.model_ms:.0f} ms, "
                        f"pipeline {total_ms:.0f} ms{' (detected)' if result.detected else ''}")
                cv2.putText(drawn, text, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 0), 2)
                writer.write(np.ascontiguousarray(drawn[:, :, ::-1]))
                frames.append({"frame": index, "t": index / fps, "detected": result.detected,
                               "people": [person_record(p) for p in result.people]})
                index += 1
        finally:
            cap.release()
            if writer is not None:
                writer.release()
        if index == 0:
            raise ValueError(f"{path}: no frame could be decoded")
    with atomic_path(json_out) as tmp:
        Path(tmp).write_text(json.dumps({"source": str(path), "boxes_from": boxes_from, "fps": fps,
                                         "frames": frames}) + "\n")
    ids = sorted({p["track_id"] for f in frames for p in f["people"]})
    return f"{path}: {index} frames, track ids {ids} ({boxes_from}); wrote {out}, {json_out}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m model.tools.demo", description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--image", type=Path, default=None, help="default: " + str(DEFAULT_TEST_IMAGE))
    src.add_argument("--video", type=Path, default=None, help="a video file (MP4 out)")
    p.add_argument("--box", default=None, help="image: one person box x0,y0,x1,y1 (default: the detector)")
    p.add_argument("--max-people", type=int, default=2)
    p.add_argument("--frames", type=int, default=None, help="video: at most this many frames")
    p.add_argument("--variant", default="xs")
    p.add_argument("--ckpt", type=Path, default=None, help="default: the shipped checkpoint of the variant")
    p.add_argument("--out", type=Path, default=None, help="default: artifacts/demo/demo.png (.mp4 for a video)")
    p.add_argument("--json", type=Path, default=Path("artifacts/demo/demo.json"))
    p.add_argument("--fit", action="store_true", help="downscale an image over 4096 px a side instead of refusing it")
    args = p.parse_args(argv)
    out = args.out or Path("artifacts/demo/demo.mp4" if args.video is not None else "artifacts/demo/demo.png")
    # A failed run must not leave the previous run's picture behind as if it were this one's.
    remove_outputs(out, args.json)
    if args.max_people < 1:
        raise ValueError("--max-people must be at least 1")
    box = [float(v) for v in args.box.split(",")] if args.box else None
    if box is not None and (len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]):
        raise ValueError(f"--box needs x0,y0,x1,y1 with x1 > x0 and y1 > y0, got {args.box!r}")
    if args.video is not None and not args.video.is_file():
        raise FileNotFoundError(f"video {args.video} not found")
    image, source = (None, None) if args.video is not None else (
        (read_image(args.image, fit=args.fit).astype(np.float32), str(args.image)) if args.image else default_image())
    if image is not None and args.image is not None and args.fit:
        with Image.open(args.image) as im:
            if im.size != (image.shape[1], image.shape[0]):
                print(f"{args.image}: {im.size[0]}x{im.size[1]} downscaled to {image.shape[1]}x{image.shape[0]}; "
                      f"demo.json is in the downscaled image's pixels")
    runner = MeshRunner(args.variant, args.ckpt)
    out.parent.mkdir(parents=True, exist_ok=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if args.video is not None:
        line = demo_video(args.video, runner, args.max_people, out, args.json, args.frames)
    else:
        line = demo_image(image, source, runner, args.max_people, box, out, args.json)
    print(line)
    if not runner.spec.license.commercial_use:
        print(f"LICENCE: {runner.spec.license.name}: non-commercial use only")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
