"""DensePose-COCO annotations (dp_x, dp_y, dp_I, dp_U, dp_V, dp_masks) on the low-poly template.

`load_densepose_coco(path, template)` reads a DensePose-COCO JSON file and returns one record per
usable person annotation: the points in image pixels, their template face and barycentrics
(located through the template's UV charts, model.data.charts), and the foreground mask over the
bbox decoded from the 14 dp_masks RLEs. Annotations without DensePose points are skipped;
malformed ones (wrong lengths, labels outside 1..24, U/V outside [0, 1], bad bbox, undecodable
masks) are counted per reason and skipped. The summary says how many of each.

Coordinates follow docs/DESIGN.md §6: dp_x, dp_y in [0, 255] over the bbox normalised to 256x256,
image x = x0 + dp_x * w / 256.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.cli import read_json, run_main
from model.data.charts import ChartLocator

DP_MASK_SIZE = 256
NUM_DP_MASKS = 14


@dataclass
class DensePoseRecord:
    """One person: image id, bbox (x, y, w, h), points and their template surface location."""

    annotation_id: int
    image_id: int
    bbox: tuple[float, float, float, float]
    points: np.ndarray  # (N, 2) image pixels
    part: np.ndarray  # (N,) int64, 1..24
    uv: np.ndarray  # (N, 2) float64
    face: np.ndarray  # (N,) int64 index into template.faces
    bary: np.ndarray  # (N, 3) float64
    snapped: np.ndarray  # (N,) bool: (U, V) fell outside the part's chart and was moved onto it
    mask: np.ndarray | None  # (256, 256) bool over the bbox, None when the annotation has no dp_masks


@dataclass
class LoadSummary:
    """Counts of what was read, used and skipped (by reason)."""

    annotations: int = 0
    used: int = 0
    points: int = 0
    snapped_points: int = 0
    skipped: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (f"{self.annotations} annotations, {self.used} used ({self.points} points, "
                f"{self.snapped_points} snapped onto a chart); skipped: {reasons}")


class MalformedAnnotation(ValueError):
    """An annotation that cannot be used; the message is the skip reason."""


def decode_dp_masks(dp_masks: list) -> np.ndarray:
    """Union of the 14 part masks (RLE dicts or empty entries) as a (256, 256) bool array."""
    from pycocotools import mask as mask_utils

    if not isinstance(dp_masks, list) or len(dp_masks) != NUM_DP_MASKS:
        raise MalformedAnnotation("dp_masks_not_14")
    out = np.zeros((DP_MASK_SIZE, DP_MASK_SIZE), bool)
    for rle in dp_masks:
        if not rle:
            continue
        if not isinstance(rle, dict) or "counts" not in rle or list(rle.get("size", [])) != [DP_MASK_SIZE] * 2:
            raise MalformedAnnotation("dp_mask_bad_rle")
        counts = rle["counts"].encode() if isinstance(rle["counts"], str) else rle["counts"]
        try:
            m = mask_utils.decode({"size": rle["size"], "counts": counts})
        except (TypeError, ValueError) as err:
            raise MalformedAnnotation("dp_mask_bad_rle") from err
        out |= m.astype(bool)
    return out


def _parse(ann: dict, locator: ChartLocator) -> DensePoseRecord:
    """One annotation -> record, or MalformedAnnotation with the reason."""
    keys = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V")
    try:
        x, y, part, u, v = (np.asarray(ann[k], np.float64).reshape(-1) for k in keys)
    except (TypeError, ValueError) as err:
        raise MalformedAnnotation("non_numeric_points") from err
    if len({len(a) for a in (x, y, part, u, v)}) != 1:
        raise MalformedAnnotation("length_mismatch")
    if len(x) == 0:
        raise MalformedAnnotation("no_points")
    if not all(np.isfinite(a).all() for a in (x, y, part, u, v)):
        raise MalformedAnnotation("non_finite")
    if (part != np.round(part)).any() or (part < 1).any() or (part > 24).any():
        raise MalformedAnnotation("part_out_of_range")
    if (u < 0).any() or (u > 1).any() or (v < 0).any() or (v > 1).any():
        raise MalformedAnnotation("uv_out_of_range")
    if (x < 0).any() or (x > 255).any() or (y < 0).any() or (y > 255).any():
        raise MalformedAnnotation("xy_out_of_range")
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4 or not np.isfinite(bbox).all() or bbox[2] <= 0 or bbox[3] <= 0:
        raise MalformedAnnotation("bad_bbox")
    x0, y0, w, h = (float(b) for b in bbox)
    mask = decode_dp_masks(ann["dp_masks"]) if "dp_masks" in ann else None
    part_i = part.astype(np.int64)
    loc = locator.locate(part_i, u, v)
    points = np.stack([x0 + x * w / DP_MASK_SIZE, y0 + y * h / DP_MASK_SIZE], 1)
    return DensePoseRecord(int(ann.get("id", -1)), int(ann.get("image_id", -1)), (x0, y0, w, h), points, part_i,
                           np.stack([u, v], 1), loc.face, loc.bary, loc.snapped, mask)


def load_densepose_coco(path: str | Path, template) -> tuple[list[DensePoseRecord], LoadSummary]:
    """Records of every usable annotation in a DensePose-COCO JSON file, and the load summary."""
    path = Path(path)
    data = read_json(path, "DensePose-COCO file", ("annotations",))
    if not isinstance(data["annotations"], list):
        raise ValueError(f"{path}: no 'annotations' list; not a COCO-style file")
    locator = ChartLocator(template)
    summary = LoadSummary()
    records: list[DensePoseRecord] = []
    for ann in data["annotations"]:
        summary.annotations += 1
        if not isinstance(ann, dict) or "dp_x" not in ann:
            summary.skipped["no_densepose"] += 1
            continue
        try:
            rec = _parse(ann, locator)
        except MalformedAnnotation as err:
            summary.skipped[str(err)] += 1
            continue
        except KeyError as err:
            summary.skipped[f"missing_{err.args[0]}"] += 1
            continue
        records.append(rec)
        summary.used += 1
        summary.points += len(rec.part)
        summary.snapped_points += int(rec.snapped.sum())
    return records, summary


def main(argv: list[str] | None = None) -> int:
    """`python -m model.data.densepose_coco FILE.json`: load a file and print the summary."""
    import argparse

    from model.template import load_template

    p = argparse.ArgumentParser(prog="python -m model.data.densepose_coco", description=main.__doc__)
    p.add_argument("path", type=Path)
    args = p.parse_args(argv)
    _, summary = load_densepose_coco(args.path, load_template())
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
