"""Parity figures of an exported path against the PyTorch fp32 reference, and their gates.

Figures are in the mesh's own units: 2D vertex error in input pixels (median, p99, max
over visible vertices of every golden input pooled), depth error, visibility error and joint
error. Gates: fp32 paths max 2D error <= 0.01 px; fp16 paths median <= 0.1 px and max <= 0.5 px;
int8 paths median <= 0.5 px and p99 <= 1.5 px (quantisation moves every vertex a little, so the
gate bounds the typical error and the tail, not the single worst vertex); all on visible vertices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from model.pipeline.decode import VISIBILITY_THRESHOLD

FP32_MAX_PX = 0.01
FP16_MEDIAN_PX = 0.1
FP16_MAX_PX = 0.5
INT8_MEDIAN_PX = 0.5
INT8_P99_PX = 1.5
VISIBLE = VISIBILITY_THRESHOLD  # the vertices the gates count: those the apps draw

# Gate each path by the arithmetic it runs in. A pipeline can still mark a row report-only (a
# measurement of a path that is not shipped), and says why in its gate text.
GATES = {"fp32": "fp32", "fp16": "fp16", "int8": "int8"}


@dataclass
class PathParity:
    """Agreement of one exported path with PyTorch fp32 over the golden inputs."""

    path: str
    arithmetic: str  # fp32 | fp16 | int8
    inputs: int
    visible_vertices: int
    err2d_median_px: float
    err2d_p99_px: float
    err2d_max_px: float
    err2d_max_all_px: float
    depth_err_median_px: float
    depth_err_max_px: float
    visibility_err_max: float
    joint_err_max_px: float | None  # None: the model has no joints output
    gate: str
    passed: bool | None
    failures: list[str] = field(default_factory=list)
    # Which weights, template and converters produced this row (ExportSession.provenance): the report
    # keeps an earlier export's row only when its checkpoint and template are the current ones.
    provenance: dict[str, Any] = field(default_factory=dict)
    # The golden case holding the largest gated error (export/golden.py names), where names were given.
    worst_input: str | None = None
    # The same gate over the core cases alone (the rest-pose renders every earlier release was gated on):
    # always enforced. The verdict above, over the whole representative set, blocks publishing only where
    # `enforced` (STRICT=1) until the shipped checkpoints pass it (docs/DESIGN.md, "Gates").
    core_inputs: int = 0
    core_median_px: float | None = None
    core_max_px: float | None = None
    core_passed: bool | None = None
    core_failures: list[str] = field(default_factory=list)
    enforced: bool = True
    # Largest gated 2D error per golden kind ("rest", "noise", ...: the case name without its index), where
    # names were given: says which kinds of input a failing whole-set verdict comes from.
    kind_max_px: dict[str, float] = field(default_factory=dict)
    # How many of the gated vertices above the whole-set p99 each kind holds, most first: says whether
    # the p99 verdict is the inputs of people or one extreme input (measured: `noise_0` alone, for int8).
    p99_tail_by_kind: dict[str, int] = field(default_factory=dict)

    def p99_tail_text(self) -> str:
        """` (above it: noise 30, ...)`: the three kinds holding most vertices above the p99, or ''."""
        tail = ", ".join(f"{k} {n}" for k, n in list(self.p99_tail_by_kind.items())[:3])
        return f" (above it: {tail})" if tail else ""

    def blocking_failures(self) -> list[str]:
        """The failures that stop an export from publishing: the core gate's, and the whole set's if enforced."""
        out = [f"core: {f}" for f in self.core_failures] if self.core_passed is False else []
        if self.enforced and self.passed is False:
            out += self.failures or ["gate failed"]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


def compare_outputs(
    path: str,
    arithmetic: str,
    reference: list[dict[str, np.ndarray]],
    candidate: list[dict[str, np.ndarray]],
    fp32_max_px: float = FP32_MAX_PX,
    input_names: list[str] | None = None,
    core: list[int] | None = None,
) -> PathParity:
    """Compare per-input output dicts (vertices (1,V,3), visibility (1,V) and, if the model has them,
    joints (1,J,3)); `input_names` name the inputs, so the row can say which one erred most; `core` (input
    indices) gets its own verdict too."""
    if len(reference) != len(candidate) or not reference:
        raise ValueError(f"{path}: {len(candidate)} candidate outputs for {len(reference)} reference inputs")
    e2d_vis, e2d_all, ez, evis, ej = [], [], [], [], []
    for ref, cand in zip(reference, candidate):
        names = ("vertices", "visibility", "joints") if "joints" in ref else ("vertices", "visibility")
        for name in names:
            if np.shape(cand[name]) != np.shape(ref[name]):
                got, want = np.shape(cand[name]), np.shape(ref[name])
                raise ValueError(f"{path}: output {name} has shape {got}, expected {want}")
        rv, cv = np.asarray(ref["vertices"], np.float64)[0], np.asarray(cand["vertices"], np.float64)[0]
        d2 = np.linalg.norm(cv[:, :2] - rv[:, :2], axis=-1)
        visible = np.asarray(ref["visibility"])[0] >= VISIBLE
        e2d_all.append(d2)
        e2d_vis.append(d2[visible])
        ez.append(np.abs(cv[:, 2] - rv[:, 2]))
        evis.append(np.abs(np.asarray(cand["visibility"], np.float64) - ref["visibility"]).ravel())
        if "joints" in ref:
            rj, cj = np.asarray(ref["joints"], np.float64)[0], np.asarray(cand["joints"], np.float64)[0]
            ej.append(np.linalg.norm(cj[:, :2] - rj[:, :2], axis=-1))
    vis = np.concatenate(e2d_vis)
    all_ = np.concatenate(e2d_all)
    # With no visible vertex (an untrained model can predict none), gate on all vertices instead.
    gated = vis if vis.size else all_
    per_input = [float(e.max()) if e.size else -1.0 for e in (e2d_vis if vis.size else e2d_all)]
    res = PathParity(
        path=path,
        arithmetic=arithmetic,
        inputs=len(reference),
        visible_vertices=int(vis.size),
        err2d_median_px=float(np.median(gated)),
        err2d_p99_px=float(np.percentile(gated, 99)),
        err2d_max_px=float(gated.max()),
        err2d_max_all_px=float(all_.max()),
        depth_err_median_px=float(np.median(np.concatenate(ez))),
        depth_err_max_px=float(np.concatenate(ez).max()),
        visibility_err_max=float(np.concatenate(evis).max()),
        joint_err_max_px=float(np.concatenate(ej).max()) if ej else None,
        gate=GATES.get(arithmetic) or "report only",
        passed=None,
        worst_input=input_names[int(np.argmax(per_input))] if input_names else None,
    )
    if input_names:
        input_kinds = [name.rsplit("_", 1)[0] for name in input_names]
        for kind, worst in zip(input_kinds, per_input):
            res.kind_max_px[kind] = round(max(res.kind_max_px.get(kind, 0.0), max(worst, 0.0)), 4)
        kinds = np.concatenate([np.full(e.size, k) for k, e in zip(input_kinds, e2d_vis if vis.size else e2d_all)])
        tail, counts = np.unique(kinds[gated > res.err2d_p99_px], return_counts=True)
        res.p99_tail_by_kind = {str(k): int(c) for c, k in sorted(zip(counts, tail), key=lambda t: (-t[0], t[1]))}
    apply_gate(res, fp32_max_px)
    if core:
        sub = compare_outputs(path, arithmetic, [reference[i] for i in core], [candidate[i] for i in core],
                              fp32_max_px)
        res.core_inputs, res.core_median_px, res.core_max_px = len(core), sub.err2d_median_px, sub.err2d_max_px
        res.core_passed, res.core_failures = sub.passed, sub.failures
    return res


def apply_gate(res: PathParity, fp32_max_px: float = FP32_MAX_PX) -> None:
    """Fill `passed` and `failures` from the gate of the path's arithmetic."""
    gate = GATES.get(res.arithmetic)
    if gate is None:
        return
    if not np.isfinite([res.err2d_max_px, res.depth_err_max_px, res.visibility_err_max]).all():
        res.failures.append("non-finite outputs")
    if gate == "fp32" and res.err2d_max_px > fp32_max_px:
        res.failures.append(f"max 2D error {res.err2d_max_px:.4f} px > {fp32_max_px} px")
    if gate == "fp16":
        if res.err2d_median_px > FP16_MEDIAN_PX:
            res.failures.append(f"median 2D error {res.err2d_median_px:.4f} px > {FP16_MEDIAN_PX} px")
        if res.err2d_max_px > FP16_MAX_PX:
            res.failures.append(f"max 2D error {res.err2d_max_px:.4f} px > {FP16_MAX_PX} px")
    if gate == "int8":
        if res.err2d_median_px > INT8_MEDIAN_PX:
            res.failures.append(f"median 2D error {res.err2d_median_px:.4f} px > {INT8_MEDIAN_PX} px")
        if res.err2d_p99_px > INT8_P99_PX:
            res.failures.append(f"p99 2D error {res.err2d_p99_px:.4f} px > {INT8_P99_PX} px")
    res.passed = not res.failures


def markdown_table(rows: list[PathParity]) -> str:
    """Markdown parity table, one row per path."""
    lines = [
        "| path | arithmetic | visible V | 2D median px | 2D p99 px | 2D max px | depth max px "
        "| visibility max err | joints max px | gate (all golden cases) | core gate |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = "n/a" if r.passed is None else ("pass" if r.passed else "FAIL: " + "; ".join(r.failures))
        worst = f" ({r.worst_input})" if r.worst_input else ""
        if r.passed is not None and not r.enforced:
            verdict += " (not enforced)"
        core = "–" if r.core_passed is None else (
            f"{r.core_max_px:.4f} px max: " + ("pass" if r.core_passed else "FAIL: " + "; ".join(r.core_failures)))
        lines.append(
            f"| {r.path} | {r.arithmetic} | {r.visible_vertices} | {r.err2d_median_px:.4f} "
            f"| {r.err2d_p99_px:.4f}{r.p99_tail_text()} | {r.err2d_max_px:.4f}{worst} | {r.depth_err_max_px:.4f} "
            f"| {r.visibility_err_max:.2e} "
            f"| {'–' if r.joint_err_max_px is None else f'{r.joint_err_max_px:.4f}'} | {r.gate}: {verdict} | {core} |"
        )
    return "\n".join(lines)
