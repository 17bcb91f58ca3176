"""GPU-delegate gates: the LiteRT model analyzer (GPU compatibility) and a real run through
LiteRT's compiled model with the GPU accelerator on a software Vulkan device (Mesa lavapipe).

The software device computes in fp16 like a phone GPU, so the run checks delegation and
fp16 numerics; its timings say nothing about phones. Both gates are needed: the analyzer
passes some graphs the runtime then refuses (seen here with a matmul whose first operand
is constant).

The analyzer of the ai-edge-litert 2.3.0 wheel prints "looks compatible" for every graph
(ARG_MAX, GATHER_ND, STABLEHLO_SORT, CUMSUM included; its binary holds no per-op GPU
warning text), so the static gate also checks each op of its dump against GPU_OPS, the
TFLite GPU delegate's documented op set.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from export.tflite.litert_c import GpuModel

COMPATIBLE_LINE = "Your model looks compatible with GPU delegate"
INSTALL_HINT = "run `make system-gpu` (installs Mesa lavapipe >= 25 from bookworm-backports)"


# Builtin ops the TFLite/LiteRT GPU delegate documents as supported (float graphs; QUANTIZE/
# DEQUANTIZE for fp16/int8 weight storage). Conservative: an op missing here fails the gate
# until it is shown to run fully accelerated through run_gpu and added.
GPU_OPS = frozenset({
    "ABS", "ADD", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CONCATENATION", "CONV_2D", "COS",
    "DEPTHWISE_CONV_2D", "DEQUANTIZE", "DIV", "ELU", "EXP", "FULLY_CONNECTED", "HARD_SWISH",
    "LOG", "LOGISTIC", "MAX_POOL_2D", "MAXIMUM", "MEAN", "MINIMUM", "MUL", "NEG", "PAD",
    "POW", "PRELU", "QUANTIZE", "RELU", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SIN", "SLICE", "SOFTMAX", "SQRT", "SQUARE",
    "SQUARED_DIFFERENCE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
})
ICD_DIR = Path("/usr/share/vulkan/icd.d")  # where Mesa installs the lavapipe ICD manifest
_OP_LINE = re.compile(r"Op#\d+ (\w+)\(")


class GpuUnavailable(RuntimeError):
    """No usable Vulkan device for the LiteRT GPU accelerator."""


@dataclass
class AnalyzerReport:
    """LiteRT analyzer verdict in GPU-compatibility mode."""

    ok: bool
    incompatible: list[str] = field(default_factory=list)
    raw: str = ""


@dataclass
class GpuRunResult:
    """Outputs of one GPU run and whether every op ran on the GPU."""

    outputs: dict[str, np.ndarray]
    fully_accelerated: bool


def analyze_gpu_compat(path: Path) -> AnalyzerReport:
    """Run the analyzer with GPU compatibility checks; flag its warnings and ops outside GPU_OPS."""
    from ai_edge_litert import _pywrap_analyzer_wrapper as analyzer

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no .tflite at {path}")
    # Arguments: model path, "the first argument is a file path", GPU compatibility mode.
    text = analyzer.ModelAnalyzer(str(path), True, True)
    flagged = [
        line.strip()
        for line in text.splitlines()
        if re.search(r"GPU COMPATIBILITY WARNING|not supported|isn't supported|unsupported", line, re.I)
    ]
    outside = sorted(set(_OP_LINE.findall(text)) - GPU_OPS)
    flagged += [f"{op}: not in the GPU delegate's op set" for op in outside]
    return AnalyzerReport(ok=COMPATIBLE_LINE in text and not flagged, incompatible=flagged, raw=text)


def vulkan_environment() -> None:
    """Make the WebGPU/Vulkan stack startable (a runtime dir) and refuse early when no Vulkan driver is installed."""
    # The WebGPU/Vulkan stack wants a runtime dir; CI and fresh shells often have none.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run_dir = Path("/tmp") / f"meshpose-xdg-{os.getuid()}"
        run_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)
    if not any(ICD_DIR.glob("lvp_icd*.json")) and shutil.which("vulkaninfo") is None:
        raise GpuUnavailable(f"no Vulkan driver found (no lavapipe ICD under {ICD_DIR}); {INSTALL_HINT}")


class GpuRefused(RuntimeError):
    """The LiteRT GPU accelerator would not take the whole graph (there is never a CPU fallback)."""


def compile_gpu(path: Path, precision: str = "fp16") -> GpuModel:
    """`path` compiled once for the GPU accelerator alone at `precision`, for as many runs as wanted
    (shaders take seconds to build on lavapipe; a compiled model gives the bits of a fresh compile).

    precision "fp16": the delegate's default, fp16 arithmetic (phones run it so; lavapipe too, with
    fp16 accumulation); "fp32": the precision an app asks for when fp16 is not accurate enough for a model
    (the Python API's `GpuOptions(enforce_f32=True)`); "fp16-fp32acc": fp16 storage with fp32 accumulation
    in the convolutions and matmuls (Kotlin's `GpuOptions.Precision.FP16_WITH_FP32_ACCUM`), which the
    Python API cannot ask for. Every precision goes through LiteRT's C API (`export.tflite.litert_c`),
    the same runtime and accelerator library as the Python API, with its bits (tests/test_litert_c.py).
    Raises GpuRefused when part of the graph would not run on the GPU, GpuUnavailable when the
    accelerator cannot start. The caller closes the model.
    """
    from export.tflite.litert_c import GPU_PRECISIONS, GpuModel, LiteRtError

    if precision not in GPU_PRECISIONS:
        raise ValueError(f"GPU precision {precision!r}: use one of {', '.join(map(repr, GPU_PRECISIONS))}")
    vulkan_environment()
    try:
        model = GpuModel(path, precision)
    except LiteRtError as exc:
        if "LiteRtCreateCompiledModel" in str(exc):  # the accelerator refused an op of the graph
            raise GpuRefused(f"the LiteRT GPU accelerator refused {Path(path).name} at {precision} ({exc})") from None
        raise GpuUnavailable(f"LiteRT GPU accelerator failed to start: {exc}; {INSTALL_HINT}") from None
    if not model.fully_accelerated:
        model.close()
        raise GpuRefused(f"{Path(path).name} does not run fully on the LiteRT GPU accelerator at {precision}")
    return model


def run_gpu(path: Path, inputs: dict[str, np.ndarray], precision: str = "fp16") -> GpuRunResult:
    """Compile for the GPU accelerator only (no CPU fallback) at `precision` (see compile_gpu) and run once.
    A graph the GPU cannot take fully is reported as fully_accelerated=False with no outputs, never silently
    run on the CPU. For many inputs, compile once with compile_gpu instead.
    """
    try:
        model = compile_gpu(path, precision)
    except GpuRefused:
        return GpuRunResult(outputs={}, fully_accelerated=False)
    try:
        return GpuRunResult(outputs=model.run(inputs), fully_accelerated=True)
    finally:
        model.close()
