"""Building, validating and storing benchmark results (benchmarks/schema/result.schema.json)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "result.schema.json"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


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


def write_result(result: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """Validate and append one result as its own JSON file; returns the path."""
    validate_result(result)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["timestamp_utc"].replace(":", "").replace("-", "")
    rt = result["runtime"]
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", f"{result['device']['name']}_{rt['name']}_{rt['accelerator']}_"
                  f"{rt['precision']}_b{result['method']['batch']}")
    path = results_dir / f"{stamp}_{slug}.json"
    k = 1
    while path.exists():
        path = results_dir / f"{stamp}_{slug}_{k}.json"
        k += 1
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def load_results(results_dir: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every valid result in the folder (invalid files are reported, not guessed at)."""
    out = []
    for path in sorted(results_dir.glob("*.json")):
        data = json.loads(path.read_text())
        validate_result(data)
        data["_file"] = path.name
        out.append(data)
    return out
