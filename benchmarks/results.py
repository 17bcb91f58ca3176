"""Building, validating and storing benchmark results (benchmarks/schema/result.schema.json)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "result.schema.json"
# Published runs (committed; changed only by `make bench-publish`) and new runs (the artifacts area).
RESULTS_DIR = Path(__file__).resolve().parent / "results"
RUNS_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "bench"


class ResultError(ValueError):
    """A result that does not validate."""


@cache
def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def validate_result(result: dict[str, Any]) -> None:
    """Raise ResultError with the first schema violation."""
    try:
        jsonschema.validate(result, _schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
        raise ResultError(f"benchmark result invalid at {where}: {exc.message}") from None


def now_utc() -> str:
    """ISO-8601 UTC timestamp."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run(device: str, variant: str) -> dict[str, Any]:
    """Identity of one `make bench` run: every result it writes carries it and lies in its folder. The
    load average at the start says how busy the machine was (a noisy run shows there first)."""
    started = now_utc()
    return {"id": f"{started.replace(':', '').replace('-', '')}_{device}_{variant}", "started_utc": started,
            "load_avg_1m": os.getloadavg()[0], "cpu_count": os.cpu_count()}


def write_result(result: dict[str, Any], results_dir: Path) -> Path:
    """Validate and write one result as its own JSON file in `results_dir` (a run's folder); returns the path."""
    validate_result(result)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["timestamp_utc"].replace(":", "").replace("-", "")
    rt = result["runtime"]
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", f"{result['device']['name']}_{rt['name']}_{rt['accelerator']}_"
                  f"{rt['precision']}_b{result['method']['batch']}"
                  # a deployment of several files (no extension) is named, beside its runtime's one-file row
                  + ("" if "." in result["artifact"]["file"] else f"_{result['artifact']['file']}"))
    path = results_dir / f"{stamp}_{slug}.json"
    k = 1
    while path.exists():
        path = results_dir / f"{stamp}_{slug}_{k}.json"
        k += 1
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def load_results(root: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every result under `root`: a run's folder, or a folder of run folders. Each gets `_run` (its run id)
    and `_file`. Invalid files are reported, not guessed at."""
    out = []
    for path in sorted(root.glob("*.json")) + sorted(root.glob("*/*.json")):
        data = json.loads(path.read_text())
        try:
            validate_result(data)
        except ResultError as exc:
            raise ResultError(f"{path}: {exc}") from None
        data["_file"] = path.name
        data["_run"] = (data.get("run") or {}).get("id") or (path.parent.name if path.parent != root else root.name)
        out.append(data)
    return out
