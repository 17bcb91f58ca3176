"""`python -m export.fp16_branches`: which branch of the network carries an fp16 path's vertex error.

Eq. 5 fuses two estimates of each vertex's 2D position, the heatmap's expectation h and the lift head's
regression r, as r + w (h - r) with w the visibility (times the heatmap trust where a checkpoint has one);
seam copies are then averaged. `python -m export.fp16_margin` measures the fused vertices. This tool
converts a copy of the network whose outputs are the branches themselves, runs it on the LiteRT GPU
accelerator in fp16 (lavapipe here; `--path gpu-fp32acc`: with fp32 accumulation; `--path qnn`: the
Snapdragon HTP simulator in fp16) and in PyTorch
fp32 on the same inputs, and splits the error of each input's worst visible vertex into what moved: the
heatmap position (w dh), the regression ((1 - w) dr) and the weight (dw (h - r)), before the seam average.

A lift head that reads the heatmap positions of all vertices (`lift_uses_heatmap_xy`, the `xs` design) can
take the GPU's error of one ambiguous heatmap, visible or not, into every regressed vertex. The tool runs
the fp32 lift on the GPU's heatmap positions as well: the regression error that run reproduces arrives
through that input, the rest through the lift's own features and arithmetic.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from export.fp16_margin import GPU_PATH_PRECISIONS, add_input_arguments, check_input_arguments, input_sets
from export.parity import FP16_MAX_PX, VISIBLE
from model.cli import run_main

BRANCHES = ("xy_heatmap", "xyz_regressed", "visibility", "heatmap_weight", "vertices")


class BranchOutputs(nn.Module):
    """A deploy model's network with Eq. 5's inputs as outputs, every position about the crop centre (the
    deployed graph's frame, so that fp16 storage rounds them as it rounds the shipped outputs)."""

    def __init__(self, deploy_model: nn.Module) -> None:
        super().__init__()
        self.net = deploy_model.net
        self.input_name = "image"  # the TFLite converter's signature input
        # Without a trust head Eq. 5's weight is the visibility itself, one tensor the converter emits once.
        self.has_trust = self.net.vertexpose.trust is not None
        self.output_names = BRANCHES if self.has_trust else tuple(b for b in BRANCHES if b != "heatmap_weight")

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        net = self.net
        out = net.forward_normalized(net.normalize(image), with_segmentation=False, origin="centre")
        centre = net.crop_centre
        weight = (out["heatmap_weight"],) if self.has_trust else ()
        return (out["xy_heatmap"] - centre[:2], out["xyz_regressed"] - centre, out["visibility"], *weight,
                out["vertices"])


# Maps whose Eq. 5 weight is under this are the ones the fused vertices leave (mostly) to the regression.
LEFT_OUT_WEIGHT = 0.5


def lift_inputs(net: nn.Module, image: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The fp32 lift's inputs for one image: the features it reads, its own heatmap positions (normalised) and
    the heatmap trust (None without a trust head)."""
    with torch.no_grad():
        fine, coarse = net.backbone(net.normalize(torch.from_numpy(image)))
        _, own_xy, _, trust = net.vertexpose(fine, False)
    return (fine if getattr(net.lift, "reads", "coarse") == "fine" else coarse), own_xy, trust


def regression_from_heatmap_xy(net: nn.Module, image: np.ndarray, xy_heatmap: np.ndarray,
                               only: np.ndarray | None = None,
                               inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None = None,
                               ) -> np.ndarray | None:
    """The fp32 lift's regressed x, y (V, 2; about the crop centre) when it reads `xy_heatmap` (V, 2; about
    the centre) instead of its own heatmap positions (with `only`, a (V,) mask: for those vertices alone, its
    own positions for the rest); None for a lift that does not read them. `inputs`: `lift_inputs(net, image)`,
    when the caller already has them."""
    if not getattr(net.lift, "use_heatmap_xy", False):
        return None
    # A lift that reads trust-scaled positions gets the fp32 trust: this run asks what the positions carry.
    features, own_xy, trust = inputs if inputs is not None else lift_inputs(net, image)
    with torch.no_grad():
        xy_norm = (torch.from_numpy(xy_heatmap)[None] - net.heatmap_shift) / net.heatmap_scale
        if only is not None:
            xy_norm = torch.where(torch.from_numpy(only)[None, :, None], xy_norm, own_xy)
        xyz_norm, _ = net.lift(features, xy_norm, trust)
        return (xyz_norm * net.regression_scale + net.regression_shift)[0, :, :2].numpy()


def split_input(name: str, ref: dict[str, np.ndarray], gpu: dict[str, np.ndarray],
                via_xy: np.ndarray | None, via_left_out: np.ndarray | None = None) -> dict:
    """The worst visible vertex of one input and what moved it; the regression's error over visible vertices,
    and the part of it the lift's heatmap-xy input reproduces (`via_xy`: all maps' fp16 positions;
    `via_left_out`: only those of the maps Eq. 5 leaves out)."""
    ref = {"heatmap_weight": ref["visibility"], **ref}
    gpu = {"heatmap_weight": gpu["visibility"], **gpu}
    vis = ref["visibility"][0] >= VISIBLE
    err = np.linalg.norm(gpu["vertices"][0, :, :2] - ref["vertices"][0, :, :2], axis=-1)
    row: dict = {"input": name, "visible": int(vis.sum())}
    if not vis.any():
        return {**row, "max_px": 0.0}
    v = int(np.argmax(np.where(vis, err, -1.0)))
    h, r, w = ref["xy_heatmap"][0, v], ref["xyz_regressed"][0, v, :2], float(ref["heatmap_weight"][0, v])
    dh = np.linalg.norm(gpu["xy_heatmap"][0, v] - h)
    dr = np.linalg.norm(gpu["xyz_regressed"][0, v, :2] - r)
    dw = abs(float(gpu["heatmap_weight"][0, v]) - w)
    reg_err = np.linalg.norm(gpu["xyz_regressed"][0, :, :2] - ref["xyz_regressed"][0, :, :2], axis=-1)[vis]
    row.update({"max_px": float(err[v]), "vertex": v, "weight": w,
                "heatmap_part_px": float(w * dh), "regression_part_px": float((1 - w) * dr),
                "weight_part_px": float(dw * np.linalg.norm(h - r)),
                "regression_median_px": float(np.median(reg_err)), "regression_max_px": float(reg_err.max())})
    for key, via in (("regression_via_xy", via_xy), ("regression_via_left_out_xy", via_left_out)):
        if via is not None:
            moved = np.linalg.norm(via - ref["xyz_regressed"][0, :, :2], axis=-1)[vis]
            row.update({f"{key}_median_px": float(np.median(moved)), f"{key}_max_px": float(moved.max())})
    parts = {"heatmap": row["heatmap_part_px"], "regression": row["regression_part_px"],
             "weight": row["weight_part_px"]}
    row["dominant"] = max(parts, key=parts.get)
    return row


# The fp16 paths the branch graph can run on: the LiteRT GPU accelerator (lavapipe here), in fp16 or with
# fp32 accumulation, and the Snapdragon HTP simulator (the export's qnn-htp-fp16-sim row).
BRANCH_PATHS = ("gpu", "gpu-fp32acc", "qnn")


def fp16_runner(model: BranchOutputs, example: torch.Tensor, path: str, scratch: Path,
                cleanup: contextlib.ExitStack):
    """A function running the branch graph on `path` in fp16: input array -> outputs by name. What it
    compiles is released when `cleanup` closes."""
    if path in GPU_PATH_PRECISIONS:
        from export import tflite as tfl

        tflite = tfl.convert_tflite(model, example, scratch / "branches.tflite", precision="fp32")
        gpu = tfl.compile_gpu(tflite, GPU_PATH_PRECISIONS[path])  # compiled once
        cleanup.callback(gpu.close)
        return lambda x: gpu.run({model.input_name: x})
    if path == "qnn":
        from export.onnx.convert import export_onnx
        from export.qnn.htp import htp_session, run_htp
        from export.qnn.pipeline import PARITY_SOC

        sim = htp_session(export_onnx(model, example, scratch / "branches.onnx"), PARITY_SOC, fp16=True)
        return lambda x: run_htp(sim, {model.input_name: x})
    raise ValueError(f"unknown path {path!r}; choose one of {BRANCH_PATHS}")


def measure_branches(variant: str, ckpt: str | None, renders: Path | None, count: int,
                     golden: int | None = None, path: str = "gpu") -> dict:
    """Per input set: each input's worst vertex split by branch on `path` (BRANCH_PATHS), and how often each
    branch dominates the inputs over the fp16 gate."""
    from model.build import build_deploy_model

    if ckpt is None:
        from export.session import resolve_checkpoint

        ckpt = resolve_checkpoint(variant, None)
    deploy = build_deploy_model(variant, ckpt)
    model = BranchOutputs(deploy).eval()
    sets = input_sets(*deploy.net.input_hw, renders, count, golden)
    result: dict = {"variant": variant, "checkpoint": ckpt or "shipped", "path": path, "gate_px": FP16_MAX_PX,
                    "sets": {}}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as cleanup:
        run = fp16_runner(model, deploy.example_input(), path, Path(tmp), cleanup)
        for set_name, (names, inputs) in sets.items():
            rows = []
            for name, x in zip(names, inputs):
                with torch.no_grad():
                    ref = {k: t.numpy() for k, t in zip(model.output_names, model(torch.from_numpy(x)), strict=True)}
                outputs = run(x)
                xy = outputs["xy_heatmap"][0]
                left_out = ref["heatmap_weight" if model.has_trust else "visibility"][0] < LEFT_OUT_WEIGHT
                inputs = lift_inputs(deploy.net, x)  # one fp32 backbone run serves both subsets
                rows.append(split_input(name, ref, outputs,
                                        regression_from_heatmap_xy(deploy.net, x, xy, inputs=inputs),
                                        regression_from_heatmap_xy(deploy.net, x, xy, only=left_out, inputs=inputs)))
            over = [r for r in rows if r["max_px"] > FP16_MAX_PX]
            summary = {"inputs": len(rows), "inputs_over_gate": len(over),
                       "dominant_over_gate": {b: sum(r["dominant"] == b for r in over)
                                              for b in ("heatmap", "regression", "weight")}}
            for key in ("regression_max_px", "regression_via_xy_max_px", "regression_via_left_out_xy_max_px"):
                values = [r[key] for r in rows if key in r]
                if values:
                    summary[key] = max(values)
            result["sets"][set_name] = {"summary": summary, "inputs": rows}
            print_set(set_name, rows, summary)
    return result


def print_set(set_name: str, rows: list[dict], summary: dict) -> None:
    """One line per input over the gate, then the set's count of dominant branches."""
    for r in rows:
        if r["max_px"] <= FP16_MAX_PX:
            continue
        via = (f", {r['regression_via_xy_median_px']:.3f} / {r['regression_via_xy_max_px']:.3f} of it from the "
               "heatmap xy") if "regression_via_xy_median_px" in r else ""
        print(f"{set_name:6s} {r['input']:14s} max {r['max_px']:.3f} px (vertex {r['vertex']}, weight "
              f"{r['weight']:.2f}): heatmap {r['heatmap_part_px']:.3f}, regression {r['regression_part_px']:.3f}, "
              f"weight {r['weight_part_px']:.3f}; regression over visible vertices median / max "
              f"{r['regression_median_px']:.3f} / {r['regression_max_px']:.3f}{via}", flush=True)
    dom = summary["dominant_over_gate"]
    print(f"{set_name:6s} {summary['inputs_over_gate']}/{summary['inputs']} inputs over {FP16_MAX_PX} px; "
          f"dominant there: heatmap {dom['heatmap']}, regression {dom['regression']}, weight {dom['weight']}",
          flush=True)
    if "regression_via_xy_max_px" in summary:
        print(f"{set_name:6s} the regression's largest move {summary['regression_max_px']:.3f} px; the fp32 lift fed "
              f"the fp16 heatmap positions moves {summary['regression_via_xy_max_px']:.3f} px, fed those of the maps "
              f"weighted under {LEFT_OUT_WEIGHT} alone {summary['regression_via_left_out_xy_max_px']:.3f} px",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m export.fp16_branches", description=__doc__.splitlines()[0])
    add_input_arguments(p)
    p.add_argument("--path", choices=BRANCH_PATHS, default="gpu",
                   help="the fp16 path: the LiteRT GPU accelerator (in fp16, or with fp32 accumulation) or the "
                        "Snapdragon HTP simulator")
    p.add_argument("--json", type=Path, default=None, help="also write every input's split here")
    args = p.parse_args(argv)
    check_input_arguments(args)
    result = measure_branches(args.variant, args.ckpt, args.renders if args.count else None, args.count,
                              args.golden, args.path)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
