"""`python -m export.select_checkpoint`: a run's kept checkpoints, accuracy and fp16 margin, and which could ship.

A run started with `--keep-every N` leaves `step<N>.safetensors` files beside its last checkpoint. Accuracy
and the fp16 margin move apart along a run (docs/DESIGN.md §8), so picking the last or the most accurate
step is not enough. For each file (and a reference, by default the shipped checkpoint) this tool measures,
in one process so the figures compare:
  - accuracy on a held-out split (`model.eval`'s 2D error, PA-MPJPE, keypoint AP, GPSm AP) and the share
    of spread heatmaps, the smooth measure of the conditioning behind the fp16 and int8 tails;
  - the LiteRT GPU fp16 error against PyTorch fp32 (`export.fp16_margin`'s `gpu` path) on the golden set
    and on renders of that split; with `--paths gpu,gpu-fp32acc,qnn`, the GPU with fp32 accumulation and the
    Snapdragon HTP simulator in fp16 as well.
A file is a candidate when its maximum on every measured path is within the fp16 gate on both input sets
and no accuracy figure is worse than the reference's by more than that figure's measured noise
(ACCURACY_NOISE). Select on a validation split and confirm the chosen file on the test split: the maxima
move between files like draws, so a choice made on one set has to be checked on another.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from export.parity import FP16_MAX_PX
from model.cli import InputError, run_main

# How far each accuracy figure may fall behind the reference's before it counts as worse, from what this
# project measured on its synthetic splits (docs/DESIGN.md §8): 2D px and keypoint AP are three standard
# errors of a difference over 10 folds of 500 test renders (0.009 px and 0.20); PA-MPJPE is the spread of
# 300-step fine-tunes that did not aim at it (61.75-62.2 mm); GPSm AP is how far two fits of the one-layer
# mask head fell apart (1.1 points).
ACCURACY_NOISE = {"visible_vertex_2d_error_px_median": 0.03, "pa_mpjpe_mm": 0.5, "keypoint_AP": 0.6,
                  "GPSm_AP": 1.1}
LOWER_IS_BETTER = {"visible_vertex_2d_error_px_median", "pa_mpjpe_mm"}
COLUMNS = {"visible_vertex_2d_error_px_median": "2D px", "pa_mpjpe_mm": "PA-MPJPE", "keypoint_AP": "kp AP",
           "GPSm_AP": "GPSm AP"}


def run_checkpoints(run: Path) -> list[Path]:
    """A run folder's kept checkpoints in step order, then its last one if that is not among them."""
    if not run.is_dir():
        raise InputError(f"{run} is not a folder: pass a training run's --out folder or checkpoint files")
    kept = sorted(run.glob("step*.safetensors"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    files = list(kept)
    last = run / next((p.name for p in run.glob("meshpose_*.safetensors")), "")
    if last.is_file() and not any(last.read_bytes() == k.read_bytes() for k in kept[-1:]):
        files.append(last)
    if not files:
        raise InputError(f"{run} holds no step<N>.safetensors or meshpose_<variant>.safetensors")
    return files


def measure_accuracy(variant: str, ckpt: Path, split_dir: Path, limit: int | None) -> dict[str, float]:
    """`model.eval`'s headline figures of one checkpoint on one split."""
    from model.build import create_model
    from model.checkpoint import load_checkpoint
    from model.eval.run import evaluate
    from model.template import load_template

    template = load_template()
    net = create_model(variant, template)
    load_checkpoint(net, ckpt, variant=variant, template=template)
    result = evaluate(net.eval(), split_dir, template, None, limit)["model"]
    return {k: float(result[k]) for k in (*ACCURACY_NOISE, "spread_heatmap_share")}


# The fp16 paths a selection can measure (export.fp16_margin's names): the LiteRT GPU (in fp16, or with fp32
# accumulation) and the HTP simulator.
SELECTION_PATHS = ("gpu", "gpu-fp32acc", "qnn")
PATH_LABELS = {"gpu": "GPU", "gpu-fp32acc": "GPU fp32-acc", "qnn": "QNN"}


def measure_margin(variant: str, ckpt: Path, renders: Path, count: int, golden: int | None = None,
                   paths: tuple[str, ...] = ("gpu",)) -> dict[str, dict[str, dict]]:
    """fp16 figures of one checkpoint, per path of `paths` and input set: the golden set (its first `golden`
    cases; all by default) and `count` renders of `renders`."""
    from export.fp16_margin import measure

    sets = measure(variant, str(ckpt), renders, count, paths, golden)["sets"]
    return {path: {name: {k: rows[path][k] for k in ("median_px", "max_px", "worst_input", "inputs_over_gate",
                                                           "rate_over_gate", "rate_ci95")}
                   | {"inputs": rows[path]["inputs"]} for name, rows in sets.items()} for path in paths}


def verdict(row: dict, reference: dict) -> dict:
    """Whether `row` meets the fp16 gate on every measured path and set and holds the reference's accuracy
    within noise."""
    within = all(s["max_px"] <= FP16_MAX_PX for path in SELECTION_PATHS for s in row.get(path, {}).values())
    worse = []
    for key, noise in ACCURACY_NOISE.items():
        delta = row["accuracy"][key] - reference["accuracy"][key]
        if (delta if key in LOWER_IS_BETTER else -delta) > noise:
            worse.append(COLUMNS[key])
    return {"fp16_within_gate": within, "accuracy_worse": worse, "candidate": within and not worse}


def select(variant: str, files: list[Path], reference: Path, split_dir: Path, count: int,
           limit: int | None = None, golden: int | None = None, paths: tuple[str, ...] = ("gpu",)) -> dict:
    """Measure the reference and every file; return the rows with their verdicts."""
    rows = []
    for ckpt in [reference, *files]:
        print(f">> {ckpt}", file=sys.stderr, flush=True)
        rows.append({"checkpoint": str(ckpt), "accuracy": measure_accuracy(variant, ckpt, split_dir, limit),
                     **measure_margin(variant, ckpt, split_dir, count, golden, paths)})
    ref, rest = rows[0], rows[1:]
    for row in rest:
        row.update(verdict(row, ref))
    return {"variant": variant, "split": str(split_dir), "renders": count, "paths": list(paths),
            "gate_px": FP16_MAX_PX, "accuracy_noise": ACCURACY_NOISE, "reference": ref, "checkpoints": rest}


def markdown(report: dict) -> str:
    """One row per checkpoint, the reference first."""
    paths = report.get("paths", ["gpu"])
    sets = list(report["reference"][paths[0]])
    head = ["checkpoint", *COLUMNS.values(), "spread %",
            *(f"{PATH_LABELS[p]} {s} max (over)" for p in paths for s in sets), "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for row in [report["reference"], *report["checkpoints"]]:
        acc = row["accuracy"]
        # The reference by its whole path: a run's own final file has the shipped file's name.
        name = row["checkpoint"] if "candidate" not in row else Path(row["checkpoint"]).name
        cells = [name, *(f"{acc[k]:.3f}" if k in LOWER_IS_BETTER else f"{acc[k]:.2f}" for k in COLUMNS)]
        cells.append(f"{100 * acc['spread_heatmap_share']:.2f}")
        cells += [f"{row[p][s]['max_px']:.2f} ({len(row[p][s]['inputs_over_gate'])}/{row[p][s]['inputs']})"
                  for p in paths for s in sets]
        if "candidate" not in row:
            cells.append("reference")
        elif row["candidate"]:
            cells.append("**candidate**")
        else:
            why = ([] if row["fp16_within_gate"] else [f"fp16 over {report['gate_px']} px"]) + \
                  [f"{c} worse" for c in row["accuracy_worse"]]
            cells.append("; ".join(why))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m export.select_checkpoint", description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path,
                   help="a training run's --out folder (its step<N> files and last checkpoint) or checkpoint files")
    p.add_argument("--variant", default="xs")
    p.add_argument("--reference", type=Path, default=None, help="checkpoint to hold accuracy to (default: shipped)")
    p.add_argument("--data", type=Path, default=Path("data/synthetic"))
    p.add_argument("--split", default="val", help="the split to select on (confirm the choice on another)")
    p.add_argument("--count", type=int, default=64, help="renders of the split for the fp16 rows")
    p.add_argument("--paths", default="gpu",
                   help=f"comma-separated fp16 paths to gate on, of {', '.join(SELECTION_PATHS)} (gpu-fp32acc: the "
                        "GPU with fp32 accumulation; qnn: the HTP simulator, about 2 s an input)")
    p.add_argument("--limit", type=int, default=None, help="evaluate accuracy on the first N samples only")
    p.add_argument("--golden", type=int, default=None, help="golden cases for the fp16 rows (default: all)")
    p.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = p.parse_args(argv)
    if args.count < 1:
        raise InputError("--count must be at least 1: the fp16 rows need renders the gates never saw")
    paths = tuple(dict.fromkeys(p.strip() for p in args.paths.split(",") if p.strip()))
    unknown = [p for p in paths if p not in SELECTION_PATHS]
    if unknown or not paths:
        raise InputError(f"--paths takes {', '.join(SELECTION_PATHS)}, not {args.paths!r}")
    files = [f for c in args.checkpoints for f in (run_checkpoints(c) if c.is_dir() else [c])]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InputError(f"no such checkpoint: {', '.join(missing)}")
    reference = args.reference
    if reference is None:
        from model.registry import get_variant

        shipped = get_variant(args.variant).checkpoint
        if shipped is None:
            raise InputError(f"{args.variant} has no shipped checkpoint to hold accuracy to: pass --reference")
        reference = Path(shipped)
    split_dir = args.data / args.split
    if not (split_dir / "annotations.json").is_file():
        raise InputError(f"{split_dir} is not a rendered split (no annotations.json): `make data` writes them")
    report = select(args.variant, files, reference, split_dir, args.count, args.limit, args.golden, paths)
    print(markdown(report))
    chosen = [Path(r["checkpoint"]).name for r in report["checkpoints"] if r["candidate"]]
    print(f"candidates: {', '.join(chosen) if chosen else 'none'} (selected on {split_dir}; confirm on another split)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
