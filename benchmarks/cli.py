"""`python -m benchmarks {run,report,devices}`: the benchmark harness entry point (make bench)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.registry import UnknownDevice, devices, get_device
from benchmarks.results import RESULTS_DIR, RUNS_DIR, new_run, write_result
from benchmarks.runners import BenchError

REPO = Path(__file__).resolve().parents[1]


def run(args: argparse.Namespace) -> int:
    """Run the benchmark of one device and append its results."""
    device = get_device(args.device)
    run_info = new_run(device["name"], args.variant)
    results_dir = Path(args.results) / run_info["id"]  # one folder per run; raw outputs beside its results
    failures: list[str] = []
    artifacts = Path(args.artifacts)
    artifact = artifacts / args.variant / device["artifact"].format(variant=args.variant)
    if device["platform"] == "linux":
        from benchmarks.runners.host import run_host
        from export.session import converter_output

        # LiteRT and ONNX Runtime print plugin-loading messages that read like failures: into a log (VERBOSE=1)
        with converter_output(artifacts, f"bench_{device['name']}_{args.variant}"):
            results = run_host(device, args.variant, artifacts, runs=args.runs, warmup=args.warmup,
                               sustained_s=args.sustained, quick=args.quick, processes=args.processes)
    elif device["platform"] == "android":
        from benchmarks.runners.android import Adb, adb_path, run_android_app
        from benchmarks.runners.android_rows import run_android_rows

        adb = Adb(adb_path(), args.serial)
        adb.require_device()  # no adb or no phone: say so before anything else is looked for
        if args.mode == "app":
            results = [run_android_app(device, adb=adb, runs=args.runs, warmup=args.warmup, variant=args.variant,
                                       sustained_s=args.sustained, model=args.model, results_dir=results_dir)]
        else:
            results, failures = run_android_rows(
                device, adb=adb, variant=args.variant, artifacts=artifacts, wanted=args.accelerator,
                benchmark_model=args.benchmark_model, runs=args.runs, warmup=args.warmup,
                sustained_s=args.sustained, cooldown_s=args.cooldown, results_dir=results_dir)
    elif device["platform"] == "ios":
        from benchmarks.runners.ios import run_ios_app

        results = [run_ios_app(device, udid=args.udid, app=args.app, runs=args.runs, warmup=args.warmup,
                               results_dir=results_dir)]
    else:
        from benchmarks.runners.macos import run_macos

        results = run_macos(device, artifact, variant=args.variant, runs=args.runs, warmup=args.warmup)
    from benchmarks.report import markdown_table

    for r in results:
        r["run"] = run_info
        path = write_result(r, results_dir)
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", file=sys.stderr)
    if results:
        print(markdown_table(results))
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    if failures:
        return 2
    incomplete = [r for r in results if not r["complete"]]
    return 3 if incomplete else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="benchmark one device")
    p.add_argument("--device", required=True)
    p.add_argument("--variant", default="xs")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--sustained", type=float, default=0.0, help="seconds of back-to-back runs for the trend")
    p.add_argument("--cooldown", type=float, default=5.0, help="seconds of rest between phone runs")
    p.add_argument("--mode", choices=["model", "app"], default="model", help="Android: benchmark_model or the app")
    p.add_argument("--model", default=None,
                   help="Android app mode: what the app loads (default meshpose_<variant>.tflite; the two-part GPU "
                        "deployment: meshpose_<variant>_gpu_two_part)")
    p.add_argument("--benchmark-model", default=None,
                   help="Android: a benchmark_model binary of your own (default: LiteRT's, fetched once)")
    p.add_argument("--accelerator", choices=["all", "npu", "gpu", "cpu"], default="all",
                   help="Android model mode: the rows to run (all: every accelerator the registry lists)")
    p.add_argument("--serial", default=None, help="Android: adb serial when several phones are attached")
    p.add_argument("--udid", default=None, help="iOS: device identifier (xcrun devicectl list devices)")
    p.add_argument("--app", default=None, help="iOS: path of the built .app to install first")
    p.add_argument("--artifacts", default=str(REPO / "artifacts"))
    p.add_argument("--results", default=str(RUNS_DIR), help="a folder per run is made here")
    p.add_argument("--quick", action="store_true", help="host: skip batched throughput (for CI)")
    p.add_argument("--processes", type=int, default=3,
                   help="host: spread the interleaved rounds over this many processes (process-to-process "
                        "differences then show in the spread, not as speed-up)")
    r = sub.add_parser("report", help="Markdown tables (one per run) and plots from the results")
    r.add_argument("--results", action="append", default=None,
                   help=f"folders of runs (repeatable; default: {RESULTS_DIR.relative_to(REPO)} and "
                        f"{RUNS_DIR.relative_to(REPO)})")
    r.add_argument("--out", default=None, help="default: artifacts/bench/report")
    pub = sub.add_parser("publish", help="copy a run into benchmarks/results and regenerate the committed report")
    pub.add_argument("run_id")
    pub.add_argument("--runs", default=str(RUNS_DIR))
    sub.add_parser("devices", help="list the registered devices")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "devices":
            for name, d in devices().items():
                print(f"{name:12s} {d['platform']:8s} {d['runtime']}/{d['accelerator']}  {d['model']}")
            return 0
        if args.cmd == "report":
            from benchmarks.report import LOCAL_REPORT_DIR
            from benchmarks.report import main as report_main

            roots = [Path(p) for p in args.results] if args.results else [RESULTS_DIR, RUNS_DIR]
            path = report_main(roots, Path(args.out) if args.out else LOCAL_REPORT_DIR)
            print(path.read_text())
            print(f"wrote {path}", file=sys.stderr)
            return 0
        if args.cmd == "publish":
            from benchmarks.report import publish

            print(publish(args.run_id, Path(args.runs)))
            return 0
        return run(args)
    except (BenchError, UnknownDevice) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
