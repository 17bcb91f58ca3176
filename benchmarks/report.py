"""`make bench-report`: a Markdown table and PNG plots from benchmarks/results/*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.results import RESULTS_DIR, load_results

REPORT_DIR = Path(__file__).resolve().parent / "report"
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


def _accuracy(variant: str | None) -> tuple[float, str] | None:
    """(value, metric name) of a variant's headline accuracy from artifacts/<variant>/eval.json, if evaluated."""
    if not variant:
        return None
    path = ARTIFACTS / variant / "eval.json"
    if not path.is_file():
        return None
    headline = json.loads(path.read_text()).get("headline") or {}
    if headline.get("value") is None:
        return None
    return float(headline["value"]), str(headline.get("name") or "evaluation headline metric")


def plots(results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """latency.png (p50 per device/runtime) and fps_vs_accuracy.png (paper Figure 2 style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [r for r in results if r["timings_ms"]["p50"] or r["timings_ms"]["mean"]]
    labels = [f"{r['artifact'].get('variant', '?')} @ {r['device']['name']}\n{r['runtime']['name']} "
              f"{r['runtime']['accelerator'][:12]}\n{r['runtime']['precision']} b{r['method']['batch']}" for r in rows]
    values = [r["timings_ms"]["p50"] or r["timings_ms"]["mean"] for r in rows]
    colours = ["#bbbbbb" if r["runtime"]["functional_only"] else "#3b75af" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows)), 4.5))
    ax.bar(range(len(rows)), values, color=colours)
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("latency per batch, median ms (log scale; mean where no median)")
    ax.set_title("MeshPose latency (grey: functional-only software GPU, not a phone figure)")
    fig.tight_layout()
    latency = out_dir / "latency.png"
    fig.savefig(latency, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    metric_names: set[str] = set()
    for r in rows:
        found = _accuracy(r["artifact"].get("variant"))
        if found is None or r["runtime"]["functional_only"] or r["method"]["batch"] != 1:
            continue
        acc, name = found
        metric_names.add(name)
        ax.scatter(r["fps"], acc)
        ax.annotate(f"{r['artifact'].get('variant')} {r['device']['name']} {r['runtime']['name']}", (r["fps"], acc),
                    fontsize=7)
    if not metric_names:
        ax.text(0.5, 0.5, "accuracy: not evaluated\n(no artifacts/<variant>/eval.json yet)", ha="center",
                va="center", transform=ax.transAxes)
    ax.set_xlabel("FPS (batch 1)")
    ax.set_ylabel(" / ".join(sorted(metric_names)) if metric_names else "accuracy")
    ax.set_title("FPS vs accuracy per variant")
    fig.tight_layout()
    fva = out_dir / "fps_vs_accuracy.png"
    fig.savefig(fva, dpi=110)
    plt.close(fig)
    return [latency, fva]


def main(results_dir: Path = RESULTS_DIR, out_dir: Path = REPORT_DIR) -> Path:
    """Write report.md and the plots; returns the report path."""
    results = load_results(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = plots(results, out_dir) if results else []
    text = ["# Benchmark report", "", f"{len(results)} results from `{results_dir.name}/`.", "",
            markdown_table(results), ""]
    text += [f"![{p.stem}]({p.name})" for p in pngs]
    report = out_dir / "report.md"
    report.write_text("\n".join(text) + "\n")
    return report
