"""ONNX export pipeline: dynamo export, onnx.checker, onnxruntime parity."""

from __future__ import annotations

import time
from pathlib import Path

from export.contract import write_json_atomic
from export.onnx.convert import export_onnx, run_onnxruntime
from export.session import ExportSession, log


def export_onnx_artifact(session: ExportSession, stage: Path) -> None:
    """ONNX (dynamo) export, onnx.checker, onnxruntime parity."""
    artifact = f"{session.name}.onnx"
    name = session.model.input_name
    t0 = time.perf_counter()
    path = export_onnx(session.model, session.model.example_input(), stage / artifact)
    log(f"exported {artifact} in {time.perf_counter() - t0:.1f} s")
    write_json_atomic(stage / f"{artifact}.contract.json", session.contract("onnx", artifact, "fp32"))
    session.parity("onnxruntime-cpu", "fp32", lambda x: run_onnxruntime(path, {name: x}))
