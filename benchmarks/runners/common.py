"""Pieces shared by the runners: timing loops, artifact identity, result skeletons."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.results import now_utc
from benchmarks.stats import fps_from_p50, summarize_ms
from export.artifact_run import artifact_hash

REPO = Path(__file__).resolve().parents[2]


def time_calls(fn: Callable[[], object], warmup: int, runs: int) -> tuple[float, list[float]]:
    """(first call ms, timed ms list): the first call is timed alone and discarded from the stats."""
    t0 = time.perf_counter()
    fn()
    first = (time.perf_counter() - t0) * 1e3
    for _ in range(max(0, warmup - 1)):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return first, samples


def sustained(fn: Callable[[], object], seconds: float) -> tuple[float, list[float]]:
    """Run back to back for `seconds`; returns (fps, completion timestamps in s)."""
    stamps = []
    t_end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < t_end:
        fn()
        stamps.append(now)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return (len(stamps) - 1) / span if span else 0.0, stamps


def artifact_info(path: Path, variant: str | None) -> dict[str, Any]:
    """File name, sha256 (of the file or of a package's files) and contract version of an artifact."""
    contract_path = path.with_name(path.name + ".contract.json")
    contract = json.loads(contract_path.read_text()) if contract_path.is_file() else {}
    return {"file": path.name, "sha256": artifact_hash(path, contract), "variant": variant,
            "contract_version": contract.get("contract_version"),
            # which weights: the accuracy plot places a row only beside an evaluation of these
            "checkpoint_sha256": (contract.get("checkpoint") or {}).get("sha256")}


def base_result(device: dict, runtime: dict, artifact: dict, method: dict, first_ms: float | None,
                load_ms: float | None, samples: list[float], tool: str, notes: str = "") -> dict[str, Any]:
    """A schema-shaped result from timed samples."""
    timings = summarize_ms(samples)
    timings.update({"load": load_ms, "first_inference": first_ms})
    return {
        "schema_version": 1,
        "device": {"name": device["name"], "platform": device["platform"], "model": device.get("model"),
                   "os": device.get("os") or f"{platform.system()} {platform.release()}", "soc": device.get("soc")},
        "runtime": runtime,
        "artifact": artifact,
        "method": method,
        "timings_ms": timings,
        "fps": fps_from_p50(timings["p50"], method.get("batch", 1)),
        "sustained": None,
        "end_to_end_ms": None,
        "memory": None,
        "delegation": None,
        "roofline": None,
        "complete": True,
        "notes": notes,
        "tool": tool,
        "timestamp_utc": now_utc(),
    }
