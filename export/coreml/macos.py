"""Checks that need a real Core ML runtime (macOS): predictions and the compute plan.

Not run on the Linux machines of this project: these functions raise PlatformNotSupported
there, and the export reports the step as skipped.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

COMPUTE_UNITS = ("CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE", "ALL")
COMPUTE_PLAN_SKIPPED = "skipped: requires macOS 14.4+"


class PlatformNotSupported(RuntimeError):
    """Raised off macOS, where Core ML cannot run."""


def _require_macos() -> None:
    if platform.system() != "Darwin":
        raise PlatformNotSupported("Core ML predictions need macOS; on Linux use run_mil_fp16 (numpy simulation)")


def run_coreml_macos(mlpackage: Path, inputs: dict[str, np.ndarray], compute_units: str) -> dict[str, np.ndarray]:
    """Predict with Core ML on this Mac; `image` float32 NCHW RGB in [0, 255] is turned into a PIL image."""
    _require_macos()
    import coremltools as ct
    from PIL import Image

    if compute_units not in COMPUTE_UNITS:
        raise ValueError(f"compute_units must be one of {COMPUTE_UNITS}")
    model = ct.models.MLModel(str(mlpackage), compute_units=getattr(ct.ComputeUnit, compute_units))
    pixels = np.clip(np.rint(inputs["image"][0].transpose(1, 2, 0)), 0, 255).astype(np.uint8)
    out = model.predict({"image": Image.fromarray(pixels)})
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


def _macos_at_least(major: int, minor: int) -> bool:
    parts = [int(p) for p in (platform.mac_ver()[0] or "0").split(".")[:2]]
    return tuple(parts + [0] * (2 - len(parts))) >= (major, minor)


def compute_plan_check(mlpackage: Path) -> str:
    """Load MLComputePlan with CPU_AND_NE; 'pass' if every op prefers the Neural Engine, else 'FAIL: ...'.

    Not run on this project's Linux machines (written against coremltools 9's compute_plan API).
    """
    _require_macos()
    if not _macos_at_least(14, 4):
        return f"{COMPUTE_PLAN_SKIPPED} (this Mac runs {platform.mac_ver()[0]})"
    import coremltools as ct

    try:
        from coremltools.models.compute_plan import MLComputePlan
    except ImportError:
        return "skipped: this coremltools has no MLComputePlan"
    compiled = ct.models.MLModel(str(mlpackage), compute_units=ct.ComputeUnit.CPU_AND_NE).get_compiled_model_path()
    try:
        plan = MLComputePlan.load_from_path(path=compiled, compute_units=ct.ComputeUnit.CPU_AND_NE)
    except Exception as exc:  # the runtime raises plain Exceptions on macOS < 14.4
        return f"{COMPUTE_PLAN_SKIPPED} (MLComputePlan failed to load: {exc})"
    program = plan.model_structure.program
    off = []
    for func in program.functions.values():
        for op in func.block.operations:
            usage = plan.get_compute_device_usage_for_mlprogram_operation(op)
            if usage is None or op.operator_name == "const":
                continue
            device = type(usage.preferred_compute_device).__name__
            if "NeuralEngine" not in device:
                off.append(f"{op.operator_name} -> {device}")
    return "pass: every op prefers the Neural Engine" if not off else f"FAIL: {len(off)} ops off the ANE: {off[:5]}"
