"""Parser of the LiteRT/TFLite `benchmark_model` binary's console output (docs/DESIGN.md §7).

It reads every figure the tool prints: the session init time, the warm-up and timed
`count= first= curr= min= max= avg= std=` lines (microseconds), the closing
`Inference timings in us:` line, the memory footprint lines, and the delegate's
node counts (full delegation, or "X operations will run on the GPU, and the remaining Y
... on the CPU"). Lines may carry an Android logcat prefix.

It also reads LiteRT's own `benchmark_model` (litert/tools, the CompiledModel API: the binary LiteRT
publishes for android_arm64 and the one that runs NPU dispatch), which closes with a
`BENCHMARK RESULTS` block in milliseconds (`Inference (avg): 6.60 ms (151 runs)`, min, max, std,
init/overall footprint, peak memory) and prints no node counts: with `--require_full_delegation`
a run that finishes is fully on the accelerator, a partial one fails to compile.
Output with neither closing block is reported as unparsed, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NUM = r"([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)"
STATS_RE = re.compile(
    rf"count={_NUM} first={_NUM} curr={_NUM} min={_NUM} max={_NUM} avg={_NUM} std={_NUM}"
)
TIMINGS_RE = re.compile(
    rf"Inference timings in us: Init: {_NUM}, First inference: {_NUM}, Warmup \(avg\): {_NUM}, "
    rf"Inference \(avg\): {_NUM}"
)
INIT_RE = re.compile(rf"Initialized session in {_NUM}\s*ms")
MEM_DELTA_RE = re.compile(rf"Memory footprint delta from the start of the tool \(MB\): init={_NUM} overall={_NUM}")
PEAK_RE = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: {_NUM}")
REPLACING_RE = re.compile(r"Replacing (\d+) out of (\d+) node\(s\) with delegate")
PARTIAL_RE = re.compile(
    r"(\d+) operations will run on the GPU, and the remaining (\d+) operations? will run on the CPU"
)
FULL_RE = re.compile(r"model graph will be completely executed by the delegate")
UNSUPPORTED_RE = re.compile(r"^\s*([A-Z_0-9]+): (.*)$")
# LiteRT's BENCHMARK RESULTS block (milliseconds, two decimals).
LITERT_RE = {
    "init": re.compile(rf"Model initialization:\s*{_NUM} ms"),
    "first": re.compile(rf"Warmup \(first\):\s*{_NUM} ms"),
    "warmup": re.compile(rf"Warmup \(avg\):\s*{_NUM} ms \((\d+) runs\)"),
    "avg": re.compile(rf"Inference \(avg\):\s*{_NUM} ms \((\d+) runs\)"),
    "min": re.compile(rf"Inference \(min\):\s*{_NUM} ms"),
    "max": re.compile(rf"Inference \(max\):\s*{_NUM} ms"),
    "std": re.compile(rf"Inference \(std\):\s*{_NUM}"),
    "init_mb": re.compile(rf"Init footprint:\s*{_NUM} MB"),
    "overall_mb": re.compile(rf"Overall footprint:\s*{_NUM} MB"),
    "peak_mb": re.compile(rf"Peak memory:\s*{_NUM} MB"),
}


class UnparsedOutput(ValueError):
    """benchmark_model output without the figures a result needs (saved raw by the caller)."""


@dataclass
class StatsLine:
    """One `count= ...` line, in microseconds."""

    count: int
    first: float
    curr: float
    min: float
    max: float
    avg: float
    std: float


@dataclass
class BenchmarkModelOutput:
    """Every figure benchmark_model printed."""

    init_ms: float | None
    warmup: StatsLine | None
    timed: StatsLine | None
    first_inference_us: float
    warmup_avg_us: float
    inference_avg_us: float
    init_us: float
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None
    delegated_nodes: int | None = None
    total_nodes: int | None = None
    gpu_ops: int | None = None
    cpu_ops: int | None = None
    fully_delegated: bool | None = None
    unsupported_ops: list[str] = field(default_factory=list)
    flavour: str = "tflite"  # "tflite" (TFLite's tool) or "litert" (LiteRT's CompiledModel tool)


def _f(x: str) -> float:
    return float(x)


def parse_benchmark_model(text: str) -> BenchmarkModelOutput:
    """Parse the console output of one benchmark_model run."""
    stats = [StatsLine(int(float(m[0])), *map(_f, m[1:])) for m in STATS_RE.findall(text)]
    timings = TIMINGS_RE.search(text)
    if timings is None:
        if LITERT_RE["avg"].search(text):
            return _parse_litert(text, stats)
        raise UnparsedOutput("no 'Inference timings in us:' line nor LiteRT's BENCHMARK RESULTS block: the run "
                             "did not finish or the format is unknown")
    init_us, first_us, warm_us, inf_us = map(_f, timings.groups())
    out = BenchmarkModelOutput(
        init_ms=_f(m.group(1)) if (m := INIT_RE.search(text)) else None,
        warmup=stats[0] if len(stats) >= 2 else None,
        timed=stats[-1] if stats else None,
        first_inference_us=first_us,
        warmup_avg_us=warm_us,
        inference_avg_us=inf_us,
        init_us=init_us,
    )
    if m := MEM_DELTA_RE.search(text):
        out.memory_init_mb, out.memory_overall_mb = _f(m.group(1)), _f(m.group(2))
    if m := PEAK_RE.search(text):
        out.peak_memory_mb = _f(m.group(1))
    if m := REPLACING_RE.search(text):
        out.delegated_nodes, out.total_nodes = int(m.group(1)), int(m.group(2))
        out.fully_delegated = out.delegated_nodes == out.total_nodes
    if m := PARTIAL_RE.search(text):
        out.gpu_ops, out.cpu_ops = int(m.group(1)), int(m.group(2))
        out.fully_delegated = out.cpu_ops == 0
    if FULL_RE.search(text) and out.fully_delegated is None:
        out.fully_delegated = True
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "Following operations are not supported by GPU delegate" in line:
            for follow in lines[i + 1 :]:
                m = UNSUPPORTED_RE.match(follow.split("tflite  : ")[-1])
                if not m:
                    break
                out.unsupported_ops.append(f"{m.group(1)}: {m.group(2)}")
    return out


def _parse_litert(text: str, stats: list[StatsLine]) -> BenchmarkModelOutput:
    """LiteRT's BENCHMARK RESULTS block; the `count=` lines (microseconds) are kept where printed."""
    found = {k: m for k, rx in LITERT_RE.items() if (m := rx.search(text))}
    required = {"init": "Model initialization", "first": "Warmup (first)", "warmup": "Warmup (avg)",
                "avg": "Inference (avg)"}
    for key, label in required.items():
        if key not in found:
            raise UnparsedOutput(f"LiteRT's BENCHMARK RESULTS block has no {label!r} line: the run did not finish "
                                 "or the format is unknown")

    def ms(key: str) -> float | None:
        return _f(found[key].group(1)) if key in found else None

    avg_runs = int(found["avg"].group(2))
    timed = stats[-1] if stats else None
    if timed is None and "min" in found:
        # Without the count= line, rebuild the timed statistics from the block (ms -> us).
        timed = StatsLine(avg_runs, float("nan"), float("nan"), ms("min") * 1e3, ms("max") * 1e3,
                          ms("avg") * 1e3, (ms("std") or 0.0) * 1e3)
    return BenchmarkModelOutput(
        init_ms=ms("init"), warmup=stats[0] if len(stats) >= 2 else None, timed=timed,
        first_inference_us=ms("first") * 1e3, warmup_avg_us=ms("warmup") * 1e3,
        inference_avg_us=ms("avg") * 1e3, init_us=ms("init") * 1e3,
        memory_init_mb=ms("init_mb"), memory_overall_mb=ms("overall_mb"), peak_memory_mb=ms("peak_mb"),
        flavour="litert",
    )
