"""Parser of the LiteRT/TFLite `benchmark_model` binary's console output (docs/DESIGN.md §7).

It reads every figure the tool prints: the session init time, the warm-up and timed
`count= first= curr= min= max= avg= std=` lines (microseconds), the closing
`Inference timings in us:` line, the memory footprint lines, and the delegate's
node counts (full delegation, or "X operations will run on the GPU, and the remaining Y
... on the CPU"). Lines may carry an Android logcat prefix. Output without the closing
timings line is reported as unparsed, never guessed at.
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


def _f(x: str) -> float:
    return float(x)


def parse_benchmark_model(text: str) -> BenchmarkModelOutput:
    """Parse the console output of one benchmark_model run."""
    stats = [StatsLine(int(float(m[0])), *map(_f, m[1:])) for m in STATS_RE.findall(text)]
    timings = TIMINGS_RE.search(text)
    if timings is None:
        raise UnparsedOutput("no 'Inference timings in us:' line: the run did not finish or the format is unknown")
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
