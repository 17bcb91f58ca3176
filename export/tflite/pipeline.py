"""TFLite export pipeline: fp32 + fp16 weights (+ int8), XNNPACK parity, LiteRT GPU-delegate gates."""

from __future__ import annotations

import time
from pathlib import Path

from export.contract import write_json_atomic
from export.golden import calibration_inputs
from export.session import ExportError, ExportSession, log


def export_tflite(session: ExportSession, stage: Path, int8: bool, nhwc: bool, gpu: bool) -> None:
    """TFLite fp32 + fp16-weights (+ int8) with XNNPACK parity and the GPU-delegate gates."""
    from export import tflite as tfl

    model = session.build(nhwc=nhwc)
    name = model.input_name
    tag = "_nhwc" if nhwc else ""  # file-name and report-path tag
    precisions = ["fp32", "fp16"] + (["int8"] if int8 else [])
    h, w = session.spec.input_hw
    for precision in precisions:
        suffix = "" if precision == "fp32" else f"_{precision}"
        artifact = f"{session.name}{tag}{suffix}.tflite"
        calib = None
        if precision == "int8":
            t0 = time.perf_counter()
            calib = calibration_inputs(h, w, nhwc=nhwc)
            log(f"int8 calibration: {len(calib)} training-like renders in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        path = tfl.convert_tflite(model, model.example_input(), stage / artifact, precision=precision,
                                  calibration=calib)
        log(f"converted {artifact} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")
        contract = session.contract("tflite", artifact, "fp16-weights" if precision == "fp16" else precision,
                                    nhwc=nhwc)
        write_json_atomic(stage / f"{artifact}.contract.json", contract)
        label = {"fp32": "", "fp16": "-fp16w", "int8": "-int8"}[precision]
        session.parity(f"tflite{tag}{label}-xnnpack", precision,
                       lambda x, p=path: tfl.run_xnnpack(p, {name: x}), nhwc=nhwc)
        if precision == "int8":
            continue
        analysis = tfl.analyze_gpu_compat(path)
        session.checks[f"{artifact} LiteRT analyzer (GPU compatibility)"] = (
            "pass: no incompatible op" if analysis.ok else f"FAIL: {analysis.incompatible[:5]}"
        )
        if not analysis.ok:
            raise ExportError(f"{artifact}: GPU-incompatible ops {analysis.incompatible[:5]}")
        if gpu and precision == "fp32":
            _gpu_gate(session, path, artifact, name, nhwc)


def _gpu_gate(session: ExportSession, path: Path, artifact: str, name: str, nhwc: bool) -> None:
    """LiteRT CompiledModel on the GPU accelerator (software Vulkan here): full delegation and parity at
    the variant's GPU precision; a variant run in fp32 gets its fp16 figures reported beside."""
    from export import tflite as tfl

    tag = "_nhwc" if nhwc else ""
    gated = session.spec.gpu_precision
    res = {}
    for precision in [gated] + (["fp16"] if gated == "fp32" else []):

        def run_gpu(x, precision=precision):
            r = tfl.run_gpu(path, {name: x}, precision=precision)
            res[precision] = r.fully_accelerated
            return r.outputs

        session.parity(f"tflite{tag}-gpu-{precision} (lavapipe, functional)", precision, run_gpu, nhwc=nhwc,
                       gated=precision == gated)
    session.checks[f"{artifact} CompiledModel GPU (software Vulkan)"] = (
        f"pass: fully accelerated ({gated})" if res.get(gated) else "FAIL: not fully accelerated"
    )
    if not res.get(gated):
        raise ExportError(f"{artifact} is not fully accelerated by the LiteRT GPU accelerator")
