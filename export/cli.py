"""`python -m export {coreml,tflite,onnx,qnn,all,parity}`: the user's export entry point.

Each export builds the deploy graph of a variant from a checkpoint (default: the shipped
one; an untrained one, said loudly, when none is shipped), checks its op policy, converts
it, checks that it runs fully on its target accelerator, measures parity against PyTorch on
golden inputs, and writes under artifacts/<variant>/: the model file, its contract JSON,
the parity report (JSON + Markdown) and the golden fixtures for the Swift and Kotlin tests.
A run whose parity gate fails publishes nothing (its report goes to artifacts/<variant>/failed/)
unless --keep-failed, which publishes it with `parity_gate.passed: false` in every contract.
The work is in export/session.py and one pipeline module per format; this module only
parses arguments, stages the output and prints the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.parity import markdown_table
from export.report import (
    drop_stale_failed_report,
    gate_failures,
    keep_failed_report,
    mark_contracts,
    print_summary,
    unenforced_failures,
    write_common,
    write_model_card,
    write_report,
)
from export.session import ExportError, ExportSession, converter_output, log
from export.staging import Discard, staged_output
from model.registry import GPU_PRECISIONS

REPO = Path(__file__).resolve().parent.parent


def run(args: argparse.Namespace) -> int:
    """Run the requested export; returns the process exit code."""
    from export.coreml.pipeline import export_coreml
    from export.onnx.pipeline import export_onnx_artifact
    from export.qnn.pipeline import export_qnn
    from export.qnn.sdk import DEFAULT_SOCS
    from export.tflite.pipeline import export_tflite

    formats = ["onnx", "tflite", "coreml", "qnn"] if args.format == "all" else [args.format]
    failed_dir = stale_failed = None
    with converter_output(Path(args.out), f"export_{args.variant}"):
        session = ExportSession(args.variant, args.ckpt, Path(args.out), template=args.template, golden=args.golden,
                                strict=args.strict, gpu_precision=args.gpu_precision)
        log(f"exporting {session.name} ({', '.join(formats)}) to {session.out_dir}")
        with staged_output(session.out_dir) as stage:
            for fmt in formats:
                if fmt == "coreml":
                    export_coreml(session, stage, args.compress, args.int8)
                elif fmt == "tflite":
                    export_tflite(session, stage, args.int8, args.nhwc, not args.no_gpu)
                elif fmt == "onnx":
                    export_onnx_artifact(session, stage)
                elif fmt == "qnn":
                    export_qnn(session, stage, tuple(args.soc or DEFAULT_SOCS), args.int8)
            write_common(session, stage)
            write_report(session, stage)
            failures = gate_failures(session.rows)
            if failures and not args.keep_failed:
                # A model that failed its gate must not replace the artifacts that passed theirs.
                failed_dir = keep_failed_report(stage, session.out_dir / "failed")
                raise Discard
            mark_contracts(stage, failures, unenforced_failures(session.rows))
            write_model_card(session, stage)
        if failed_dir is None:
            stale_failed = drop_stale_failed_report(session.out_dir / "failed")
    code = print_summary(markdown_table(session.rows), session.rows, session.checks, session.out_dir,
                         published=failed_dir is None)
    if stale_failed is not None:
        print(f"removed {stale_failed}: the report of an earlier run whose gate failed (this run published)")
    if failed_dir is not None:
        print(f"gate failed: nothing published; previous artifacts kept; the failed run's report is in "
              f"{failed_dir}; KEEP_FAILED=1 publishes anyway", file=sys.stderr)
    elif failures:
        print("gate failed: published anyway (KEEP_FAILED=1); every contract of this run says parity_gate.passed "
              "= false", file=sys.stderr)
    if not session.license.commercial_use:
        print(f"LICENCE: {session.license.name}: non-commercial use only (see MODEL_CARD.md)")
    return code


def rerun(args: argparse.Namespace) -> int:
    """`make parity`: the parity table of the artifacts already exported, re-measured."""
    from export.rerun import rerun_parity

    with converter_output(Path(args.out), f"parity_{args.variant}"):
        session = rerun_parity(args.variant, args.ckpt, Path(args.out), template=args.template, golden=args.golden,
                               strict=args.strict)
    print(markdown_table(session.rows))
    failed = [r.path for r in session.rows if r.blocking_failures()]
    if failed:
        print(f"PARITY GATE FAILED for {failed}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["coreml", "tflite", "onnx", "qnn", "all", "parity"],
                        help="parity: re-run the artifacts already exported, convert nothing")
    parser.add_argument("--variant", default="xs")
    parser.add_argument("--ckpt", default=None, help="safetensors checkpoint (default: the shipped one)")
    parser.add_argument("--template", default=None,
                        help="template asset (default: the one inside the checkpoint, else the shipped one)")
    parser.add_argument("--out", default=str(REPO / "artifacts"))
    parser.add_argument("--compress", choices=["palettize8", "linear8"], default=None,
                        help="Core ML: also write a compressed package with its own parity figures")
    parser.add_argument("--int8", action="store_true",
                        help="TFLite: also write an int8 model; Core ML: a W8A8 package; QNN: int8 HTP runs")
    parser.add_argument("--soc", action="append", default=None,
                        help="QNN: Snapdragon SoC to compile for (repeatable; default SM8550, SM8650, SM8750)")
    parser.add_argument("--nhwc", action="store_true", help="TFLite: NHWC input for camera buffers")
    parser.add_argument("--no-gpu", action="store_true", help="TFLite: skip the software-Vulkan GPU run")
    parser.add_argument("--gpu-precision", choices=GPU_PRECISIONS, default=None,
                        help="the LiteRT GPU precision the Android app asks for: gated by the TFLite export and "
                             "written into every contract (default: the variant's; xs: fp16)")
    parser.add_argument("--golden", type=int, default=None,
                        help="golden cases the gates run on (default: the variant's; xs: all 40 of export/golden.py)")
    parser.add_argument("--strict", action="store_true",
                        help="enforce the gates over the whole golden set (default: only over its core rest-pose "
                             "cases; the rest is measured and reported)")
    parser.add_argument("--keep-failed", action="store_true",
                        help="publish even when a parity gate fails (its contracts then say parity_gate.passed "
                             "= false); by default such a run publishes nothing and leaves its report in "
                             "artifacts/<variant>/failed/")
    args = parser.parse_args(argv)
    from export.contract import ContractError
    from export.coreml.mil_numpy import UnsupportedMilOp
    from export.tflite.gpu import GpuUnavailable
    from model.checkpoint import CheckpointError
    from model.template import TemplateError

    try:
        return rerun(args) if args.format == "parity" else run(args)
    except (ExportError, CheckpointError, TemplateError, ContractError, GpuUnavailable, UnsupportedMilOp) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
