"""`python -m model.tools.detect IMAGE...` (make detect): people in photos with the PyTorch detector.

Per image: the people found (score, person box, face box in frame pixels), and an overlay PNG in
artifacts/detect/ (person box green, face box red, the 4 keypoints blue). The reference pipeline
(model/pipeline/detector.py) does everything around the network, as the apps will.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from model.cli import read_image, run_main
from model.pipeline import detector as ref

OUT_DIR = Path("artifacts/detect")


def detect_image(model, image: np.ndarray, max_people: int = ref.DEFAULT_MAX_PEOPLE) -> list[ref.Person]:
    """People in an (H, W, 3) RGB image, highest score first."""
    from model.tools.detector_fixtures import run_detector

    regressors, logits, lb = run_detector(model, image)
    return ref.detect_people(regressors, logits, lb, max_people=max_people)


def person_detector(max_people: int = ref.DEFAULT_MAX_PEOPLE):
    """detect(frame) -> [tracker Detection] with the PyTorch detector, or None when `make detector` has not
    fetched its weights (callers then say that they fall back to the whole frame)."""
    from model.checkpoint import CheckpointError
    from model.detector.build import build_detector
    from model.pipeline.tracker import Detection

    try:
        model = build_detector()
    except CheckpointError:
        return None

    def detect(frame: np.ndarray) -> list[Detection]:
        rgb = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        return [Detection(list(p.person_box), float(p.score)) for p in detect_image(model, rgb, max_people)]

    return detect


def draw(image: Image.Image, people: list[ref.Person]) -> Image.Image:
    """The image with every person's boxes and keypoints drawn."""
    out = image.copy()
    pen = ImageDraw.Draw(out)
    width = max(2, round(max(out.size) / 400))
    for p in people:
        pen.rectangle(p.person_box, outline=(0, 255, 0), width=width)
        pen.rectangle(p.face_box, outline=(255, 0, 0), width=width)
        for x, y in p.keypoints:
            pen.ellipse([x - 2 * width, y - 2 * width, x + 2 * width, y + 2 * width], fill=(0, 0, 255))
    return out


def main(argv: list[str] | None = None) -> int:
    """Detect, print, draw."""
    from model.checkpoint import CheckpointError
    from model.detector.build import build_detector

    parser = argparse.ArgumentParser(prog="python -m model.tools.detect", description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--max-people", type=int, default=ref.DEFAULT_MAX_PEOPLE)
    parser.add_argument("--out-dir", default=str(OUT_DIR))
    args = parser.parse_args(argv)
    try:
        model = build_detector()
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in args.images:
        image = Image.fromarray(read_image(path))
        people = detect_image(model, np.asarray(image), args.max_people)
        print(f"{path} ({image.width}x{image.height}): {len(people)} people")
        for p in people:
            box = ", ".join(f"{v:.0f}" for v in p.person_box)
            face = ", ".join(f"{v:.0f}" for v in p.face_box)
            print(f"  score {p.score:.3f}  person box [{box}]  face box [{face}]")
        draw(image, people).save(out_dir / f"{Path(path).stem}_people.png")
    print(f"overlays in {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
