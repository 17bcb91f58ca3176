"""`python -m model.eval` (make eval): a checkpoint's metrics on a synthetic split, beside the mean template.

The baseline is the mean-template mesh: the average training mesh in the crop, the same for every image.

Written to artifacts/<variant>/eval.json for the shipped checkpoint (beside the checkpoint for any other,
or to --out) and printed as a Markdown table. DensePose GPS/GPSm
AP/AR (model.eval.gps) use the ground-truth points' exact template faces; the network's points
come from its heatmaps through Eq. 2 (--uv-method), the baseline's from rasterising the mean mesh.
The paper's two ablations: model.eval.ablations (make ablations).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from model.atomic import atomic_path
from model.cli import remove_outputs
from model.data.charts import ChartLocator
from model.data.raster import rasterize
from model.eval.densepose_eval import DensePoseScorer, mesh_surface_at, network_surface_at
from model.eval.empty_frames import phantom_markdown, phantom_report
from model.eval.metrics import (
    error_by_region,
    keypoint_ap,
    left_right_swapped,
    mask_iou,
    mpjpe,
    pa_mpjpe,
    pve,
    visible_vertex_error_px,
)
from model.pipeline.decode import VISIBILITY_THRESHOLD
from model.train.config import TRUST_SPREAD, TRUST_TAU
from model.train.dataset import MeshPoseDataset
from model.train.losses import trust_target

TRUNCATED_OUTSIDE = 0.02  # a sample is truncated when more than 2% of its vertices leave the crop
# A heatmap is spread when the trust's target is under TRUST_SPREAD, as for the trust's fit and training term:
# its mass sits on modes cells apart, and fp16, int8 or one grey level of camera noise moves its expectation by
# pixels (docs/DESIGN.md §8). Their share among visible vertices is the network's conditioning, measured
# smoothly where the export gates' maxima move like draws. The same threshold in square cells, for reports:
SPREAD_VARIANCE_CELLS2 = TRUST_TAU * math.log(1.0 / TRUST_SPREAD)


def spread_visible_maps(net: torch.nn.Module, out: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(spread, all) heatmaps among the vertices `net` calls visible in one output of batch 1."""
    logits = out["heatmaps"]
    prob = net.vertexpose.argsoftmax.probabilities(logits).reshape(logits.shape)
    visible = out["visibility"][0] >= VISIBILITY_THRESHOLD
    spread = visible & (trust_target(prob, TRUST_TAU)[0] < TRUST_SPREAD)
    return int(spread.sum()), int(visible.sum())


def default_eval_path(variant: str, ckpt: str | Path | None) -> Path:
    """Where an evaluation goes without --out: the shipped checkpoint's (or the untrained network's) to
    artifacts/<variant>/eval.json, which the README and the benchmark report read; any other checkpoint's
    beside that checkpoint, so a candidate never replaces the shipped model's figures."""
    from model.registry import get_variant

    shipped = get_variant(variant).checkpoint
    if ckpt is None or (shipped is not None and Path(ckpt).resolve() == Path(shipped).resolve()):
        return Path("artifacts") / variant / "eval.json"
    return Path(ckpt).parent / "eval.json"


def mean_mesh(train_dir: Path, template, limit: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Average training vertices (crop pixels, root-relative depth) and mean visibility."""
    data = MeshPoseDataset(train_dir, template, flip_probability=0.0, colour_jitter=0.0)
    anns = data.anns[:limit]
    verts = np.mean([np.asarray(a["vertices"], np.float64) for a in anns], axis=0)
    vis = np.mean([np.asarray(a["vertex_visibility"], np.float64) for a in anns], axis=0)
    return verts, vis


def evaluate(net, split_dir: Path, template, baseline: tuple[np.ndarray, np.ndarray] | None,
             limit: int | None = None, uv_method: str = "barycentric") -> dict:
    """Metrics of `net` (None: the baseline only) on a split, and for `net` its phantom bodies on empty
    frames (model.eval.empty_frames). `net` is the PyTorch network or any callable
    taking a (1, 3, H, W) image tensor and returning at least "vertices" and "visibility" (an exported
    artifact: export/evaluate.py); without "segmentation" and "heatmaps" the mask and DensePose metrics
    are left out for it."""
    data = MeshPoseDataset(split_dir, template, flip_probability=0.0, colour_jitter=0.0)
    locator = ChartLocator(template)
    mirror = template.mirror_index()
    scorers = {"model": DensePoseScorer(template), "baseline": DensePoseScorer(template)}
    lm = np.asarray(template.coco17, np.float64)
    n = min(len(data), limit or len(data))
    rows = {"model": [], "baseline": []}
    kp_preds = {"model": [], "baseline": []}
    spread_maps = [0, 0]  # (spread, all) heatmaps of predicted-visible vertices
    for i in range(n):
        ann = data.anns[i]
        s = data.get(i, augment=False)
        gt_v = s["vertices"].double().numpy()
        vis = s["visibility"].numpy() > 0.5
        hgt, wid = s["mask"].shape
        inside = (gt_v[:, 0] >= 0) & (gt_v[:, 0] < wid) & (gt_v[:, 1] >= 0) & (gt_v[:, 1] < hgt)
        truncated = bool(1.0 - inside.mean() > TRUNCATED_OUTSIDE)
        scale_mm = 1000.0 * float(ann.get("crop_scale_m_per_px", np.nan))
        gt_j = lm @ gt_v
        preds = {}
        if net is not None:
            with torch.no_grad():
                out = net(s["image"][None])
            dense = "segmentation" in out and "heatmaps" in out
            seg = out["segmentation"][0].argmax(0).numpy().astype(bool) if dense else None
            preds["model"] = (out["vertices"][0].double().numpy(), out["visibility"][0].numpy(), seg)
            if "heatmaps" in out:
                spread_maps = [a + b for a, b in zip(spread_maps, spread_visible_maps(net, out))]
        if baseline is not None:
            preds["baseline"] = (baseline[0], baseline[1], None)
        gt_mask = torch.nn.functional.avg_pool2d(s["mask"][None, None], 4)[0, 0].numpy() > 0.5
        n_dp = int(s["dp_valid"].sum())
        dp_pts = s["dp_points"][:n_dp].double().numpy()
        dp_face, dp_bary = np.asarray(ann["dp_face"][:n_dp]), np.asarray(ann["dp_bary"][:n_dp])
        if net is not None and dense:
            surf = network_surface_at(out["heatmaps"][0], out["segmentation"][0], dp_pts, template, locator,
                                      method=uv_method)
            fg_prob = torch.softmax(out["segmentation"][0], 0)[1]
            score = float(fg_prob[fg_prob > 0.5].mean()) if bool((fg_prob > 0.5).any()) else 0.0
            scorers["model"].add(surf, dp_face, dp_bary, mask_iou(seg, gt_mask), score)
        if baseline is not None:
            surf = mesh_surface_at(baseline[0], template, dp_pts, hgt, wid)
            mesh_mask = rasterize(baseline[0][:, :2], baseline[0][:, 2], template.faces, hgt, wid).mask
            scorers["baseline"].add(surf, dp_face, dp_bary, mask_iou(mesh_mask, s["mask"].numpy() > 0.5))
        for who, (pv, pvis, seg) in preds.items():
            pj = lm @ pv
            rows[who].append({
                "vis_err_px": visible_vertex_error_px(pv, gt_v, vis),
                "mpjpe": mpjpe(pj, gt_j) * scale_mm,
                "pa_mpjpe": pa_mpjpe(pj, gt_j) * scale_mm,
                "pve": pve(pv, gt_v, pj, gt_j) * scale_mm,
                "vis_acc": float(((np.asarray(pvis) > 0.5) == vis).mean()),
                "iou": mask_iou(seg, gt_mask) if seg is not None else np.nan,
                "parts": template.parts[vis],
                "swapped": left_right_swapped(pv, gt_v, vis, mirror),
                "truncated": truncated,
            })
            kps = np.concatenate([pj[:, :2], np.full((17, 1), 2.0)], axis=1)
            kp_preds[who].append({"image_id": ann["image_id"], "category_id": 1, "score": 1.0,
                                  "keypoints": kps.reshape(-1).tolist()})
    coco = {"images": [data.images[a["image_id"]] for a in data.anns[:n]], "annotations": data.anns[:n],
            "categories": [{"id": 1, "name": "person"}]}
    result = {}
    for who, rs in rows.items():
        if not rs:
            continue
        errs = np.concatenate([r["vis_err_px"] for r in rs])
        kp = keypoint_ap(coco, kp_preds[who])
        cut = np.array([r["truncated"] for r in rs])
        sample_median = np.array([np.median(r["vis_err_px"]) for r in rs])
        dense = bool(scorers[who].gps_values)  # an exported artifact has no heatmaps or segmentation output
        result[who] = {
            "visible_vertex_2d_error_px_median": float(np.median(errs)),
            "visible_vertex_2d_error_px_mean": float(errs.mean()),
            "mpjpe_mm": float(np.nanmean([r["mpjpe"] for r in rs])),
            "pa_mpjpe_mm": float(np.nanmean([r["pa_mpjpe"] for r in rs])),
            "pve_mm": float(np.nanmean([r["pve"] for r in rs])),
            "visibility_accuracy": float(np.mean([r["vis_acc"] for r in rs])),
            "mask_iou": float(np.nanmean([r["iou"] for r in rs])) if who == "model" and dense else None,
            "keypoint_AP": kp["AP"] * 100,
            "keypoint_AR": kp["AR"] * 100,
            "samples": len(rs),
            # DensePose AP/AR in percent like keypoint AP; GPS_mean stays in [0, 1].
            **({k: v * 100 if "_A" in k else v for k, v in scorers[who].summary().items()} if dense else {}),
            # Where the 2D error is: body regions, truncated crops, left/right confusions.
            "error_by_region_px": error_by_region([r["vis_err_px"] for r in rs], [r["parts"] for r in rs]),
            "truncated_share": float(cut.mean()),
            "sample_median_2d_error_px_truncated": float(np.median(sample_median[cut])) if cut.any() else None,
            "sample_median_2d_error_px_whole": float(np.median(sample_median[~cut])) if (~cut).any() else None,
            "left_right_swapped_share": float(np.mean([r["swapped"] for r in rs])),
        }
        if who == "model" and spread_maps[1]:
            result[who]["spread_heatmap_share"] = spread_maps[0] / spread_maps[1]
    if net is not None and n:
        hgt, wid = data.get(0, augment=False)["mask"].shape
        result["model"]["empty_frames"] = phantom_report(net, hgt, wid)
    return result


def markdown(result: dict) -> str:
    """Table: one row per predictor."""
    keys = ["visible_vertex_2d_error_px_median", "mpjpe_mm", "pa_mpjpe_mm", "pve_mm", "visibility_accuracy",
            "mask_iou", "keypoint_AP", "GPS_AP", "GPSm_AP"]
    lines = ["| predictor | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for who, r in result.items():
        cells = ["–" if r.get(k) is None else f"{r[k]:.2f}" for k in keys]
        lines.append(f"| {who} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def breakdown_markdown(result: dict) -> str:
    """Table: median visible-vertex 2D error (px) per body region, on truncated crops, and swaps."""
    regions = list(next(iter(result.values()))["error_by_region_px"])
    keys = regions + ["truncated crops", "whole body in crop", "left/right swapped"]
    lines = ["| predictor | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for who, r in result.items():
        cells = [f"{r['error_by_region_px'][k]:.2f}" for k in regions]
        cells += ["–" if r[k] is None else f"{r[k]:.2f}"
                  for k in ("sample_median_2d_error_px_truncated", "sample_median_2d_error_px_whole")]
        cells.append(f"{100 * r['left_right_swapped_share']:.1f}%")
        lines.append(f"| {who} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from model.build import create_model
    from model.checkpoint import load_checkpoint
    from model.template import load_template

    p = argparse.ArgumentParser(prog="python -m model.eval", description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="xs")
    p.add_argument("--ckpt", default=None,
                   help="checkpoint to evaluate ('shipped': the variant's shipped one; none: baseline only)")
    p.add_argument("--data", type=Path, default=Path("data/synthetic"))
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--uv-method", default="barycentric",
                   help="Eq. 2 decoding for GPS: barycentric, closest or global_average")
    args = p.parse_args(argv)
    if args.ckpt == "shipped":
        from model.registry import get_variant

        args.ckpt = get_variant(args.variant).checkpoint
    out = args.out or default_eval_path(args.variant, args.ckpt)
    remove_outputs(out)  # a failed evaluation must not leave an earlier one for the report to plot
    template = load_template()
    net = None
    if args.ckpt:
        net = create_model(args.variant, template)
        info = load_checkpoint(net, args.ckpt, variant=args.variant, template=template)
        net.eval()
    train_dir = args.data / "train"
    if net is not None and not train_dir.exists():
        # The baseline is context for the model's row, not part of it: evaluating a checkpoint needs only
        # the test split. Said, not silent; a train split that exists but is broken still stops the run.
        print(f"no train split at {train_dir}: the mean-template baseline row is left out (render one with "
              "`python -m model.data.generate --splits train` to add it)", file=sys.stderr)
        baseline = None
    else:
        baseline = mean_mesh(train_dir, template)
    result = evaluate(net, args.data / args.split, template, baseline, args.limit, args.uv_method)
    headline = result.get("model", result.get("baseline"))["keypoint_AP"]
    truncated_share = next(iter(result.values()))["truncated_share"]  # a property of the split, not the predictor
    report = {"variant": args.variant, "checkpoint": str(args.ckpt) if args.ckpt else None,
              "checkpoint_sha256": info.sha256 if args.ckpt else None, "split": args.split,
              "headline": {"name": "keypoint AP (synthetic test)", "value": headline}, "results": result}
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(result))
    print(f"\nWhere the 2D error is (px; per-sample medians for truncated ({100 * truncated_share:.0f}% of "
          f"samples: > {100 * TRUNCATED_OUTSIDE:.0f}% of vertices outside the crop) and whole-body crops):")
    print(breakdown_markdown(result))
    if "spread_heatmap_share" in result.get("model", {}):
        print(f"\nSpread heatmaps: {100 * result['model']['spread_heatmap_share']:.2f}% of the visible vertices' maps "
              f"(variance over {SPREAD_VARIANCE_CELLS2:.2f} square cells; fp16 and int8 move their vertices most)")
    if "empty_frames" in result.get("model", {}):
        print("\nFrames with no person (model/eval/empty_frames.py): where the network sees a body anyway:")
        print(phantom_markdown(result["model"]["empty_frames"]))
    print(f"wrote {out}", file=sys.stderr)
    return 0
