"""`python -m export {coreml,tflite,onnx,all,parity}`: the user's export entry point.

Each export builds the deploy graph of a variant from a checkpoint (default: the shipped
one; an untrained one, said loudly, when none is shipped), converts it, checks that it
runs fully on its target accelerator, measures parity against PyTorch on golden inputs,
and writes under artifacts/<variant>/: the model file, its contract JSON, the parity
report (JSON + Markdown) and the golden fixtures for the Swift and Kotlin tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from export.contract import build_contract, write_json_atomic
from export.fp16_audit import audit_fp16_ranges, audit_summary
from export.golden import build_fixtures, golden_inputs, run_torch, save_input_png
from export.parity import PathParity, compare_outputs, markdown_table
from export.staging import staged_output

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CHECKPOINTS = REPO / "model" / "checkpoints"
NUM_GOLDEN = 4
NUM_CALIBRATION = 16


class ExportError(RuntimeError):
    """A user-facing failure: one line that says what to do."""


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f">> {msg}", file=sys.stderr, flush=True)


def resolve_checkpoint(variant: str, ckpt: str | None) -> str | None:
    """The checkpoint to export: explicit path, else the shipped one, else None (untrained)."""
    if ckpt:
        if not Path(ckpt).is_file():
            raise ExportError(f"checkpoint {ckpt} does not exist; pass CKPT=<path to a .safetensors checkpoint>")
        return ckpt
    shipped = SHIPPED_CHECKPOINTS / f"meshpose_{variant}.safetensors"
    if shipped.is_file():
        return str(shipped)
    log(
        f"WARNING: no shipped checkpoint for variant {variant!r} ({shipped.relative_to(REPO)} missing): "
        "exporting an UNTRAINED network with deterministic random weights. Its outputs are not a body mesh; "
        "the contract says checkpoint.trained = false."
    )
    return None


class Exporter:
    """One variant's export session: builds models once, runs the requested paths."""

    def __init__(self, variant: str, ckpt: str | None, out_root: Path) -> None:
        from model.deploy import build_deploy_model
        from model.registry import get_variant
        from model.template import load_template

        try:
            get_variant(variant)
        except KeyError as exc:
            raise ExportError(str(exc.args[0])) from None
        self.variant = variant
        self.template = load_template()
        self.ckpt = resolve_checkpoint(variant, ckpt)
        self.build = lambda **kw: build_deploy_model(variant, self.ckpt, template=self.template, **kw)
        self.model = self.build()
        self.out_dir = out_root / variant
        h, w = self.model.net.input_hw
        self.inputs = golden_inputs(h, w, NUM_GOLDEN)
        self.reference = [run_torch(self.model, x) for x in self.inputs]
        self.name = f"meshpose_{variant}"
        self.rows: list[PathParity] = []
        self.checks: dict[str, Any] = {}

    # -- helpers ---------------------------------------------------------------------------
    def parity(self, path: str, arithmetic: str, run: Callable[[np.ndarray], dict], nhwc: bool = False) -> PathParity:
        """Run `run` on every golden input and compare with PyTorch."""
        outs = []
        for x in self.inputs:
            feed = x.transpose(0, 2, 3, 1).copy() if nhwc else x
            outs.append({k: np.asarray(v) for k, v in run(feed).items()})
        row = compare_outputs(path, arithmetic, self.reference, outs)
        self.rows.append(row)
        verdict = "n/a" if row.passed is None else ("pass" if row.passed else "FAIL " + "; ".join(row.failures))
        log(f"parity {path}: 2D median {row.err2d_median_px:.4f} px, max {row.err2d_max_px:.4f} px -> {verdict}")
        return row

    def contract(self, fmt: str, artifact: str, precision: str, **kw) -> dict[str, Any]:
        """Contract for one artifact (validated against the schema)."""
        return build_contract(self.model, self.template, fmt=fmt, artifact=artifact, precision=precision, **kw)

    def write_common(self, stage: Path) -> None:
        """Golden fixtures, golden input PNGs and the fp16 audit, shared by every format."""
        fixtures = stage / "fixtures"
        fixtures.mkdir(exist_ok=True)
        write_json_atomic(fixtures / "golden.json", build_fixtures(self.model))
        for i, x in enumerate(self.inputs):
            save_input_png(x, fixtures / f"golden_input_{i}.png")
        write_json_atomic(fixtures / "contract.json", self.contract("onnx", f"{self.name}.onnx", "fp32"))

    def write_report(self, stage: Path) -> None:
        """Merge this run's parity rows and checks into artifacts/<variant>/parity.{json,md}."""
        old_path = self.out_dir / "parity.json"
        old = json.loads(old_path.read_text()) if old_path.is_file() else {}
        paths = {r["path"]: r for r in old.get("paths", [])}
        paths.update({r.path: r.to_dict() for r in self.rows})
        checks = old.get("checks", {})
        checks.update(self.checks)
        audit = audit_summary(audit_fp16_ranges(self.model, self.inputs))
        report = {
            "variant": self.variant,
            "checkpoint": self.model.checkpoint.path.name if self.model.checkpoint else "untrained",
            "host": f"{platform.system()} {platform.machine()}",
            "golden_inputs": f"{NUM_GOLDEN} deterministic renders of the template body (export/golden.py)",
            "paths": list(paths.values()),
            "checks": checks,
            "fp16_audit": audit,
        }
        write_json_atomic(stage / "parity.json", report)
        rows = [PathParity(**{k: v for k, v in r.items()}) for r in report["paths"]]
        md = [f"# Parity report: {self.variant}", "", f"Checkpoint: {report['checkpoint']}. "
              f"Inputs: {report['golden_inputs']}. Reference: PyTorch fp32 on {report['host']}.", "",
              markdown_table(rows), "", "## Accelerator checks", ""]
        md += [f"- **{k}**: {v}" for k, v in checks.items()]
        md += ["", "## fp16 range audit", ""]
        flagged = audit["flagged"]
        md.append("No layer flagged." if not flagged else "\n".join(f"- {e['layer']}: {e['flag']}" for e in flagged))
        md += [f"- largest magnitude: {audit['largest'][0]['layer']} = {audit['largest'][0]['max_abs']:.1f} "
               f"(fp16 max {audit['fp16_max']:.0f})"]
        (stage / "parity.md").write_text("\n".join(md) + "\n")

    # -- formats ---------------------------------------------------------------------------
    def coreml(self, stage: Path, compress: str | None) -> None:
        """Core ML package + ANE residency + fp16 parity (numpy MIL on Linux; real on macOS)."""
        from export import coreml as cm

        model = self.build(normalize_in_graph=False)
        for suffix, comp in [("", None)] + ([(f"_{compress}", compress)] if compress else []):
            artifact = f"{self.name}{suffix}.mlpackage"
            label = suffix.replace("_", "-")
            contract = self.contract(
                "coreml", artifact, comp or "fp16", input_dtype="image", normalization_baked_in=True
            )
            t0 = time.perf_counter()
            path = cm.convert_coreml(model, model.example_input(), stage / artifact, contract=contract, compress=comp)
            log(f"converted {artifact} in {time.perf_counter() - t0:.1f} s")
            write_json_atomic(stage / f"{artifact}.contract.json", contract)
            report = cm.check_ane_residency(path)
            self.checks[f"{artifact} ANE residency (static MIL check)"] = (
                f"{'pass' if report.ok else 'FAIL'}: {report.num_ops} ops, offending {len(report.offending)}"
                + (f" ({report.offending[:3]})" if report.offending else "")
            )
            self.checks[f"{artifact} MLComputePlan"] = report.compute_plan
            if not report.ok:
                raise ExportError(f"{artifact} has ops the Neural Engine does not run: {report.offending[:5]}")
            arith = "fp16" if comp is None else "int8"
            self.parity(f"coreml{label}-fp16-numpy-sim", arith, lambda x, p=path: cm.run_mil_fp16(p, {"image": x}))
            if platform.system() == "Darwin":
                for units in ("CPU_ONLY", "CPU_AND_NE"):
                    self.parity(f"coreml{label}-{units}", arith,
                                lambda x, p=path, u=units: cm.run_coreml_macos(p, {"image": x}, u))
            else:
                log("Core ML predictions skipped: they need macOS (parity uses the numpy fp16 MIL executor)")

    def tflite(self, stage: Path, int8: bool, nhwc: bool, gpu: bool) -> None:
        """TFLite fp32 + fp16-weights (+ int8) with XNNPACK parity and the GPU-delegate gates."""
        from export import tflite as tfl

        model = self.build(nhwc=nhwc)
        tag = "_nhwc" if nhwc else ""  # file-name and report-path tag
        precisions = ["fp32", "fp16"] + (["int8"] if int8 else [])
        h, w = self.model.net.input_hw
        for precision in precisions:
            suffix = "" if precision == "fp32" else f"_{precision}"
            artifact = f"{self.name}{tag}{suffix}.tflite"
            calib = None
            if precision == "int8":
                calib = [x.transpose(0, 2, 3, 1).copy() if nhwc else x
                         for x in golden_inputs(h, w, NUM_CALIBRATION + NUM_GOLDEN)[NUM_GOLDEN:]]
            t0 = time.perf_counter()
            path = tfl.convert_tflite(model, model.example_input(), stage / artifact, precision=precision,
                                      calibration=calib)
            log(f"converted {artifact} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")
            contract = self.contract("tflite", artifact, "fp16-weights" if precision == "fp16" else precision,
                                     nhwc=nhwc)
            write_json_atomic(stage / f"{artifact}.contract.json", contract)
            arith = {"fp32": "fp32", "fp16": "fp16", "int8": "int8"}[precision]
            label = {"fp32": "", "fp16": "-fp16w", "int8": "-int8"}[precision]
            self.parity(f"tflite{tag}{label}-xnnpack", arith,
                        lambda x, p=path: tfl.run_xnnpack(p, {"image": x}), nhwc=nhwc)
            if precision == "int8":
                continue
            analysis = tfl.analyze_gpu_compat(path)
            self.checks[f"{artifact} LiteRT analyzer (GPU compatibility)"] = (
                "pass: no incompatible op" if analysis.ok else f"FAIL: {analysis.incompatible[:5]}"
            )
            if not analysis.ok:
                raise ExportError(f"{artifact}: GPU-incompatible ops {analysis.incompatible[:5]}")
            if gpu and precision == "fp32":
                res = {}

                def run_gpu(x, p=path, res=res):
                    r = tfl.run_gpu(p, {"image": x})
                    res["full"] = r.fully_accelerated
                    return r.outputs

                self.parity(f"tflite{tag}-gpu-fp16 (lavapipe, functional)", "fp16", run_gpu, nhwc=nhwc)
                self.checks[f"{artifact} CompiledModel GPU (software Vulkan)"] = (
                    "pass: fully accelerated" if res.get("full") else "FAIL: not fully accelerated"
                )
                if not res.get("full"):
                    raise ExportError(f"{artifact} is not fully accelerated by the LiteRT GPU accelerator")

    def onnx(self, stage: Path) -> None:
        """ONNX (dynamo) export, onnx.checker, onnxruntime parity."""
        from export import onnx_export

        artifact = f"{self.name}.onnx"
        t0 = time.perf_counter()
        path = onnx_export.export_onnx(self.model, self.model.example_input(), stage / artifact)
        log(f"exported {artifact} in {time.perf_counter() - t0:.1f} s")
        write_json_atomic(stage / f"{artifact}.contract.json", self.contract("onnx", artifact, "fp32"))
        self.parity("onnxruntime-cpu", "fp32", lambda x: onnx_export.run_onnxruntime(path, {"image": x}))


def run(args: argparse.Namespace) -> int:
    """Run the requested export; returns the process exit code."""
    formats = ["onnx", "tflite", "coreml"] if args.format == "all" else [args.format]
    exp = Exporter(args.variant, args.ckpt, Path(args.out))
    log(f"exporting {exp.name} ({', '.join(formats)}) to {exp.out_dir}")
    with staged_output(exp.out_dir) as stage:
        for fmt in formats:
            if fmt == "coreml":
                exp.coreml(stage, args.compress)
            elif fmt == "tflite":
                exp.tflite(stage, args.int8, args.nhwc, not args.no_gpu)
            elif fmt == "onnx":
                exp.onnx(stage)
        exp.write_common(stage)
        exp.write_report(stage)
    failed = [r for r in exp.rows if r.passed is False]
    print(markdown_table(exp.rows))
    for k, v in exp.checks.items():
        print(f"- {k}: {v}")
    files = sorted(p.name for p in exp.out_dir.iterdir() if not p.name.startswith("."))
    print(f"wrote {exp.out_dir}: {', '.join(files)}")
    if failed:
        print(f"PARITY GATE FAILED for {[r.path for r in failed]}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["coreml", "tflite", "onnx", "all"])
    parser.add_argument("--variant", default="xs")
    parser.add_argument("--ckpt", default=None, help="safetensors checkpoint (default: the shipped one)")
    parser.add_argument("--out", default=str(REPO / "artifacts"))
    parser.add_argument("--compress", choices=["palettize8", "linear8"], default=None,
                        help="Core ML: also write a compressed package with its own parity figures")
    parser.add_argument("--int8", action="store_true", help="TFLite: also write an int8 model")
    parser.add_argument("--nhwc", action="store_true", help="TFLite: NHWC input for camera buffers")
    parser.add_argument("--no-gpu", action="store_true", help="TFLite: skip the software-Vulkan GPU run")
    args = parser.parse_args(argv)
    from export.contract import ContractError
    from export.coreml.mil_numpy import UnsupportedMilOp
    from export.tflite.gpu import GpuUnavailable
    from model.checkpoint import CheckpointError
    from model.template import TemplateError

    try:
        return run(args)
    except (ExportError, CheckpointError, TemplateError, ContractError, GpuUnavailable, UnsupportedMilOp) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
