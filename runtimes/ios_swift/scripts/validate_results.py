"""Checks the benchmark result JSON written by the MeshPoseKit XCTest suite with the harness's validator.

`make test-ios` runs it on build/swift-kit/out/*.json, so the Swift writer (measured and failed
runs) is held to benchmarks/schema/result.schema.json exactly as `make bench DEVICE=iphone...`
holds a file copied back from the phone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.results import ResultError, validate_result


def main(argv: list[str]) -> int:
    """Validates every file named; fails when none is named or any file is invalid."""
    if not argv:
        print("error: no result files to validate (did the XCTest suite run?)", file=sys.stderr)
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
