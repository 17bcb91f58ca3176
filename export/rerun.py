"""`make parity`: run the artifacts already in artifacts/<variant>/ on the golden inputs again, without
converting anything, and print one parity table.

The reference is rebuilt from the checkpoint the artifacts were exported from (their contract names
its hash); a different checkpoint is refused rather than compared. CPU paths and the Core ML fp16
simulation are re-run; the software-GPU rows take minutes and stay those of the export.
"""

from __future__ import annotations

import json
from pathlib import Path

from export.session import ExportError, ExportSession, log
from model.checkpoint import file_sha256


def _contract(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".contract.json").read_text())


def rerun_parity(variant: str, ckpt: str | None, out_root: Path) -> ExportSession:
    """Rows of every artifact of `variant` under `out_root`, re-measured against PyTorch."""
    art = out_root / variant
    # SoC builds (make export-qnn) run only on their NPU or its simulator: their rows come from the export.
    artifacts = sorted(p for p in art.glob(f"meshpose_{variant}*")
                       if p.suffix in (".onnx", ".tflite", ".mlpackage") and "_qnn_" not in p.name)
    if not artifacts:
        raise ExportError(f"no exported model in {art}; run `make export VARIANT={variant}` first")
    session = ExportSession(variant, ckpt, out_root)
    want = _contract(artifacts[0])["checkpoint"].get("sha256")
    have = file_sha256(session.ckpt) if session.ckpt else None
    if want != have:
        raise ExportError(f"the artifacts in {art} were exported from checkpoint sha256 {str(want)[:12]}, "
                          f"not from {session.ckpt or 'an untrained network'} ({str(have)[:12]}): pass CKPT= "
                          f"that file, or export again")
    name = session.model.input_name
    for path in artifacts:
        contract = _contract(path)
        precision, nhwc = contract["precision"], contract["input"]["layout"] == "NHWC"
        log(f"re-running {path.name}")
        if path.suffix == ".onnx":
            from export.onnx.convert import run_onnxruntime

            session.parity("onnxruntime-cpu", "fp32", lambda x, p=path: run_onnxruntime(p, {name: x}))
        elif path.suffix == ".tflite":
            from export.tflite.run import run_xnnpack

            label = {"fp32": "", "fp16-weights": "-fp16w", "int8": "-int8"}[precision]
            arithmetic = {"fp16-weights": "fp16"}.get(precision, precision)
            session.parity(f"tflite{'_nhwc' if nhwc else ''}{label}-xnnpack", arithmetic,
                           lambda x, p=path: run_xnnpack(p, {name: x}), nhwc=nhwc)
        else:
            from export import coreml as cm

            label = "" if precision == "fp16" else f"-{precision}"
            session.parity(f"coreml{label}-fp16-numpy-sim", "fp16" if precision == "fp16" else "int8",
                           lambda x, p=path: cm.run_mil_fp16(p, {name: x}))
    return session
