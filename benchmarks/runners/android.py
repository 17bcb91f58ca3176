"""Android runner over adb: LiteRT `benchmark_model` with the GPU delegate (model mode), or the
Kotlin sample app's benchmark mode (app mode).

Model mode pushes the .tflite and the user's `benchmark_model` binary (BENCHMARK_MODEL=path;
get it from the LiteRT releases for arm64 Android), pins the run to the big cores with
taskset, requires full delegation, and parses every figure the tool prints. Raw output is
always saved next to the result; output the parser does not understand is reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.parsers.benchmark_model import UnparsedOutput, parse_benchmark_model
from benchmarks.results import RESULTS_DIR, now_utc, validate_result
from benchmarks.runners import BenchError
from benchmarks.runners.common import artifact_info

REMOTE_DIR = "/data/local/tmp/meshpose"
APP_PACKAGE = "com.meshpose.sample"
APP_ACTIVITY = f"{APP_PACKAGE}/.MainActivity"
APP_RESULT = f"/sdcard/Android/data/{APP_PACKAGE}/files/benchmark_result.json"
# Where `make bench` looks for LiteRT's benchmark binary when BENCHMARK_MODEL is not given (nothing can be
# downloaded from here: the user places it once).
BENCHMARK_MODEL_CACHE = Path.home() / ".cache" / "meshpose" / "android_arm64" / "benchmark_model"
BENCHMARK_MODEL_HELP = (
    f"place the LiteRT benchmark binary for android_arm64 (from the LiteRT GitHub releases, or built with bazel: "
    f"//tflite/tools/benchmark:benchmark_model) at {BENCHMARK_MODEL_CACHE}, or pass BENCHMARK_MODEL=/path/to/it"
)


class Adb:
    """Thin adb wrapper; every failure becomes a BenchError that says what was seen."""

    def __init__(self, adb: str = "adb", serial: str | None = None, timeout_s: float = 600) -> None:
        self.adb, self.serial, self.timeout_s = adb, serial, timeout_s

    def _cmd(self, *args: str) -> list[str]:
        return [self.adb, *(["-s", self.serial] if self.serial else []), *args]

    def run(self, *args: str, check: bool = True) -> str:
        """Run an adb command; returns stdout+stderr."""
        try:
            proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=self.timeout_s)
        except (FileNotFoundError, PermissionError) as exc:  # EACCES too: a PATH folder this user cannot read
            raise BenchError(
                f"adb not found ({self.adb!r}: {exc.strerror}); install Android platform-tools and put adb on PATH"
            ) from None
        except subprocess.TimeoutExpired:
            raise BenchError(f"adb {' '.join(args)} timed out after {self.timeout_s:.0f} s") from None
        out = proc.stdout + proc.stderr
        if check and proc.returncode != 0:
            raise DeviceLost(f"adb {' '.join(args)} failed (exit {proc.returncode}): {out.strip()[-500:]}")
        return out

    def require_device(self) -> str:
        """Serial of the one attached device, or a BenchError with `adb devices` output and advice."""
        listing = self.run("devices")
        lines = [ln.split() for ln in listing.splitlines()[1:] if ln.strip() and not ln.startswith("*")]
        ready = [ln[0] for ln in lines if len(ln) >= 2 and ln[1] == "device"]
        if self.serial:
            if self.serial not in ready:
                raise BenchError(f"device {self.serial} is not attached and authorised. adb devices said:\n{listing}")
            return self.serial
        if not ready:
            raise BenchError(
                "no Android device attached. `adb devices` said:\n"
                f"{listing.strip()}\n"
                "Connect the phone by USB, enable USB debugging (Developer options) and accept the prompt; "
                "`unauthorized` means the prompt was not accepted."
            )
        if len(ready) > 1:
            raise BenchError(f"several devices attached ({', '.join(ready)}); pass SERIAL=<one of them>")
        self.serial = ready[0]
        return self.serial


class DeviceLost(BenchError):
    """adb lost the device (or the command failed on it) mid-run."""


def big_core_mask(cpu_max_freqs: dict[int, int]) -> str:
    """taskset hex mask of the cores with the highest max frequency."""
    if not cpu_max_freqs:
        return "ff"
    top = max(cpu_max_freqs.values())
    mask = sum(1 << cpu for cpu, f in cpu_max_freqs.items() if f == top)
    return format(mask, "x")


def read_cpu_freqs(adb: Adb) -> dict[int, int]:
    """Max frequency of each CPU from sysfs."""
    out = adb.run("shell", "for c in /sys/devices/system/cpu/cpu[0-9]*; do echo ${c##*cpu} "
                  "$(cat $c/cpufreq/cpuinfo_max_freq 2>/dev/null); done", check=False)
    freqs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            freqs[int(parts[0])] = int(parts[1])
    return freqs


def device_props(adb: Adb) -> dict[str, str]:
    """Model, Android release and SoC from getprop."""
    props = {}
    for key, prop in (("model", "ro.product.model"), ("os", "ro.build.version.release"), ("soc", "ro.soc.model")):
        props[key] = adb.run("shell", "getprop", prop, check=False).strip() or None
    if props.get("os"):
        props["os"] = f"Android {props['os']}"
    return props


def benchmark_model_args(remote_model: str, runs: int, warmup: int, extra: dict[str, str] | None = None) -> list[str]:
    """benchmark_model flags: GPU delegate, fp16 allowed, full delegation required, memory report."""
    args = {
        "graph": remote_model, "use_gpu": "true", "gpu_precision_loss_allowed": "true",
        "require_full_delegation": "true", "num_runs": str(runs), "warmup_runs": str(warmup),
        "report_peak_memory_footprint": "true", "enable_op_profiling": "false", "num_threads": "4",
    }
    args.update(extra or {})
    return [f"--{k}={v}" for k, v in args.items()]


def _save_raw(text: str, stem: str, results_dir: Path) -> Path:
    raw_dir = results_dir / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    path = raw_dir / f"{stem}.txt"
    path.write_text(text)
    return path


def run_android_model(device: dict, artifact: Path, *, benchmark_model: str | None, adb: Adb, runs: int,
                      warmup: int, sustained_s: float, cooldown_s: float, variant: str,
                      results_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """benchmark_model on the phone's GPU; sustained chunks of 5 s give the throttling trend."""
    if not benchmark_model or not Path(benchmark_model).is_file():
        raise BenchError(f"benchmark_model binary not given or missing ({benchmark_model!r}); {BENCHMARK_MODEL_HELP}")
    if not artifact.is_file():
        raise BenchError(f"{artifact} missing; run `make export-tflite VARIANT={variant}`")
    serial = adb.require_device()
    props = device_props(adb)
    adb.run("shell", "mkdir", "-p", REMOTE_DIR)
    adb.run("push", benchmark_model, f"{REMOTE_DIR}/benchmark_model")
    adb.run("shell", "chmod", "755", f"{REMOTE_DIR}/benchmark_model")
    remote_model = f"{REMOTE_DIR}/{artifact.name}"
    adb.run("push", str(artifact), remote_model)
    mask = big_core_mask(read_cpu_freqs(adb))
    cmd = ["shell", "taskset", mask, f"{REMOTE_DIR}/benchmark_model", *benchmark_model_args(remote_model, runs, warmup)]
    stamp = now_utc().replace(":", "")
    text = adb.run(*cmd, check=False)
    raw = _save_raw(text, f"{stamp}_{device['name']}_benchmark_model", results_dir)
    try:
        parsed = parse_benchmark_model(text)
    except UnparsedOutput as exc:
        raise BenchError(f"benchmark_model output not understood ({exc}); raw output saved to {raw}") from None
    timed = parsed.timed
    result: dict[str, Any] = {
        "schema_version": 1,
        "device": {"name": device["name"], "platform": "android", "model": props.get("model") or device.get("model"),
                   "os": props.get("os"), "soc": props.get("soc") or device.get("soc")},
        "runtime": {"name": "litert benchmark_model", "version": None, "accelerator": "gpu", "precision": "fp16",
                    "threads": 4, "functional_only": False},
        "artifact": artifact_info(artifact, variant),
        "method": {"warmup_runs": warmup, "timed_runs": timed.count if timed else runs, "batch": 1,
                   "sustained_seconds": sustained_s or None, "cooldown_seconds": cooldown_s},
        # benchmark_model prints avg/min/max/std, not percentiles: p50/p90/p99 stay null, never guessed.
        "timings_ms": {"load": parsed.init_us / 1e3, "first_inference": parsed.first_inference_us / 1e3,
                       "p50": None, "p90": None, "p99": None, "mean": parsed.inference_avg_us / 1e3,
                       "min": timed.min / 1e3 if timed else None, "max": timed.max / 1e3 if timed else None,
                       "std": timed.std / 1e3 if timed else None},
        "fps": 1e6 / parsed.inference_avg_us,
        "sustained": None, "end_to_end_ms": None,
        "memory": {"peak_mb": parsed.peak_memory_mb, "init_delta_mb": parsed.memory_init_mb,
                   "overall_delta_mb": parsed.memory_overall_mb},
        "delegation": {"gpu_ops": parsed.gpu_ops, "cpu_ops": parsed.cpu_ops, "delegated_nodes": parsed.delegated_nodes,
                       "total_nodes": parsed.total_nodes, "fully_delegated": parsed.fully_delegated,
                       "unsupported": parsed.unsupported_ops},
        "complete": True,
        "notes": f"serial {serial}; pinned to cores mask 0x{mask}; fps from the mean (the tool prints no median)",
        "tool": "benchmark_model", "timestamp_utc": now_utc(), "raw_output_file": str(raw),
    }
    if sustained_s:
        result["sustained"] = _sustained_chunks(adb, remote_model, mask, sustained_s, cooldown_s, result)
    validate_result(result)
    return result


def _sustained_chunks(adb: Adb, remote_model: str, mask: str, seconds: float, cooldown_s: float,
                      result: dict[str, Any]) -> dict[str, Any]:
    """Back-to-back 5 s benchmark_model runs; a lost device keeps the chunks done and marks the result."""
    time.sleep(cooldown_s)
    trend, t = [], 0.0
    chunk = 5.0
    while t < seconds:
        args = benchmark_model_args(remote_model, 1, 0, {"min_secs": str(chunk), "max_secs": str(chunk)})
        try:
            text = adb.run("shell", "taskset", mask, f"{REMOTE_DIR}/benchmark_model", *args)
            avg_us = parse_benchmark_model(text).inference_avg_us
        except (DeviceLost, UnparsedOutput) as exc:
            result["complete"] = False
            result["notes"] += f"; sustained run stopped at {t:.0f} s: {exc}"
            break
        t += chunk
        trend.append([t, 1e6 / avg_us])
    fps = sum(f for _, f in trend) / len(trend) if trend else 0.0
    return {"seconds": t, "fps": fps, "trend": trend}


def run_android_app(device: dict, *, adb: Adb, runs: int, warmup: int, variant: str, sustained_s: float = 0.0,
                    results_dir: Path = RESULTS_DIR, poll_s: float = 2.0, timeout_s: float = 600) -> dict[str, Any]:
    """Start the Kotlin app's benchmark mode, wait for its result JSON, pull and validate it.

    An incomplete app result (e.g. the benchmark stopped early) is returned as is, `complete: false`.

    `am start -S` stops a running instance first, so the benchmark extras always reach a fresh activity.
    """
    adb.require_device()
    adb.run("shell", "rm", "-f", APP_RESULT, check=False)
    extras = ["--ei", "benchmark_runs", str(runs), "--ei", "warmup_runs", str(warmup),
              "--es", "model", f"meshpose_{variant}.tflite"]
    if sustained_s:
        extras += ["--ei", "sustained_seconds", str(int(sustained_s))]
        timeout_s += sustained_s
    out = adb.run("shell", "am", "start", "-S", "-W", "-n", APP_ACTIVITY, *extras)
    if "Error" in out:
        raise BenchError(f"could not start {APP_ACTIVITY} (is the sample app installed?): {out.strip()}")
    deadline = time.monotonic() + timeout_s
    local = results_dir / "raw" / f"{now_utc().replace(':', '')}_{device['name']}_app.json"
    local.parent.mkdir(parents=True, exist_ok=True)
    while time.monotonic() < deadline:
        if "No such file" not in adb.run("shell", "ls", APP_RESULT, check=False):
            adb.run("pull", APP_RESULT, str(local))
            result = json.loads(local.read_text())
            result["raw_output_file"] = str(local)
            validate_result(result)
            if not result["complete"]:
                # Keep the runs the app did measure; the CLI stores the result and exits 3 (incomplete).
                print(f"warning: the app's benchmark did not complete: {result['notes']} (raw at {local})",
                      file=sys.stderr)
            return result
        time.sleep(poll_s)
    raise BenchError(f"the app wrote no {APP_RESULT} within {timeout_s:.0f} s; see `adb logcat -s MeshPose`")


def cached_benchmark_model() -> str | None:
    """The benchmark binary placed in the cache, if any."""
    return str(BENCHMARK_MODEL_CACHE) if BENCHMARK_MODEL_CACHE.is_file() else None


def adb_path() -> str:
    """adb from PATH (or the ADB environment variable)."""
    import os

    return os.environ.get("ADB") or shutil.which("adb") or "adb"
