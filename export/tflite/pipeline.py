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
        _require_gpu_compatible(session, path)
        if gpu and precision == "fp32":
            _gpu_gate(session, path, artifact, name, nhwc)
        if precision == "fp32" and nhwc:
            log("two-part GPU deployment: NCHW input only, not written by an NHWC export (the NCHW export writes it)")
        elif precision == "fp32":
            _two_part_deployment(session, model, stage, gpu)


def _require_gpu_compatible(session: ExportSession, path: Path) -> None:
    """The LiteRT analyzer's GPU compatibility check of one .tflite, recorded in the session's checks; an
    incompatible op stops the export."""
    from export import tflite as tfl

    analysis = tfl.analyze_gpu_compat(path)
    session.checks[f"{path.name} LiteRT analyzer (GPU compatibility)"] = (
        "pass: no incompatible op" if analysis.ok else f"FAIL: {analysis.incompatible[:5]}")
    if not analysis.ok:
        raise ExportError(f"{path.name}: GPU-incompatible ops {analysis.incompatible[:5]}")


# Reported beside the gated GPU precision: the two an app would choose between for speed (fp32 is the
# accelerator's slowest mode and reported only where a variant gates it).
REPORTED_GPU_PRECISIONS = ("fp16", "fp16-fp32acc")


def _gpu_gate(session: ExportSession, path: Path, artifact: str, name: str, nhwc: bool) -> None:
    """LiteRT compiled model on the GPU accelerator (software Vulkan here): full delegation and parity at
    the session's GPU precision (the contract's `gpu_precision`); the other fp16 modes' figures are
    reported beside, ungated. Each precision is compiled once for all the parity inputs."""
    from export import tflite as tfl

    tag = "_nhwc" if nhwc else ""
    gated = session.gpu_precision
    for precision in [gated] + [p for p in REPORTED_GPU_PRECISIONS if p != gated]:
        try:
            compiled = tfl.compile_gpu(path, precision)
        except tfl.GpuRefused as exc:
            if precision == gated:
                session.checks[f"{artifact} CompiledModel GPU (software Vulkan)"] = f"FAIL: {exc}"
                raise ExportError(f"{artifact} is not fully accelerated by the LiteRT GPU accelerator: {exc}") from None
            log(f"{artifact}: {exc}; no parity row")
            continue
        if precision == gated:
            session.checks[f"{artifact} CompiledModel GPU (software Vulkan)"] = f"pass: fully accelerated ({gated})"
        arithmetic = "fp32" if precision == "fp32" else "fp16"  # fp32 accumulation still stores fp16
        try:
            session.parity(f"tflite{tag}-gpu-{precision} (lavapipe, functional)", arithmetic,
                           lambda x, compiled=compiled: compiled.run({name: x}), nhwc=nhwc, gated=precision == gated)
        finally:
            compiled.close()


def _two_part_deployment(session: ExportSession, model, stage: Path, gpu: bool) -> None:
    """The two-model GPU deployment (export/tflite/two_part.py): the backbone at the GPU's fp32, the heads in fp16
    with fp32 accumulation, published as two .tflite files with one version 4 contract. Its parts chained on
    XNNPACK make its fp32 row (what `make parity` re-runs); with `gpu`, both compiled for the GPU make its GPU
    row, gated like the one-file GPU row (its arithmetic is fp16)."""
    from export import tflite as tfl
    from export.contract import build_parts_contract
    from export.tflite import two_part as tp

    t0 = time.perf_counter()
    example = model.example_input()
    paths = tp.convert_two_part(model, example, stage, names=tp.part_file_names(session.name))
    for path in paths:
        _require_gpu_compatible(session, path)
    deployment = tp.deployment_name(session.name)
    contract = build_parts_contract(session.contract("tflite", deployment, "fp32"), deployment,
                                    tp.contract_parts(model, example, paths))
    write_json_atomic(stage / f"{deployment}.contract.json", contract)
    session.parity(tp.XNNPACK_ROW, "fp32", lambda x: tp.run_parts_xnnpack(list(paths), {model.input_name: x}))
    if not gpu:
        return
    try:
        two_part = tp.TwoPartGpu(*paths)
    except tfl.GpuRefused as exc:
        session.checks[f"{deployment} CompiledModel GPU (software Vulkan)"] = f"FAIL: {exc}"
        raise ExportError(f"{deployment}: a part is not fully accelerated by the LiteRT GPU accelerator: "
                          f"{exc}") from None
    session.checks[f"{deployment} CompiledModel GPU (software Vulkan)"] = (
        f"pass: both parts fully accelerated ({' / '.join(tp.TWO_PART_PRECISIONS)})")
    log(f"two-part GPU deployment {', '.join(p.name for p in paths)} converted and compiled in "
        f"{time.perf_counter() - t0:.1f} s")
    try:
        session.parity(tp.GPU_ROW, "fp16", lambda x: two_part.run({model.input_name: x}))
    finally:
        two_part.close()
