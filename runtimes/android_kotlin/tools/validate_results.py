"""Validates benchmark result JSON written by the Kotlin core (JUnit) with the harness's own validator.

`make test-android` runs it on the files BenchmarkTest leaves in build/kotlin-core/out/, so the
Kotlin writer is checked against benchmarks/schema/result.schema.json exactly as
`make bench MODE=app` checks a file pulled from a phone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.results import ResultError, validate_result


def main(argv: list[str]) -> int:
    """Validates every file named; fails when none is named or any is invalid."""
    if not argv:
        print("error: no result files to validate (did the JUnit suite run?)", file=sys.stderr)
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
    sys.exit(main(sys.argv[1:]))
