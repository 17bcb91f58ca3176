"""`make export-qnn`: the model for Snapdragon NPUs, per SoC, with residency and simulator parity.

For each SoC: (a) the .tflite compiled ahead of time by LiteRT's Qualcomm plugin (runs through LiteRT's
NPU dispatch on the phone), gated on every op on the NPU in one partition; (b) the ONNX model compiled by
ONNX Runtime's QNN EP into an HTP context binary (an EPContext model, loaded by ONNX Runtime QNN on the
phone). The ONNX model is then run on the HTP simulator with CPU fallback disabled, in fp16 (gated like the
other fp16 paths) and, with INT8=1, as mixed-precision QDQ models (8-bit weights, 8- or 16-bit activations;
the parts INT8 cannot carry stay in float and run on the HTP in fp16), gated like every int8 path.
"""

from __future__ import annotations

import ast
import shutil
import time
from pathlib import Path

from export.contract import validate_contract, write_json_atomic
from export.golden import calibration_inputs
from export.qnn.sdk import DEFAULT_SOCS, QnnUnavailable, soc
from export.session import ExportError, ExportSession, log
from model.network.int8_region import deploy_float_modules

# Module paths whose ONNX nodes stay float in the QDQ models: the same parts as the TFLite int8 recipe's
# INT8_FLOAT_SCOPES (export/tflite/convert.py, measured there): both heads with their argsoftmax, the stem and
# the first four inverted-residual blocks. Nodes outside every module (the coordinate tail) stay float too.
# Whole-graph W8A8 on the HTP simulator was off by median 1.30 px on the golden set, 0.20 px with these.
QDQ_FLOAT_MODULES = deploy_float_modules()
# Activation ranges from histograms, cut at ONNX Runtime's default 99.999th percentile, instead of the
# calibration set's extremes. Measured 2026-12-04 on the golden set (shipped xs, HTP simulator): W8A8 median /
# p99 / max 0.174 / 1.61 / 3.9 px with min-max ranges (misses the int8 gate's p99), 0.157 / 1.30 / 4.7 with these.
QDQ_CALIBRATION = "Percentile"
PARITY_SOC = "SM8650"  # the simulator's numerics are the same for every SoC here (checked on tiny: 0.0 px apart)


def _fp32_sources(session: ExportSession, stage: Path) -> tuple[Path, Path]:
    """The fp32 .tflite and .onnx of this export (converted here when the run did not make them)."""
    from export import tflite as tfl
    from export.onnx.convert import export_onnx

    tflite, onnx = stage / f"{session.name}.tflite", stage / f"{session.name}.onnx"
    work = stage / ".qnn-sources"
    model = session.model  # the session's fp32 NCHW deploy graph, which the tflite and onnx pipelines export too
    if not tflite.is_file():
        tflite = tfl.convert_tflite(model, model.example_input(), work / tflite.name, precision="fp32")
    if not onnx.is_file():
        onnx = export_onnx(model, model.example_input(), work / onnx.name)
    return tflite, onnx


def float_nodes(onnx_path: Path, modules: tuple[str, ...] = QDQ_FLOAT_MODULES) -> list[str]:
    """Names of the ONNX nodes that belong to one of `modules` (or to no module at all), read from the
    module scopes torch.onnx records on every node (`pkg.torch.onnx.name_scopes`)."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    names = []
    for node in graph.node:
        meta = {p.key: p.value for p in node.metadata_props}
        if "pkg.torch.onnx.name_scopes" not in meta:
            raise ExportError(f"{onnx_path}: node {node.name} has no module scope; the selective QDQ recipe "
                              "needs the scopes torch.onnx.export (dynamo) writes")
        scopes = [s for s in ast.literal_eval(meta["pkg.torch.onnx.name_scopes"])[:-1] if s]  # last: the op
        if not scopes or any(s == m or s.startswith(m + ".") for s in scopes for m in modules):
            names.append(node.name)
    return names


def _quantized_qdq(session: ExportSession, onnx: Path, out: Path, activations: str) -> Path:
    """A QDQ copy of the ONNX model by ONNX Runtime's QNN recipe (`get_qnn_qdq_config`: per-channel uint8
    weights; uint8 activations for "int8" (W8A8), uint16 for "w8a16"), calibrated (QDQ_CALIBRATION) on the
    training-like renders of export/golden.py, none of which shares a pose with the golden inputs; the nodes
    of QDQ_FLOAT_MODULES stay float."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantType, quantize
    from onnxruntime.quantization.execution_providers.qnn import get_qnn_qdq_config

    h, w = session.spec.input_hw
    calib = calibration_inputs(h, w)
    name = session.model.input_name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter({name: x} for x in calib)

        def get_next(self):
            return next(self.items, None)

    act = {"int8": QuantType.QUInt8, "w8a16": QuantType.QUInt16}[activations]
    config = get_qnn_qdq_config(str(onnx), Reader(), calibrate_method=CalibrationMethod[QDQ_CALIBRATION],
                                activation_type=act, weight_type=QuantType.QUInt8, per_channel=True,
                                nodes_to_exclude=float_nodes(onnx))
    out.parent.mkdir(parents=True, exist_ok=True)  # `make export` stages the fp32 sources elsewhere
    quantize(str(onnx), str(out), config)
    return out


def export_qnn(session: ExportSession, stage: Path, socs: tuple[str, ...] = DEFAULT_SOCS, int8: bool = False) -> None:
    """Per-SoC AOT .tflite and EPContext .onnx with contracts, residency checks and HTP simulator parity."""
    from export.qnn.aot import compile_for_soc
    from export.qnn.htp import htp_session, run_htp

    for soc_name in socs:
        soc(soc_name)  # an unknown SoC is refused before anything is converted
    try:
        tflite, onnx = _fp32_sources(session, stage)
        name = session.model.input_name
        for soc_name in socs:
            s = soc(soc_name)
            artifact = f"{session.name}_qnn_{soc_name}.tflite"
            t0 = time.perf_counter()
            residency = compile_for_soc(tflite, soc_name, stage / artifact)
            log(f"LiteRT AOT {artifact}: {residency} ({time.perf_counter() - t0:.1f} s)")
            session.checks[f"{artifact} NPU residency (LiteRT AOT, {s.phone})"] = (
                f"{'pass' if residency.full else 'FAIL'}: {residency}")
            if not residency.full:
                raise ExportError(f"{artifact}: not every op runs on the {soc_name} NPU ({residency})")
            # The HTP runs float graphs in fp16: the compiled file holds about half the fp32 source's weight bytes.
            contract = session.contract("tflite", artifact, "fp16")
            contract["target"] = {"vendor": "qualcomm", "soc": soc_name, "phone": s.phone, "htp_arch": s.htp_arch,
                                  "runtime": "LiteRT CompiledModel, NPU accelerator (Qualcomm dispatch library)",
                                  "residency": residency.as_dict()}
            validate_contract(contract)
            write_json_atomic(stage / f"{artifact}.contract.json", contract)

            ctx = f"{session.name}_qnn_{soc_name}_ctx.onnx"
            t0 = time.perf_counter()
            htp_session(onnx, soc_name, fp16=True, context_out=stage / ctx)
            log(f"QNN EPContext {ctx}: HTP context for {soc_name}, every op on the NPU "
                f"({time.perf_counter() - t0:.1f} s)")
            session.checks[f"{ctx} NPU residency (ONNX Runtime QNN, CPU fallback disabled)"] = "pass: session created"
            contract = session.contract("onnx", ctx, "fp16")
            contract["target"] = {"vendor": "qualcomm", "soc": soc_name, "phone": s.phone, "htp_arch": s.htp_arch,
                                  "runtime": "ONNX Runtime with the QNN execution provider (HTP backend), EPContext",
                                  "residency": {"full": True, "cpu_fallback": "disabled"}}
            validate_contract(contract)
            write_json_atomic(stage / f"{ctx}.contract.json", contract)

        parity_soc = PARITY_SOC if PARITY_SOC in socs else socs[0]
        log(f"QNN HTP simulator ({parity_soc}) on {len(session.inputs)} golden inputs: fp16 (seconds per input)")
        sim = htp_session(onnx, parity_soc, fp16=True)
        session.parity(f"qnn-htp-fp16-sim ({parity_soc})", "fp16", lambda x: run_htp(sim, {name: x}))
        if int8:  # W8A8 and W8A16 (16-bit activations, QNN's A16W8); the float nodes run in fp16
            for act in ("int8", "w8a16"):
                qdq = _quantized_qdq(session, onnx, stage / ".qnn-sources" / f"{session.name}_{act}.onnx", act)
                sim_q = htp_session(qdq, parity_soc, fp16=True)
                session.parity(f"qnn-htp-{act}-sim ({parity_soc})", "int8", lambda x, s=sim_q: run_htp(s, {name: x}))
    except (QnnUnavailable, RuntimeError) as exc:
        raise ExportError(str(exc)) from None
    finally:
        shutil.rmtree(stage / ".qnn-sources", ignore_errors=True)
