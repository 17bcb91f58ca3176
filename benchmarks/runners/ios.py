"""iOS runner: `xcrun devicectl` installs the Swift sample app, launches its benchmark mode and
copies the result JSON back from the app's Documents (docs/DESIGN.md §7). Needs macOS with Xcode 15+.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.results import RESULTS_DIR, now_utc, validate_result
from benchmarks.runners import BenchError

BUNDLE_ID = "com.meshpose.sample"
RESULT_NAME = "benchmark_result.json"


def devicectl(*args: str, timeout_s: float = 900) -> str:
    """Run `xcrun devicectl ...`; a missing Xcode or a failure is a BenchError."""
    if shutil.which("xcrun") is None:
        raise BenchError("xcrun not found: the iOS runner needs macOS with Xcode 15+ (xcrun devicectl)")
    proc = subprocess.run(["xcrun", "devicectl", *args], capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise BenchError(f"xcrun devicectl {' '.join(args[:3])} failed: {(proc.stdout + proc.stderr).strip()[-800:]}")
    return proc.stdout


def launch_args(runs: int, warmup: int, device_name: str) -> list[str]:
    """Launch arguments that start the app's benchmark mode (see runtimes/ios_swift/README.md);
    `-device` makes the result carry the registry's device name."""
    return ["-benchmark", str(runs), "-warmup", str(warmup), "-device", device_name]


def run_ios_app(device: dict, *, udid: str | None, app: str | None, runs: int, warmup: int,
                results_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """Install (if APP=path.app is given), launch the benchmark mode, copy the result back."""
    if not udid:
        listing = devicectl("list", "devices")
        raise BenchError(f"pass UDID=<device identifier>; `xcrun devicectl list devices` says:\n{listing}")
    if app:
        devicectl("device", "install", "app", "--device", udid, app)
    devicectl("device", "process", "launch", "--console", "--terminate-existing", "--device", udid, BUNDLE_ID,
              *launch_args(runs, warmup, device["name"]))
    local = results_dir / "raw" / f"{now_utc().replace(':', '')}_{device['name']}_app.json"
    local.parent.mkdir(parents=True, exist_ok=True)
    devicectl("device", "copy", "from", "--device", udid, "--domain-type", "appDataContainer",
              "--domain-identifier", BUNDLE_ID, "--source", f"Documents/{RESULT_NAME}", "--destination", str(local))
    result = json.loads(local.read_text())
    result["raw_output_file"] = str(local)
    validate_result(result)
    return result
