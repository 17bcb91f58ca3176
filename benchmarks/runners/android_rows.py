"""The rows of a phone benchmark (`make bench DEVICE=galaxy-s24`): NPU, GPU and CPU as the registry lists
the phone's accelerators, each with its artifact, the tools fetched once, then one benchmark_model run each.

Checked in this order, so the first missing thing is the one named: adb and an attached phone, the
artifacts, then the tools (downloaded when missing), then the runs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import phone_tools
from benchmarks.runners import BenchError
from benchmarks.runners.android import Adb, DeviceLost, PhoneTools, device_props, run_android_model
from export.qnn.sdk import SOCS

ORDER = ("npu", "gpu", "cpu")


@dataclass(frozen=True)
class Row:
    """One accelerator of the phone with the artifact it runs."""

    accelerator: str
    artifact: Path
    precision: str
    soc: str | None = None


def phone_soc(soc_prop: str | None) -> str | None:
    """The Snapdragon model among the compiled SoCs named by `ro.soc.model` (e.g. SM8650), or None."""
    prop = (soc_prop or "").upper()
    return next((name for name in SOCS if name in prop), None)


def plan_rows(device: dict[str, Any], variant: str, artifacts: Path, soc_prop: str | None,
              wanted: str = "all") -> tuple[list[Row], list[str]]:
    """(rows to run, reasons for rows skipped); a row asked for by name that cannot run is an error."""
    accelerators = device.get("accelerators") or {device["accelerator"]: device["accelerator"]}
    names = [a for a in ORDER if accelerators.get(a)] if wanted == "all" else [wanted]
    folder = artifacts / variant
    portable = folder / device["artifact"].format(variant=variant)
    rows, skipped = [], []
    for name in names:
        if not accelerators.get(name):
            why = device.get(f"{name}_note") or "not in its registry"
            raise BenchError(f"{device['name']} has no {name} row: {why}")
        if name != "npu":
            rows.append(Row(name, portable, "fp16" if name == "gpu" else "fp32"))
            continue
        soc = phone_soc(soc_prop)
        if soc is None:
            why = (f"npu: this phone's SoC is {soc_prop or 'unknown (no ro.soc.model)'}; NPU models are compiled "
                   f"for {', '.join(SOCS)} (make export-qnn)")
            if wanted == "npu":
                raise BenchError(why)
            skipped.append(why)
            continue
        artifact = folder / f"meshpose_{variant}_qnn_{soc}.tflite"
        contract = artifact.with_name(artifact.name + ".contract.json")
        precision = json.loads(contract.read_text()).get("precision", "fp16") if contract.is_file() else "fp16"
        rows.append(Row("npu", artifact, precision, soc))
    missing = sorted({str(r.artifact) for r in rows if not r.artifact.is_file()})
    if missing:
        makes = {"npu": f"make export-qnn VARIANT={variant}", "gpu": f"make export-tflite VARIANT={variant}",
                 "cpu": f"make export-tflite VARIANT={variant}"}
        need = sorted({makes[r.accelerator] for r in rows if not r.artifact.is_file()})
        raise BenchError(f"missing {', '.join(missing)}; run {' and '.join(f'`{m}`' for m in need)}")
    return rows, skipped


def fetch_tools(rows: list[Row], benchmark_model: str | None) -> PhoneTools:
    """The binary (the user's, or LiteRT's fetched once with the GPU accelerator it loads) and, with an NPU
    row, the dispatch and QNN libraries. One download error lists every file still missing."""
    accelerators = {r.accelerator for r in rows}
    wanted: dict[str, list[phone_tools.CachedFile]] = {}
    if not benchmark_model:
        wanted["binary"] = [phone_tools.benchmark_model_file()]
        if "gpu" in accelerators:
            wanted["gpu"] = [phone_tools.gpu_accelerator_file()]
    npu = next((r for r in rows if r.accelerator == "npu"), None)
    if npu is not None:
        wanted["dispatch"] = [phone_tools.dispatch_library_file()]
        wanted["qnn"] = phone_tools.qnn_runtime_files(SOCS[npu.soc].htp_arch)
    phone_tools.ensure([f for files in wanted.values() for f in files])
    paths = {k: [f.path for f in files] for k, files in wanted.items()}
    return PhoneTools(Path(benchmark_model) if benchmark_model else paths["binary"][0],
                      dispatch_library=paths["dispatch"][0] if npu else None,
                      qnn_libraries=tuple(paths.get("qnn", ())),
                      gpu_accelerator=paths["gpu"][0] if "gpu" in paths else None)


def run_android_rows(device: dict[str, Any], *, adb: Adb, variant: str, artifacts: Path, wanted: str,
                     benchmark_model: str | None, runs: int, warmup: int, sustained_s: float, cooldown_s: float,
                     results_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every row's result, and one line per row that failed (the others still run; a lost phone stops all)."""
    adb.require_device()
    soc_prop = device_props(adb).get("soc")
    rows, skipped = plan_rows(device, variant, artifacts, soc_prop, wanted)
    for why in skipped:
        print(f"skipped {why}", file=sys.stderr)
    tools = fetch_tools(rows, benchmark_model)
    results, failures = [], []
    for row in rows:
        print(f">> {device['name']} {row.accelerator}: {row.artifact.name}", file=sys.stderr)
        try:
            results.append(run_android_model(device, row.artifact, tools=tools, adb=adb, runs=runs, warmup=warmup,
                                             sustained_s=sustained_s, cooldown_s=cooldown_s, variant=variant,
                                             accelerator=row.accelerator, precision=row.precision,
                                             results_dir=results_dir))
        except DeviceLost:
            raise
        except BenchError as exc:
            failures.append(f"{row.accelerator} row failed: {exc}")
    return results, failures
