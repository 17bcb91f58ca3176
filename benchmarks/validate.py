"""`python -m benchmarks.validate FILE...`: check result JSON files against the result schema.

The Kotlin and Swift test suites write benchmark results; `make test-android` and `make test-ios`
run this on them, so the apps' writers are held to benchmarks/schema/result.schema.json exactly as
`make bench` holds a file pulled from a phone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.results import ResultError, validate_result
from model.cli import run_main


def main(argv: list[str]) -> int:
    """Validate every file named; fail when none is named or any is invalid."""
    if not argv:
        print("error: no result files to validate (did the test suite run?)", file=sys.stderr)
        return 2
    bad = 0
    for name in argv:
        try:
            validate_result(json.loads(Path(name).read_text()))
            print(f"   schema OK: {name}")
        except (OSError, ValueError, ResultError) as exc:
            print(f"   schema FAILED: {name}: {exc}", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(run_main(lambda: main(sys.argv[1:])))
