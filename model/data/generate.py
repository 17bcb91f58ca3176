"""`python -m model.data.generate` (make data): synthetic splits in the DensePose-COCO JSON layout.

Each split is deterministic by its seed: sample i of a split draws from
np.random.default_rng([split_seed, i]), whatever the number of worker processes.
Output: <out>/<split>/images/NNNNNN.png, <out>/<split>/annotations.json, <out>/<split>/preview.png.
The annotation of each instance has the DensePose fields (dp_x, dp_y in [0, 256) relative to
the bbox, dp_I, dp_U, dp_V) plus dp_face / dp_bary (low-poly template face and barycentrics),
vertices (V x 3, crop pixels, root-relative depth), vertex_visibility, COCO keypoints and the
RLE mask.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from model.cli import run_main

SPLIT_SEEDS = {"train": 1000, "val": 2000, "test": 3000}
DEFAULT_SIZES = {"train": 24000, "val": 500, "test": 500}
COCO_KEYPOINT_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                          [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]

_WORKER: dict[str, Any] = {}


def _init_worker() -> None:
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from model.data.anny_sampler import AnnySampler
    from model.template import load_template

    sampler = AnnySampler()
    _WORKER["sampler"] = sampler
    _WORKER["template"] = load_template()
    _WORKER["faces"] = _WORKER["template"].full_faces


def _rle(mask: np.ndarray) -> dict[str, Any]:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}


def sample_record(s: dict[str, Any], index: int, file_name: str) -> dict[str, Any]:
    """The image and annotation records (DensePose-COCO layout, extended) of one rendered sample."""
    bx, by, bw, bh = s["bbox"]
    dp = s["dp_xy"]
    kp = s["keypoints"]
    h, w = s["mask"].shape
    ann = {
        "id": index + 1, "image_id": index + 1, "category_id": 1, "iscrowd": 0,
        "bbox": s["bbox"], "area": int(s["mask"].sum()), "segmentation": _rle(s["mask"]),
        "keypoints": [round(float(v), 3) for v in kp.reshape(-1)],
        "num_keypoints": int((kp[:, 2] > 0).sum()),
        "dp_x": ((dp[:, 0] - bx) * 256.0 / max(bw, 1e-6)).round(3).tolist(),
        "dp_y": ((dp[:, 1] - by) * 256.0 / max(bh, 1e-6)).round(3).tolist(),
        "dp_I": s["dp_I"].astype(int).tolist(),
        "dp_U": s["dp_UV"][:, 0].round(5).tolist(),
        "dp_V": s["dp_UV"][:, 1].round(5).tolist(),
        "dp_face": s["dp_face"].astype(int).tolist(),
        "dp_bary": s["dp_bary"].round(5).tolist(),
        "vertices": s["vertices"].round(4).tolist(),
        "vertex_visibility": s["visibility"].astype(int).tolist(),
        "crop_scale_m_per_px": float(s["crop_scale_m_per_px"]),
    }
    return {"image": {"id": index + 1, "file_name": file_name, "width": w, "height": h}, "annotation": ann}


def make_one(args: tuple[str, int, int, str]) -> dict[str, Any]:
    """Render sample `index` of `split` and write its image; returns its image and annotation records."""
    from PIL import Image

    from model.data.synthetic import render_sample

    _split, seed, index, out_dir = args
    rng = np.random.default_rng([seed, index])
    sampler, template = _WORKER["sampler"], _WORKER["template"]
    verts = sampler.mesh(sampler.random_pose(rng, amount=rng.uniform(0.3, 1.0)), sampler.random_phenotype(rng))
    s = render_sample(verts, template, rng, full_faces=_WORKER["faces"])
    name = f"{index:06d}.png"
    Image.fromarray(s["image"]).save(Path(out_dir) / "images" / name)
    return sample_record(s, index, name)


def write_annotations(records: list[dict[str, Any]], out_dir: Path, description: str) -> Path:
    """annotations.json (atomically) and preview.png of a split."""
    from model.template import load_template

    tpl = load_template()
    dataset = {
        "info": {"description": description, "template": tpl.name, "template_version": tpl.version,
                 "template_sha256": tpl.sha256},
        "images": [r["image"] for r in records],
        "annotations": [r["annotation"] for r in records],
        "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": tpl.coco17_names,
                        "skeleton": COCO_KEYPOINT_SKELETON}],
    }
    path = out_dir / "annotations.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dataset))
    os.replace(tmp, path)
    preview_sheet(out_dir, [r["image"]["file_name"] for r in records[:24]])
    return path


def split_description(split: str, seed: int) -> str:
    """The `info.description` of a split's annotations.json (also how a rerun recognises it)."""
    return f"MeshPose synthetic Anny renders, split {split}, seed {seed}"


def existing_records(out_dir: Path, description: str) -> list[dict[str, Any]]:
    """Records of an earlier run of the same split, seed and template whose images are all on disk
    (samples are a function of (seed, index): a larger count only adds samples), else []."""
    from model.template import load_template

    path = out_dir / "annotations.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    if data["info"].get("description") != description or data["info"].get("template_sha256") != load_template().sha256:
        return []
    records = [{"image": im, "annotation": ann} for im, ann in zip(data["images"], data["annotations"], strict=True)]
    if any(r["image"]["id"] != i + 1 or not (out_dir / "images" / r["image"]["file_name"]).is_file()
           for i, r in enumerate(records)):
        return []
    return records


def generate(split: str, count: int, out_root: Path, workers: int = 2) -> Path:
    """Write one split; returns its annotations.json path. Samples an earlier run of the same split
    already rendered are kept, so raising the count renders only the new ones."""
    seed = SPLIT_SEEDS[split]
    out_dir = out_root / split
    description = split_description(split, seed)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    records = existing_records(out_dir, description)[:count]
    if records:
        print(f">> {split}: keeping {len(records)} samples already rendered", file=sys.stderr, flush=True)
    if len(records) == count and (out_dir / "annotations.json").is_file():
        return write_annotations(records, out_dir, description)
    jobs = [(split, seed, i, str(out_dir)) for i in range(len(records), count)]
    t0 = time.perf_counter()
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker) as pool:
        for k, rec in enumerate(pool.imap(make_one, jobs, chunksize=8), 1):
            records.append(rec)
            if k % 200 == 0 or k == len(jobs):
                rate = k / (time.perf_counter() - t0)
                print(f">> {split}: {len(records)}/{count} samples ({rate:.1f}/s)", file=sys.stderr, flush=True)
    return write_annotations(records, out_dir, description)


def preview_sheet(out_dir: Path, names: list[str], cols: int = 8) -> Path:
    """A grid of the first renders, for people to look at."""
    from PIL import Image

    tiles = [np.asarray(Image.open(out_dir / "images" / n)) for n in names]
    if not tiles:
        return out_dir
    rows = [np.concatenate(tiles[i : i + cols] + [np.zeros_like(tiles[0])] * (cols - len(tiles[i : i + cols])),
                           axis=1) for i in range(0, len(tiles), cols)]
    path = out_dir / "preview.png"
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("data/synthetic"))
    p.add_argument("--splits", nargs="*", default=list(DEFAULT_SIZES))
    p.add_argument("--count", type=int, default=None, help="samples per split (default: train 24000, val/test 500)")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    for split in args.splits:
        if split not in SPLIT_SEEDS:
            print(f"error: unknown split {split!r}; choose from {list(SPLIT_SEEDS)}", file=sys.stderr)
            return 2
        path = generate(split, args.count or DEFAULT_SIZES[split], args.out, args.workers)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
