"""Android runner over adb: LiteRT `benchmark_model` on the phone's NPU, GPU or CPU (model mode), or
the Kotlin sample app's benchmark mode (app mode).

Model mode pushes the .tflite and the benchmark binary (LiteRT's, fetched once by
benchmarks/phone_tools.py, or the user's BENCHMARK_MODEL=), pins the run to the big cores with
taskset, requires full delegation on the GPU and the NPU, and parses every figure the tool prints.
NPU rows also push LiteRT's Qualcomm dispatch library and the QNN runtime and point the loader and
the DSP at them. Raw output is always saved next to the result; output the parser does not
understand is reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.parsers.benchmark_model import UnparsedOutput, parse_benchmark_model
from benchmarks.phone_tools import sha256
from benchmarks.results import RESULTS_DIR, now_utc, validate_result
from benchmarks.runners import BenchError
from benchmarks.runners.common import artifact_info

REMOTE_DIR = "/data/local/tmp/meshpose"
APP_PACKAGE = "com.meshpose.sample"
APP_ACTIVITY = f"{APP_PACKAGE}/.MainActivity"
APP_RESULT = f"/sdcard/Android/data/{APP_PACKAGE}/files/benchmark_result.json"
# The DSP looks for the HTP skel library along ADSP_LIBRARY_PATH (';'-separated): ours first, then the
# vendor folders it searches by default.
ADSP_DEFAULTS = "/vendor/dsp/cdsp;/vendor/lib/rfsa/adsp;/system/lib/rfsa/adsp;/dsp"


@dataclass(frozen=True)
class PhoneTools:
    """What is pushed besides the model: the benchmark binary and, for NPU rows, the dispatch and QNN libraries."""

    benchmark_model: Path
    dispatch_library: Path | None = None
    qnn_libraries: tuple[Path, ...] = ()
    gpu_accelerator: Path | None = None  # LiteRT's binary loads its GPU accelerator at run time

    def provenance(self, accelerator: str) -> str:
        """File names and sha256 prefixes of what a row pushes (no checksum is published for them)."""
        extra = {"gpu": [self.gpu_accelerator] if self.gpu_accelerator else [],
                 "npu": [*([self.dispatch_library] if self.dispatch_library else []), *self.qnn_libraries]}
        files = [self.benchmark_model, *extra.get(accelerator, [])]
        return ", ".join(f"{f.name} sha256 {sha256(f)[:12]}" for f in files)


class Adb:
    """Thin adb wrapper; every failure becomes a BenchError that says what was seen."""

    def __init__(self, adb: str = "adb", serial: str | None = None, timeout_s: float = 600) -> None:
        self.adb, self.serial, self.timeout_s = adb, serial, timeout_s
        self._pushed: dict[str, str] = {}  # remote path -> local file: each file is pushed once per run

    def push_once(self, local: Path, remote: str) -> bool:
        """adb push, skipped (False) when the same local file already went to `remote` in this run."""
        if self._pushed.get(remote) == str(local):
            return False
        self.run("push", str(local), remote)
        self._pushed[remote] = str(local)
        return True

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


def benchmark_flavour(adb: Adb, remote_binary: str) -> str:
    """"litert" for LiteRT's CompiledModel benchmark (NPU capable), "tflite" for TFLite's, from its flag list."""
    usage = adb.run("shell", remote_binary, "--help", check=False)
    if "dispatch_library_path" in usage:
        return "litert"
    if "use_gpu" in usage:
        return "tflite"
    raise BenchError(f"{remote_binary} --help printed no flag list LiteRT or TFLite would print (is it a "
                     f"benchmark_model for arm64 Android?): {usage.strip()[-300:]}")


def benchmark_model_args(remote_model: str, runs: int, warmup: int, *, accelerator: str = "gpu",
                         flavour: str = "tflite", extra: dict[str, str] | None = None) -> list[str]:
    """benchmark_model flags for one accelerator: full delegation on the GPU and the NPU, fp16 on the GPU.

    The two tools spell the options differently, and both only warn on a flag they do not know, so a
    wrong spelling would silently run on the CPU: each flavour gets its own.
    """
    args = {"graph": remote_model, "num_runs": str(runs), "warmup_runs": str(warmup), "num_threads": "4",
            "report_peak_memory_footprint": "true"}
    if flavour == "litert":
        args |= {"gpu": {"use_gpu": "true", "use_cpu": "false", "require_full_delegation": "true",
                         "gpu-precision": "fp16"},
                 "npu": {"use_npu": "true", "use_cpu": "false", "require_full_delegation": "true",
                         "dispatch_library_path": REMOTE_DIR},
                 "cpu": {"use_cpu": "true"}}[accelerator]
    else:
        if accelerator == "npu":
            raise BenchError("TFLite's benchmark_model cannot load LiteRT's NPU dispatch library; leave "
                             "BENCHMARK_MODEL unset so that LiteRT's is fetched, or give LiteRT's")
        args |= {"gpu": {"use_gpu": "true", "gpu_precision_loss_allowed": "true", "require_full_delegation": "true",
                         "enable_op_profiling": "false"},
                 "cpu": {"use_xnnpack": "true"}}[accelerator]
    args.update(extra or {})
    return [f"--{k}={v}" for k, v in args.items()]


def _shell_prefix(accelerator: str, mask: str) -> list[str]:
    """Environment (the loader finds the pushed GPU accelerator or NPU libraries, the DSP its skel) and core
    pinning."""
    env = {"gpu": [f"LD_LIBRARY_PATH={REMOTE_DIR}"],
           "npu": [f"LD_LIBRARY_PATH={REMOTE_DIR}", f'ADSP_LIBRARY_PATH="{REMOTE_DIR};{ADSP_DEFAULTS}"']}
    return [*env.get(accelerator, []), "taskset", mask]


def _save_raw(text: str, stem: str, results_dir: Path) -> Path:
    raw_dir = results_dir / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    path = raw_dir / f"{stem}.txt"
    path.write_text(text)
    return path


def _push_tools(adb: Adb, tools: PhoneTools, accelerator: str) -> str:
    """Push the binary (and the NPU libraries); returns the binary's flavour."""
    if not tools.benchmark_model.is_file():
        raise BenchError(f"benchmark_model binary missing ({tools.benchmark_model}); leave BENCHMARK_MODEL unset to "
                         "fetch LiteRT's, or pass BENCHMARK_MODEL=/path/to/benchmark_model (arm64 Android)")
    adb.run("shell", "mkdir", "-p", REMOTE_DIR)
    remote_binary = f"{REMOTE_DIR}/benchmark_model"
    if adb.push_once(tools.benchmark_model, remote_binary):
        adb.run("shell", "chmod", "755", remote_binary)
    if accelerator == "gpu" and tools.gpu_accelerator is not None:
        adb.push_once(tools.gpu_accelerator, f"{REMOTE_DIR}/{tools.gpu_accelerator.name}")
    if accelerator == "npu":
        if tools.dispatch_library is None or not tools.qnn_libraries:
            raise BenchError("an NPU row needs LiteRT's Qualcomm dispatch library and the QNN runtime "
                             "(benchmarks/phone_tools.py fetches both)")
        for lib in (tools.dispatch_library, *tools.qnn_libraries):
            adb.push_once(lib, f"{REMOTE_DIR}/{lib.name}")
    return benchmark_flavour(adb, remote_binary)


def run_android_model(device: dict, artifact: Path, *, tools: PhoneTools, adb: Adb, runs: int, warmup: int,
                      sustained_s: float, cooldown_s: float, variant: str, accelerator: str = "gpu",
                      precision: str | None = None, results_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """benchmark_model on the phone's `accelerator` (npu, gpu or cpu); sustained chunks of 5 s give the
    throttling trend."""
    if not artifact.is_file():
        raise BenchError(f"{artifact} missing; run `make export-tflite VARIANT={variant}`")
    serial = adb.require_device()
    props = device_props(adb)
    flavour = _push_tools(adb, tools, accelerator)
    remote_model = f"{REMOTE_DIR}/{artifact.name}"
    adb.push_once(artifact, remote_model)
    mask = big_core_mask(read_cpu_freqs(adb))
    prefix = _shell_prefix(accelerator, mask)
    flags = benchmark_model_args(remote_model, runs, warmup, accelerator=accelerator, flavour=flavour)
    stamp = now_utc().replace(":", "")
    text = adb.run("shell", *prefix, f"{REMOTE_DIR}/benchmark_model", *flags, check=False)
    raw = _save_raw(text, f"{stamp}_{device['name']}_{accelerator}_benchmark_model", results_dir)
    try:
        parsed = parse_benchmark_model(text)
    except UnparsedOutput as exc:
        raise BenchError(f"benchmark_model on the {accelerator} failed or printed what is not understood ({exc}); "
                         f"raw output saved to {raw}") from None
    timed = parsed.timed
    # LiteRT's tool prints no node counts; with require_full_delegation a partial model fails to compile.
    fully_delegated = None if accelerator == "cpu" else (True if flavour == "litert" else parsed.fully_delegated)
    result: dict[str, Any] = {
        "schema_version": 1,
        "device": {"name": device["name"], "platform": "android", "model": props.get("model") or device.get("model"),
                   "os": props.get("os"), "soc": props.get("soc") or device.get("soc")},
        "runtime": {"name": f"{flavour} benchmark_model", "version": None, "accelerator": accelerator,
                    "precision": precision or ("fp16" if accelerator == "gpu" else "fp32"),
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
                       "total_nodes": parsed.total_nodes, "fully_delegated": fully_delegated,
                       "unsupported": parsed.unsupported_ops},
        "complete": True,
        "notes": f"serial {serial}; pinned to cores mask 0x{mask}; fps from the mean (the tool prints no median); "
                 f"pushed {tools.provenance(accelerator)}",
        "tool": "benchmark_model", "timestamp_utc": now_utc(), "raw_output_file": str(raw),
    }
    if sustained_s:
        result["sustained"] = _sustained_chunks(adb, remote_model, prefix, accelerator, flavour, sustained_s,
                                                cooldown_s, result)
    validate_result(result)
    return result


def _sustained_chunks(adb: Adb, remote_model: str, prefix: list[str], accelerator: str, flavour: str,
                      seconds: float, cooldown_s: float, result: dict[str, Any]) -> dict[str, Any]:
    """Back-to-back 5 s benchmark_model runs; a lost device keeps the chunks done and marks the result."""
    time.sleep(cooldown_s)
    trend, t = [], 0.0
    chunk = 5.0
    while t < seconds:
        args = benchmark_model_args(remote_model, 1, 0, accelerator=accelerator, flavour=flavour,
                                    extra={"min_secs": str(chunk), "max_secs": str(chunk)})
        try:
            text = adb.run("shell", *prefix, f"{REMOTE_DIR}/benchmark_model", *args)
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
                    model: str | None = None, results_dir: Path = RESULTS_DIR, poll_s: float = 2.0,
                    timeout_s: float = 600) -> dict[str, Any]:
    """Start the Kotlin app's benchmark mode, wait for its result JSON, pull and validate it.

    `model`: what the app loads (a .tflite, or a deployment of parts such as meshpose_xs_gpu_two_part);
    default the variant's one-file model.

    An incomplete app result (e.g. the benchmark stopped early) is returned as is, `complete: false`.

    `am start -S` stops a running instance first, so the benchmark extras always reach a fresh activity.
    """
    adb.require_device()
    adb.run("shell", "rm", "-f", APP_RESULT, check=False)
    extras = ["--ei", "benchmark_runs", str(runs), "--ei", "warmup_runs", str(warmup),
              "--es", "model", model or f"meshpose_{variant}.tflite"]
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


def adb_path() -> str:
    """adb from PATH (or the ADB environment variable)."""
    import os

    return os.environ.get("ADB") or shutil.which("adb") or "adb"
