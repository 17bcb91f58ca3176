"""`python -m export.detector {coreml,tflite,onnx,all}` (make export-detector): the person detector's exports.

Writes under artifacts/detector/: the model files with their contracts, detector_anchors.json,
LICENSE.mediapipe (the weights' licence), parity.json / parity.md (detector parity, accelerator
checks, fp16 range audit). The conversion and the accelerator gates are the mesh's own format
pipelines; staging is the same (a failed export leaves nothing under a final name).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from export.contract import write_json_atomic
from export.detector.contract import ANCHORS_FILE, anchors_payload
from export.detector.parity import DetectorParity, markdown_table
from export.detector.session import DetectorSession
from export.report import merge_same_source, print_summary
from export.session import ExportError, converter_output, log
from export.staging import staged_output

REPO = Path(__file__).resolve().parents[2]


def describe_coreml(path: Path, contract: dict[str, Any]) -> None:
    """Replace the mesh wording that export/coreml/convert.py writes with the detector's, in place."""
    import coremltools as ct

    from export.coreml.convert import CONTRACT_METADATA_KEY

    model = ct.models.MLModel(str(path), skip_model_load=True)
    lic = contract["license"]
    model.license = f"{lic['name']}: {lic['notice']}"
    model.version = f"contract {contract['contract_version']}, {contract['name']}"
    model.short_description = "BlazePose person detector: SSD anchors -> face box + 4 body keypoints (contract)."
    inp = contract["input"]
    model.input_description[inp["name"]] = (
        f"RGB {inp['width']}x{inp['height']}, the letterboxed frame; scaled by {inp['normalization']['scale']:.6g} "
        f"and shifted by {inp['normalization']['bias']:g} inside the model."
    )
    for out in contract["outputs"]:
        model.output_description[out["name"]] = f"{out['shape']} {out['units']}: {out['frame']}"
    meta = model.user_defined_metadata
    meta[CONTRACT_METADATA_KEY] = json.dumps(contract, separators=(",", ":"))
    meta.pop("meshpose.variant", None)
    meta["meshpose.kind"] = "person_detector"
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        model.save(str(tmp / path.name))
        shutil.rmtree(path)
        (tmp / path.name).rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def merge_old_detector_report(old: dict, weights_sha256: str | None, rows: list[DetectorParity],
                              checks: dict[str, Any]) -> tuple[dict[str, dict], dict[str, Any]]:
    """This run's rows and checks merged with those of an earlier parity.json (`old`) of the same weights
    (merge_same_source; with unknown weights nothing old is kept)."""
    return merge_same_source(old, rows, checks,
                             lambda prov: bool(weights_sha256) and (prov or {}).get("weights_sha256") == weights_sha256,
                             f"weights {str(weights_sha256)[:12]}")


def write_detector_report(session: DetectorSession, stage: Path) -> None:
    """Write parity.{json,md}: this run's rows and checks, plus earlier formats' of the same weights."""
    from export.fp16_audit import audit_fp16_ranges, audit_summary

    old_path = session.out_dir / "parity.json"
    old = json.loads(old_path.read_text()) if old_path.is_file() else {}
    paths, checks = merge_old_detector_report(old, session.provenance["weights_sha256"], session.rows,
                                              session.checks)
    audit = audit_summary(audit_fp16_ranges(session.model, session.inputs))
    report = {
        "model": session.name,
        "weights_sha256": (session.model.weights or {}).get("sha256"),
        "host": f"{platform.system()} {platform.machine()}",
        "golden_inputs": session.input_names,
        "paths": list(paths.values()),
        "checks": checks,
        "fp16_audit": audit,
    }
    write_json_atomic(stage / "parity.json", report)
    rows = [DetectorParity(**r) for r in report["paths"]]
    md = [f"# Parity report: {session.name}", "", f"Inputs: {', '.join(session.input_names)} (letterboxed to "
          f"224x224; export/detector/session.py). Reference: PyTorch fp32 on {report['host']}.", "",
          markdown_table(rows), "", "## Accelerator checks", ""]
    md += [f"- **{k}**: {v}" for k, v in checks.items()]
    md += ["", "## fp16 range audit", "", f"- largest magnitude: {audit['largest'][0]['layer']} = "
           f"{audit['largest'][0]['max_abs']:.1f} (fp16 max {audit['fp16_max']:.0f}); flagged: "
           f"{[e['layer'] for e in audit['flagged']] or 'none'}"]
    (stage / "parity.md").write_text("\n".join(md) + "\n")


def run(args: argparse.Namespace) -> int:
    """Run the requested exports; returns the process exit code."""
    from export.coreml.pipeline import export_coreml
    from export.onnx.pipeline import export_onnx_artifact
    from export.tflite.pipeline import export_tflite
    from model.detector.spec import LICENSE_PATH

    if not LICENSE_PATH.is_file():
        raise ExportError(f"{LICENSE_PATH} is missing; run `make detector` first")
    formats = ["onnx", "tflite", "coreml"] if args.format == "all" else [args.format]
    with converter_output(Path(args.out), "export_detector"):
        session = DetectorSession(args.weights, Path(args.out))
        log(f"exporting {session.name} ({', '.join(formats)}) to {session.out_dir}")
        with staged_output(session.out_dir) as stage:
            for fmt in formats:
                if fmt == "coreml":
                    export_coreml(session, stage, args.compress)
                    for pkg in sorted(stage.glob("*.mlpackage")):
                        contract = json.loads((stage / f"{pkg.name}.contract.json").read_text())
                        describe_coreml(pkg, contract)
                elif fmt == "tflite":
                    export_tflite(session, stage, args.int8, args.nhwc, not args.no_gpu)
                elif fmt == "onnx":
                    export_onnx_artifact(session, stage)
            write_json_atomic(stage / ANCHORS_FILE, anchors_payload())
            shutil.copyfile(LICENSE_PATH, stage / "LICENSE.mediapipe")
            write_detector_report(session, stage)
    return print_summary(markdown_table(session.rows), session.rows, session.checks, session.out_dir)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m export.detector", description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["coreml", "tflite", "onnx", "all"])
    parser.add_argument("--weights", default=None, help="converted detector weights (default: those of make detector)")
    parser.add_argument("--out", default=str(REPO / "artifacts"))
    parser.add_argument("--compress", choices=["palettize8", "linear8"], default=None,
                        help="Core ML: also write a compressed package with its own parity figures")
    parser.add_argument("--int8", action="store_true", help="TFLite: also write an int8 model (report only)")
    parser.add_argument("--nhwc", action="store_true", help="TFLite: NHWC input for camera buffers")
    parser.add_argument("--no-gpu", action="store_true", help="TFLite: skip the software-Vulkan GPU run")
    args = parser.parse_args(argv)
    from export.contract import ContractError
    from export.coreml.mil_numpy import UnsupportedMilOp
    from export.tflite.gpu import GpuUnavailable

    try:
        return run(args)
    except (ExportError, ContractError, GpuUnavailable, UnsupportedMilOp) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
