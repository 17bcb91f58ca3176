"""`python -m export.coreml.w8a8_spread`: how far a Core ML W8A8 verdict sits from its gate.

The int8 gate reads one p99 over the golden set, and for `xs` that p99 is set by a few vertices whose
heatmaps have two modes: moving one activation range by 0.04 % has moved it by 0.24 px
(docs/DESIGN.md §8, "Core ML W8A8 on Linux"). A device rounds in its own way, so the one simulated figure
cannot say which side of the gate an iPhone lands on. This tool measures the activation ranges once,
then converts `--draws` copies of the W8A8 package, each with every range scaled by its own factor drawn
in 1 ± `--rel` (draw 0 unscaled: the package `make export INT8=1` writes), and prints each copy's
golden-set figures and their spread. Run it on two checkpoints to compare how robustly each passes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from export.golden import calibration_inputs, core_indices, golden_cases, golden_inputs, run_torch
from export.parity import INT8_P99_PX, PathParity, compare_outputs
from model.cli import InputError, run_main

# Default scale of the draws: about one rounding step of a scale stored in fp16 (2^-10).
DEFAULT_REL = 1e-3


def perturbed_ranges(ranges: dict[str, dict[str, float]], rel: float, seed: int) -> dict[str, dict[str, float]]:
    """`ranges` with each rmin and rmax scaled by its own factor in [1 - rel, 1 + rel] (seeded; seed 0 or
    rel 0 gives an unchanged copy). Names are visited sorted, so a seed gives the same draw on every run."""
    if rel < 0:
        raise ValueError(f"rel must be >= 0, got {rel}")
    out = {name: dict(r) for name, r in ranges.items()}
    if seed == 0 or rel == 0:
        return out
    rng = np.random.default_rng(seed)
    for name in sorted(out):
        for key in ("rmin", "rmax"):
            out[name][key] = float(out[name][key] * (1.0 + rel * rng.uniform(-1.0, 1.0)))
    return out


def measured_ranges(module, example_input, calibration: list[np.ndarray], scratch: Path) -> dict:
    """Activation ranges of `module`'s fp16 Core ML program over `calibration`, as the W8A8 export measures them."""
    from export.contract import build_contract
    from export.coreml.convert import convert_coreml, load_mil_program
    from export.coreml.w8a8 import activation_ranges

    contract = build_contract(module, module.template, fmt="coreml", artifact="fp16.mlpackage", precision="fp16",
                              input_dtype="image", normalization_baked_in=True)
    program, _ = load_mil_program(convert_coreml(module, example_input, scratch / "fp16.mlpackage",
                                                 contract=contract))
    return activation_ranges(program, calibration, module.input_name)


def w8a8_spread(module, reference_model, calibration: list[np.ndarray], inputs: list[np.ndarray], names: list[str],
                core: list[int], draws: int, rel: float, scratch: Path, log=print) -> list[PathParity]:
    """One int8-gated parity row of the W8A8 package per draw (see the module docstring); `core` indexes the
    inputs of the core gate, as in the export."""
    from export.contract import build_contract
    from export.coreml.convert import convert_coreml
    from export.coreml.mil_numpy import run_mil_fp16

    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    example = module.example_input()
    ranges = measured_ranges(module, example, calibration, scratch)
    reference = [run_torch(reference_model, x) for x in inputs]
    contract = build_contract(module, module.template, fmt="coreml", artifact="w8a8.mlpackage", precision="w8a8",
                              input_dtype="image", normalization_baked_in=True)
    rows = []
    for seed in range(draws):
        t0 = time.perf_counter()
        path = convert_coreml(module, example, scratch / "w8a8.mlpackage", contract=contract, compress="w8a8",
                              ranges=perturbed_ranges(ranges, rel, seed))
        outs = [run_mil_fp16(path, {module.input_name: x}) for x in inputs]
        row = compare_outputs(f"coreml-w8a8 draw {seed}", "int8", reference, outs, input_names=names,
                              core=core or None)
        rows.append(row)
        log(f"draw {seed:2d}: median {row.err2d_median_px:.4f}  p99 {row.err2d_p99_px:.4f}  "
            f"max {row.err2d_max_px:.3f} px ({row.worst_input})  "
            f"{'pass' if row.passed else 'FAIL'}  [{time.perf_counter() - t0:.0f} s]")
    return rows


def summary(rows: list[PathParity]) -> dict:
    """Spread of the draws' p99 and max, and how many pass the int8 gate."""
    p99 = np.array([r.err2d_p99_px for r in rows])
    top = np.array([r.err2d_max_px for r in rows])
    return {"draws": len(rows), "p99_median_px": float(np.median(p99)), "p99_min_px": float(p99.min()),
            "p99_max_px": float(p99.max()), "over_p99_gate": int((p99 > INT8_P99_PX).sum()),
            "max_min_px": float(top.min()), "max_max_px": float(top.max()),
            "failing": int(sum(not r.passed for r in rows))}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from export.coreml.pipeline import W8A8_CALIBRATION
    from export.session import resolve_checkpoint
    from model.build import build_deploy_model

    p = argparse.ArgumentParser(prog="python -m export.coreml.w8a8_spread", description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="xs")
    p.add_argument("--ckpt", default=None, help="safetensors checkpoint (default: the shipped one)")
    p.add_argument("--draws", type=int, default=12, help="copies of the package, draw 0 unscaled (default 12)")
    p.add_argument("--rel", type=float, default=DEFAULT_REL, help=f"largest relative change of a range "
                   f"(default {DEFAULT_REL:g})")
    p.add_argument("--golden", type=int, default=None, help="golden cases to use (default: all)")
    p.add_argument("--calibration", type=int, default=W8A8_CALIBRATION,
                   help=f"calibration renders (default {W8A8_CALIBRATION}, as the export)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows and the summary here")
    args = p.parse_args(argv)
    if args.draws < 1 or args.rel < 0 or args.calibration < 1:
        raise InputError("--draws and --calibration must be >= 1 and --rel >= 0")
    ckpt = resolve_checkpoint(args.variant, args.ckpt)
    module = build_deploy_model(args.variant, ckpt, normalize_in_graph=False)
    reference_model = build_deploy_model(args.variant, ckpt)
    h, w = module.net.input_hw
    cases = golden_cases(args.golden)
    names = [c.name for c in cases]
    core = core_indices(cases)
    print(f"{args.variant} ({ckpt or 'untrained'}): {args.draws} W8A8 copies, ranges scaled within 1 ± {args.rel:g}, "
          f"{len(names)} golden inputs, {args.calibration} calibration renders", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = w8a8_spread(module, reference_model, calibration_inputs(h, w, args.calibration),
                           golden_inputs(h, w, args.golden), names, core, args.draws, args.rel, Path(tmp),
                           log=lambda m: print(m, flush=True))
    s = summary(rows)
    print(f"p99 median {s['p99_median_px']:.3f}, range {s['p99_min_px']:.3f}-{s['p99_max_px']:.3f} px; "
          f"{s['over_p99_gate']} of {s['draws']} over the {INT8_P99_PX} px gate; max {s['max_min_px']:.2f}-"
          f"{s['max_max_px']:.2f} px", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"variant": args.variant, "checkpoint": ckpt, "rel": args.rel,
                                         "summary": s, "rows": [dataclasses.asdict(r) for r in rows]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
