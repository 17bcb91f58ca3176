"""`python -m model.eval.ablations` (make ablations): the paper's two ablations on synthetic data.

- `uv`: Eq. 2 UV decoding strategies (barycentric, closest vertex, global average) of one
  checkpoint, scored by DensePose GPS/GPSm AP on the test split.
- `losses`: the same variant trained for the same number of steps with the loss groups
  3D only, 3D + 2D (DensePose heatmap losses and 2D joints), 3D + 2D + visibility, then evaluated.

Both tables start with the mean-template baseline row. Results go to <out>/<name>.json and
<out>/<name>.md. Loss-group runs live in <runs>/<group>/ and resume where they stopped, so the
command can be re-run after an interruption without redoing finished runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from model.cli import run_main
from model.eval.run import evaluate, mean_mesh
from model.registry import get_variant

UV_METHODS = ("barycentric", "closest", "global_average")
UV_COLUMNS = ("GPS_AP", "GPS_AP50", "GPS_AP75", "GPS_AR", "GPSm_AP", "GPSm_AR", "GPS_mean")
LOSS_COLUMNS = ("visible_vertex_2d_error_px_median", "pa_mpjpe_mm", "pve_mm", "visibility_accuracy",
                "keypoint_AP", "GPS_AP", "GPSm_AP")
LOSS_ROWS = {"3d": "3D only", "3d+2d": "3D + 2D", "all": "3D + 2D + visibility"}


def table(rows: dict[str, dict], columns: tuple[str, ...]) -> str:
    """A Markdown table: one row per entry of `rows` (name -> metrics)."""
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, r in rows.items():
        cells = ["–" if r.get(c) is None else f"{r[c]:.2f}" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write(out_dir: Path, name: str, report: dict, markdown: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / f"{name}.md").write_text(markdown + "\n")
    print(markdown)
    print(f"wrote {out_dir / name}.json and .md", file=sys.stderr)


def _load_net(variant: str, ckpt: Path, template):
    from model.build import create_model
    from model.checkpoint import load_checkpoint

    net = create_model(variant, template)
    info = load_checkpoint(net, ckpt, variant=variant, template=template)
    return net.eval(), info


def chart_ceiling(split_dir: Path, template, limit: int | None) -> dict:
    """GPS of the ground-truth surface points sent through the template's charts and back
    (face -> part, U, V -> face): the most any (I, U, V) decoding can score on this template."""
    import numpy as np

    from model.data.charts import ChartLocator
    from model.eval.densepose_eval import DensePoseScorer, SurfacePrediction
    from model.train.dataset import MeshPoseDataset

    anns = MeshPoseDataset(split_dir, template).anns
    locator, scorer = ChartLocator(template), DensePoseScorer(template)
    for ann in anns[: limit or len(anns)]:
        face, bary = np.asarray(ann["dp_face"], np.int64), np.asarray(ann["dp_bary"], np.float64)
        uv = (bary[:, :, None] * np.asarray(template.uv, np.float64)[template.faces[face]]).sum(1)
        back = locator.locate(template.face_parts[face], uv[:, 0], uv[:, 1])
        scorer.add(SurfacePrediction(np.asarray(back.face), np.asarray(back.bary), np.ones(len(face), bool)),
                   face, bary, 1.0)
    return {k: v * 100 if "_A" in k else v for k, v in scorer.summary().items()}


def uv_ablation(variant: str, ckpt: Path, data: Path, split: str, limit: int | None, template) -> dict:
    """GPS/GPSm of each UV decoding strategy, beside the mean-template baseline."""
    net, info = _load_net(variant, ckpt, template)
    rows = {"mean-template baseline": evaluate(None, data / split, template, mean_mesh(data / "train", template),
                                              limit)["baseline"]}
    rows["ground truth through the charts (ceiling)"] = chart_ceiling(data / split, template, limit)
    for method in UV_METHODS:
        print(f">> UV decoding: {method}", file=sys.stderr, flush=True)
        rows[method] = evaluate(net, data / split, template, None, limit, uv_method=method)["model"]
    return {"checkpoint": str(ckpt), "checkpoint_sha256": info.sha256, "split": split, "rows": rows}


def loss_ablation(variant: str, steps: int, data: Path, runs: Path, split: str, limit: int | None,
                  template, threads: int | None = None) -> dict:
    """Train one run per loss group (same steps, seed and data order), evaluate each."""
    import torch

    from model.checkpoint import read_checkpoint_info
    from model.train.config import get_config, loss_group_weights
    from model.train.loop import train

    if threads:
        torch.set_num_threads(threads)
    base = get_config(variant).with_overrides(max_steps=steps, warmup_steps=min(get_config(variant).warmup_steps,
                                                                                 max(1, steps // 5)))
    rows = {"mean-template baseline": evaluate(None, data / split, template, mean_mesh(data / "train", template),
                                              limit)["baseline"]}
    runs_info = {}
    for group, label in LOSS_ROWS.items():
        cfg = replace(base, losses=loss_group_weights(group, base.losses))
        out = runs / group
        ckpt = out / f"meshpose_{variant}.safetensors"
        done = ckpt.is_file() and read_checkpoint_info(ckpt).metadata.get("step") == str(steps)
        if not done:
            print(f">> training {variant} with loss group {group!r} for {steps} steps", file=sys.stderr, flush=True)
            train(cfg, data, out, resume=True)
        net, info = _load_net(variant, ckpt, template)
        rows[label] = evaluate(net, data / split, template, None, limit)["model"]
        runs_info[group] = {"checkpoint": str(ckpt), "sha256": info.sha256,
                            "losses": [k for k, v in vars(cfg.losses).items() if v != 0.0]}
    return {"variant": variant, "steps": steps, "split": split, "runs": runs_info, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from model.template import load_template

    p = argparse.ArgumentParser(prog="python -m model.eval.ablations", description=__doc__.splitlines()[0])
    p.add_argument("which", choices=["uv", "losses"])
    p.add_argument("--variant", default="xs")
    p.add_argument("--ckpt", type=Path, default=None,
                   help="uv: the checkpoint (default or 'shipped': the variant's shipped one)")
    p.add_argument("--steps", type=int, default=600, help="losses: training steps per run")
    p.add_argument("--runs", type=Path, default=Path("runs/ablation"), help="losses: where the runs live")
    p.add_argument("--data", type=Path, default=Path("data/synthetic"))
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N samples only")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path("artifacts/ablations"))
    args = p.parse_args(argv)
    template = load_template()
    try:
        if args.which == "uv":
            shipped = args.ckpt is None or str(args.ckpt) == "shipped"
            ckpt = get_variant(args.variant).checkpoint if shipped else args.ckpt
            report = uv_ablation(args.variant, ckpt, args.data, args.split, args.limit, template)
            _write(args.out, "uv_decoding", report, table(report["rows"], UV_COLUMNS))
        else:
            report = loss_ablation(args.variant, args.steps, args.data, args.runs / args.variant, args.split,
                                   args.limit, template, args.threads)
            _write(args.out, "loss_groups", report, table(report["rows"], LOSS_COLUMNS))
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
