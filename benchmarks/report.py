"""`make bench-report`: one Markdown section and latency plot per benchmark run, and FPS vs accuracy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from benchmarks.results import RESULTS_DIR, RUNS_DIR, load_results

REPORT_DIR = Path(__file__).resolve().parent / "report"  # the committed report: `make bench-publish` only
LOCAL_REPORT_DIR = RUNS_DIR / "report"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per result, newest last."""
    lines = [
        "| device | runtime | accelerator | precision | batch | variant | p50 ms | p90 ms | p99 ms | mean ms "
        "| FPS | end-to-end p50 ms | complete | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rt, t = r["runtime"], r["timings_ms"]
        e2e = (r.get("end_to_end_ms") or {}).get("p50")
        acc = rt["accelerator"] + (" (functional only)" if rt["functional_only"] else "")
        notes = r["notes"].replace("|", "/")
        if r.get("roofline"):
            roof = r["roofline"]
            notes += f"; roofline {roof['ratio']:.2f} of {roof['peak_gflops_fp32_matmul']:.0f} GFLOP/s"
        lines.append(
            f"| {r['device']['name']} | {rt['name']} | {acc} | {rt['precision']} | {r['method']['batch']} "
            f"| {r['artifact'].get('variant') or '–'} | {_fmt(t['p50'])} | {_fmt(t['p90'])} | {_fmt(t['p99'])} "
            f"| {_fmt(t['mean'])} | {_fmt(r['fps'], 1)} | {_fmt(e2e)} | {'yes' if r['complete'] else 'NO'} | {notes} |"
        )
    return "\n".join(lines)


# An accuracy point needs an evaluation of the same weights on at least this many samples.
MIN_EVAL_SAMPLES = 200


def _eval_of(result: dict[str, Any]) -> tuple[float, str, int] | None:
    """(value, metric, samples) of an evaluation of this row's own weights, on enough samples:
    artifacts/<variant>/eval_<artifact file>.json of this very artifact (`make eval ARTIFACT=...`, any
    precision), else, for fp32 rows only, artifacts/<variant>/eval.json of the checkpoint the artifact was
    exported from (the fp32 artifacts are that network within the export's parity gates)."""
    variant = result["artifact"].get("variant")
    if not variant:
        return None
    own = ARTIFACTS / variant / f"eval_{result['artifact'].get('file')}.json"
    checkpoint = ARTIFACTS / variant / "eval.json"
    if own.is_file():
        report = json.loads(own.read_text())
        if (report.get("artifact") or {}).get("sha256") != result["artifact"].get("sha256"):
            return None  # an evaluation of an earlier export under the same name
    elif checkpoint.is_file() and result["runtime"]["precision"] == "fp32" and result["artifact"].get(
            "checkpoint_sha256"):
        report = json.loads(checkpoint.read_text())
        if report.get("checkpoint_sha256") != result["artifact"]["checkpoint_sha256"]:
            return None
    else:
        return None
    headline = report.get("headline") or {}
    samples = ((report.get("results") or {}).get("model") or {}).get("samples") or 0
    if headline.get("value") is None or samples < MIN_EVAL_SAMPLES:
        return None
    return float(headline["value"]), str(headline.get("name") or "accuracy"), int(samples)


def _label(r: dict[str, Any]) -> str:
    rt = r["runtime"]
    return f"{rt['name']} {rt['accelerator'].split(' (')[0]} {rt['precision']} b{r['method']['batch']}"


def latency_plot(run_id: str, results: list[dict[str, Any]], out_dir: Path) -> Path:
    """Horizontal bars of one run's median latencies: fixed width, labels on the left, never cut off."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if r["timings_ms"]["p50"] or r["timings_ms"]["mean"]]
    values = [r["timings_ms"]["p50"] or r["timings_ms"]["mean"] for r in rows]
    colours = ["#bbbbbb" if r["runtime"]["functional_only"] else "#3b75af" for r in rows]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.38 * len(rows)))
    ax.barh(range(len(rows)), values, color=colours)
    ax.set_yticks(range(len(rows)), [_label(r) for r in rows], fontsize=8)
    ax.invert_yaxis()
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("median ms per batch (log scale; grey: software GPU, functional only)")
    ax.set_title(f"run {run_id}", fontsize=9)
    fig.tight_layout()
    path = out_dir / f"latency_{run_id}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def accuracy_plot(results: list[dict[str, Any]], out_dir: Path) -> tuple[Path, int]:
    """FPS vs accuracy of the batch-1 rows whose own weights were evaluated; returns the plot and how many
    rows it places."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    placed, metrics = 0, set()
    for r in results:
        if r["runtime"]["functional_only"] or r["method"]["batch"] != 1 or not r["fps"]:
            continue
        found = _eval_of(r)
        if found is None:
            continue
        acc, metric, n = found
        metrics.add(f"{metric}, n = {n}")
        ax.scatter(r["fps"], acc)
        offset = (6, (4, -12, 16, -24)[placed % 4])  # neighbours at one accuracy get their own line
        ax.annotate(f"{r['runtime']['name']} {r['runtime']['precision']}", (r["fps"], acc), fontsize=8,
                    xytext=offset, textcoords="offset points")
        placed += 1
    if not placed:
        ax.text(0.5, 0.5, f"no row has an evaluation of its own weights on >= {MIN_EVAL_SAMPLES} samples\n"
                f"(make eval ARTIFACT=..., or make eval for the fp32 rows)", ha="center", va="center",
                transform=ax.transAxes)
    ax.margins(x=0.15, y=0.2)
    ax.set_xlabel("FPS (batch 1)")
    ax.set_ylabel(" / ".join(sorted(metrics)) or "accuracy")
    ax.set_title("FPS vs accuracy of one run: each point's accuracy from an evaluation of its own weights", fontsize=9)
    fig.tight_layout()
    path = out_dir / "fps_vs_accuracy.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path, placed


def run_section(run_id: str, results: list[dict[str, Any]], image: str) -> list[str]:
    """One run: when, where, how busy, its table, its speed-ups with their spread."""
    first = results[0]
    run = first.get("run") or {}
    load = run.get("load_avg_1m")
    lines = [f"## Run `{run_id}`", "",
             f"{run.get('started_utc') or first['timestamp_utc']} · device {first['device']['name']} "
             f"({first['device'].get('model') or first['device']['platform']}) · variant "
             f"{first['artifact'].get('variant') or '–'} · load average at start "
             f"{'–' if load is None else f'{load:.2f}'} on {run.get('cpu_count') or '?'} CPUs", ""]
    lines += [markdown_table(results), ""]
    ratios = [(r, r["interleaved"]) for r in results if r.get("interleaved")]
    if ratios:
        lines.append("Speed-ups over PyTorch eager, timed in interleaved rounds (median and interquartile range "
                     "of per-round ratios):")
        lines.append("")
        for r, q in ratios:
            flag = " **noisy: the rounds disagree**" if q["noisy"] else ""
            lines.append(f"- {_label(r)}: {q['median']:.2f}x (IQR {q['iqr'][0]:.2f}-{q['iqr'][1]:.2f}, "
                         f"{q['rounds']} rounds){flag}")
    else:
        lines.append("Runtimes in this run were timed one after another (before interleaved rounds): ratios "
                     "between its rows include machine drift and are not reported.")
    lines += ["", f"![latency {run_id}]({image})", ""]
    return lines


def main(roots: list[Path] | Path = RESULTS_DIR, out_dir: Path | None = None) -> Path:
    """Write report.md (one section per run, newest first) and its plots into `out_dir`; returns its path."""
    roots = [roots] if isinstance(roots, Path) else roots
    out_dir = out_dir or LOCAL_REPORT_DIR
    results = [r for root in roots if root.is_dir() for r in load_results(root)]
    if not results:
        raise ValueError(f"no benchmark results under {', '.join(str(r) for r in roots)}; run `make bench` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("latency*.png"):
        old.unlink()
    runs: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        runs.setdefault(r["_run"], []).append(r)
    text = ["# Benchmark report", "", f"{len(runs)} runs, {len(results)} results. Figures of one run were measured "
            "side by side; compare runs with care (different days, different load).", ""]
    for run_id in sorted(runs, reverse=True):
        image = latency_plot(run_id, runs[run_id], out_dir)
        text += run_section(run_id, runs[run_id], image.name)
    newest = max(runs)  # run ids start with their UTC start time
    fva, placed = accuracy_plot(runs[newest], out_dir)
    text += ["## FPS vs accuracy", "",
             f"Run `{newest}`, {placed} rows placed: batch-1 rows with an evaluation of their own weights on at least "
             f"{MIN_EVAL_SAMPLES} samples (`eval_<artifact>.json` of that artifact, or for fp32 rows `eval.json` of "
             f"its checkpoint).", "", f"![fps vs accuracy]({fva.name})", ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(text))
    return report


def publish(run_id: str, runs_dir: Path = RUNS_DIR) -> str:
    """Copy a run into the committed results and regenerate the committed report from them."""
    src = runs_dir / run_id
    if not src.is_dir():
        known = ", ".join(sorted(p.name for p in runs_dir.glob("*") if p.is_dir() and p.name != "report")) or "none"
        raise ValueError(f"no run {run_id!r} in {runs_dir} (runs there: {known})")
    dst = RESULTS_DIR / run_id
    if dst.exists():
        raise ValueError(f"{dst} exists already: the published run is not overwritten")
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("raw"))
    return f"published {run_id} to {dst}; report: {main([RESULTS_DIR], REPORT_DIR)}"
