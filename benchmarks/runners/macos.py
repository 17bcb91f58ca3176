"""macOS runner: coremltools predictions with each compute-unit set, plus the compute plan's
per-op placement, for the variant's fp16 package and each compressed one exported beside it
(palettize8, linear8, w8a8: the W8A8 package is the one the A17 Pro / M4 Neural Engine runs with
int8 activations). Needs macOS (Core ML); elsewhere it says so and stops.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runners import BenchError
from benchmarks.runners.common import artifact_info, base_result, time_calls

COMPUTE_UNITS = ("CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE", "ALL")


def coreml_packages(mlpackage: Path, variant: str) -> list[tuple[Path, str]]:
    """(package, precision) for the registry's package `mlpackage` and every compressed package of the
    variant beside it, the precision read from each one's contract (a package without one is refused)."""
    if not mlpackage.exists():
        raise BenchError(f"{mlpackage} missing; run `make export-coreml VARIANT={variant}`")
    others = sorted(p for p in mlpackage.parent.glob(f"meshpose_{variant}_*.mlpackage") if p != mlpackage)
    out = []
    for package in [mlpackage, *others]:
        contract = package.with_name(package.name + ".contract.json")
        if not contract.is_file():
            raise BenchError(f"{contract} missing: re-export {package.name} (make export-coreml VARIANT={variant}) "
                             "or remove it")
        out.append((package, json.loads(contract.read_text())["precision"]))
    return out


def run_macos(device: dict, mlpackage: Path, *, variant: str, runs: int, warmup: int) -> list[dict[str, Any]]:
    """One result per package (coreml_packages) and compute-unit set; the compute plan check goes in the
    notes."""
    if platform.system() != "Darwin":
        raise BenchError("the mac runner needs macOS (Core ML); on Linux use DEVICE=host")
    packages = coreml_packages(mlpackage, variant)
    results = []
    for package, precision in packages:
        results += _run_package(device, package, precision, variant, runs, warmup)
    return results


def _run_package(device: dict, mlpackage: Path, precision: str, variant: str, runs: int,
                 warmup: int) -> list[dict[str, Any]]:
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
            {"name": "coreml", "version": ct.__version__, "accelerator": units.lower(), "precision": precision,
             "threads": None, "functional_only": False},
            artifact_info(mlpackage, variant),
            {"warmup_runs": warmup, "timed_runs": runs, "batch": 1, "sustained_seconds": None,
             "cooldown_seconds": None},
            first, load_ms, samples, "benchmarks.runners.macos", notes=f"compute plan (CPU_AND_NE): {plan}",
        ))
    return results
