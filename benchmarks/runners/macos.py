"""macOS runner: coremltools predictions with each compute-unit set, plus the compute plan's
per-op placement. Needs macOS (Core ML); elsewhere it says so and stops.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runners import BenchError
from benchmarks.runners.common import artifact_info, base_result, time_calls

COMPUTE_UNITS = ("CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE", "ALL")


def run_macos(device: dict, mlpackage: Path, *, variant: str, runs: int, warmup: int) -> list[dict[str, Any]]:
    """One result per compute-unit set; the compute plan check goes in the notes."""
    if platform.system() != "Darwin":
        raise BenchError("the mac runner needs macOS (Core ML); on Linux use DEVICE=host")
    if not mlpackage.exists():
        raise BenchError(f"{mlpackage} missing; run `make export-coreml VARIANT={variant}`")
    import coremltools as ct
    from PIL import Image

    from export.coreml.macos import compute_plan_check

    plan = compute_plan_check(mlpackage)
    results = []
    for units in COMPUTE_UNITS:
        t0 = time.perf_counter()
        model = ct.models.MLModel(str(mlpackage), compute_units=getattr(ct.ComputeUnit, units))
        load_ms = (time.perf_counter() - t0) * 1e3
        spec = model.get_spec().description.input[0].type.imageType
        img = Image.fromarray(np.full((spec.height, spec.width, 3), 127, np.uint8))
        first, samples = time_calls(lambda m=model, i=img: m.predict({"image": i}), warmup, runs)
        results.append(base_result(
            {**device, "os": f"macOS {platform.mac_ver()[0]}"},
            {"name": "coreml", "version": ct.__version__, "accelerator": units.lower(), "precision": "fp16",
             "threads": None, "functional_only": False},
            artifact_info(mlpackage, variant),
            {"warmup_runs": warmup, "timed_runs": runs, "batch": 1, "sustained_seconds": None,
             "cooldown_seconds": None},
            first, load_ms, samples, "benchmarks.runners.macos", notes=f"compute plan (CPU_AND_NE): {plan}",
        ))
    return results
