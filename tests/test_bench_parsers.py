"""benchmark_model output parsing, on outputs in the tool's real formats (docs/DESIGN.md §7)."""

from pathlib import Path

import pytest

from benchmarks.parsers.benchmark_model import UnparsedOutput, parse_benchmark_model
from benchmarks.stats import fps_from_p50, summarize_ms, sustained_trend

BENCH = Path(__file__).resolve().parent / "fixtures" / "bench"


def test_full_gpu_delegation_output():
    out = parse_benchmark_model((BENCH / "benchmark_model_gpu_full.txt").read_text())
    assert out.init_ms == pytest.approx(612.48)
    assert out.init_us == 612480 and out.first_inference_us == 21873
    assert out.warmup_avg_us == pytest.approx(7042.3) and out.inference_avg_us == pytest.approx(6601.45)
    assert out.warmup.count == 71 and out.timed.count == 151
    assert out.timed.min == 6170 and out.timed.max == 7914 and out.timed.std == 262
    assert out.memory_init_mb == pytest.approx(58.1211) and out.memory_overall_mb == pytest.approx(61.4805)
    assert out.peak_memory_mb == pytest.approx(71.2266)
    assert out.fully_delegated is True and out.unsupported_ops == []


def test_partial_delegation_with_logcat_prefix():
    out = parse_benchmark_model((BENCH / "benchmark_model_gpu_partial_logcat.txt").read_text())
    assert out.gpu_ops == 102 and out.cpu_ops == 10 and out.fully_delegated is False
    assert out.delegated_nodes == 102 and out.total_nodes == 112
    assert out.unsupported_ops == [
        "BATCH_MATMUL: Not supported batched mat mul case: non-constant tensor",
        "GATHER_ND: Operation is not supported.",
    ]
    assert out.inference_avg_us == pytest.approx(16390.7) and out.peak_memory_mb == pytest.approx(90.5)


def test_litert_compiled_model_output():
    """LiteRT's own benchmark_model (litert/tools) closes with its BENCHMARK RESULTS block in ms. The fixture
    follows that tool's source (benchmark_litert_model.h); its figures are made up, not measured on a phone."""
    out = parse_benchmark_model((BENCH / "benchmark_model_litert_npu.txt").read_text())
    assert out.flavour == "litert"
    assert out.init_us == pytest.approx(184620) and out.first_inference_us == pytest.approx(3120)
    assert out.warmup_avg_us == pytest.approx(1210) and out.inference_avg_us == pytest.approx(1200)
    assert out.timed.count == 829 and out.timed.min == 1152  # the count= line, in us, beats the rounded block
    assert out.memory_init_mb == pytest.approx(21.37) and out.peak_memory_mb == pytest.approx(31.5)
    assert out.fully_delegated is None  # the tool prints no node counts


def test_litert_block_without_count_lines_rebuilds_the_timed_stats():
    text = "\n".join(line for line in (BENCH / "benchmark_model_litert_npu.txt").read_text().splitlines()
                     if not line.startswith("count="))
    out = parse_benchmark_model(text)
    assert out.timed.count == 829 and out.timed.min == pytest.approx(1150) and out.timed.max == pytest.approx(1730)


def test_litert_block_cut_short_is_not_guessed_at():
    text = (BENCH / "benchmark_model_litert_npu.txt").read_text()
    with pytest.raises(UnparsedOutput, match=r"no 'Warmup \(first\)' line"):
        parse_benchmark_model("\n".join(line for line in text.splitlines() if "Warmup (first)" not in line))


def test_truncated_output_is_not_guessed_at():
    with pytest.raises(UnparsedOutput, match="Inference timings"):
        parse_benchmark_model((BENCH / "benchmark_model_truncated.txt").read_text())


def test_stats():
    s = summarize_ms([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["p50"] == 3.0 and s["max"] == 100.0 and s["min"] == 1.0
    assert fps_from_p50(4.0) == 250.0 and fps_from_p50(4.0, batch=8) == 2000.0
    assert summarize_ms([])["p50"] is None
    trend = sustained_trend([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], window_s=1.0)
    assert trend and all(abs(f - 2.0) < 1e-9 for _, f in trend)
