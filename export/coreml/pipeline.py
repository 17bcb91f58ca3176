"""Core ML export pipeline: .mlpackage (+ compressed variant), ANE residency gate, fp16 parity."""

from __future__ import annotations

import platform
import time
from pathlib import Path

from export.contract import write_json_atomic
from export.session import ExportError, ExportSession, log

# Calibration renders for Core ML W8A8 (each runs through the numpy MIL executor, about 1 s apiece here).
W8A8_CALIBRATION = 64


def export_coreml(session: ExportSession, stage: Path, compress: str | None, int8: bool = False) -> None:
    """Core ML package + ANE residency + fp16 parity (numpy MIL on Linux; real predictions on macOS);
    `compress` adds a weight-compressed package, `int8` a W8A8 one (int8 weights and activations)."""
    from export import coreml as cm
    from export.golden import calibration_inputs

    model = session.build(normalize_in_graph=False)
    name = model.input_name
    variants = [("", None)] + ([(f"_{compress}", compress)] if compress else []) + ([("_w8a8", "w8a8")] if int8 else [])
    for suffix, comp in variants:
        artifact = f"{session.name}{suffix}.mlpackage"
        label = suffix.replace("_", "-")
        contract = session.contract(
            "coreml", artifact, comp or "fp16", input_dtype="image", normalization_baked_in=True
        )
        t0 = time.perf_counter()
        calibration = None
        if comp == "w8a8":
            h, w = session.spec.input_hw
            calibration = calibration_inputs(h, w, W8A8_CALIBRATION)
            log(f"W8A8 calibration: {len(calibration)} training-like renders through the numpy MIL executor")
        path = cm.convert_coreml(model, model.example_input(), stage / artifact, contract=contract, compress=comp,
                                 calibration=calibration)
        log(f"converted {artifact} in {time.perf_counter() - t0:.1f} s")
        write_json_atomic(stage / f"{artifact}.contract.json", contract)
        report = cm.check_ane_residency(path)
        session.checks[f"{artifact} ANE residency (static MIL check)"] = (
            f"{'pass' if report.ok else 'FAIL'}: {report.num_ops} ops, offending {len(report.offending)}"
            + (f" ({report.offending[:3]})" if report.offending else "")
        )
        session.checks[f"{artifact} MLComputePlan"] = report.compute_plan
        if not report.ok:
            raise ExportError(f"{artifact} has ops the Neural Engine does not run: {report.offending[:5]}")
        arith = "fp16" if comp is None else "int8"
        session.parity(f"coreml{label}-fp16-numpy-sim", arith, lambda x, p=path: cm.run_mil_fp16(p, {name: x}))
        if platform.system() == "Darwin":
            for units in ("CPU_ONLY", "CPU_AND_NE"):
                session.parity(f"coreml{label}-{units}", arith,
                               lambda x, p=path, u=units: cm.run_coreml_macos(p, {name: x}, u))
        else:
            log("Core ML predictions skipped: they need macOS (parity uses the numpy fp16 MIL executor)")
