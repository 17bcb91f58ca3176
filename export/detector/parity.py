"""Parity of an exported detector path against PyTorch fp32: raw outputs and the people they decode to.

Figures are in the detector's own units: regressor errors in input pixels (224x224 input), score
errors as probabilities (after the contract's clipped sigmoid), and the decoded people (the
reference pipeline, model/pipeline/detector.py, on both outputs, with the input as the frame)
compared corner by corner and keypoint by keypoint in input pixels. Gates:
  fp32: regressors max <= 0.01 px, scores max <= 1e-4, same people, decoded max <= 0.01 px;
  fp16 (fp16 storage, fp32 arithmetic: XNNPACK with fp16 weights, the Core ML numpy MIL simulator):
        regressors of the reference's candidates (score >= 0.1) max <= 0.5 px, scores max <= 0.01,
        same people, decoded max <= 0.5 px (about 4 px of a 1920-pixel frame);
  fp16-gpu (fp16 arithmetic: the LiteRT GPU run on lavapipe): same people, scores max <= 0.05, and
        decoded max <= 2% of the reference person box's side. The absolute fp16 gate does not hold
        there: this network's regressors (up to ~230 input px on candidates) come out of 1x1 convolutions
        accumulated in fp16, 3.2 px off on the golden inputs, the same with TFLite's own RESIZE_BILINEAR
        in place of the port's matmul resize (model/detector/README.md); 2% is about 5 px of a 250-px person.
  int8: reported, not gated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from model.pipeline import detector as ref

FP32 = {"regressor_px": 0.01, "score": 1e-4, "decoded_px": 0.01}
FP16 = {"regressor_px": 0.5, "score": 0.01, "decoded_px": 0.5}
FP16_GPU = {"score": 0.05, "decoded_rel": 0.02}
GATES = {"fp32": FP32, "fp16": FP16, "fp16-gpu": FP16_GPU, "int8": None}
CANDIDATE_SCORE = 0.1  # anchors whose regressors matter: reference probability >= this


@dataclass
class DetectorParity:
    """Agreement of one exported detector path with PyTorch fp32 over the golden inputs."""

    path: str
    arithmetic: str
    inputs: int
    regressor_max_px: float  # every anchor
    regressor_candidates_max_px: float  # anchors with reference score >= CANDIDATE_SCORE
    score_max_abs: float  # probability
    logit_max_abs: float
    people_reference: int
    people_path: int
    decoded_max_px: float  # face boxes, person boxes and keypoints of the matched people
    decoded_max_rel: float  # the same error over the side of the reference person box
    gate: str
    passed: bool | None
    failures: list[str] = field(default_factory=list)
    provenance: dict[str, Any] | None = None  # the weights' sha256 and the tools' versions
    enforced: bool = True  # the detector's gate has no core/whole-set split: a failure always blocks

    def blocking_failures(self) -> list[str]:
        """The failures that stop the export (print_summary asks every row kind this)."""
        return (self.failures or ["gate failed"]) if self.passed is False else []

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


def _people(out: dict[str, np.ndarray], names: tuple[str, str]) -> list[ref.Person]:
    lb = ref.letterbox(ref.INPUT_SIZE, ref.INPUT_SIZE)  # the input itself as the frame: input pixels
    return ref.detect_people(np.asarray(out[names[0]])[0], np.asarray(out[names[1]])[0], lb, max_people=10)


def _person_points(p: ref.Person) -> np.ndarray:
    return np.concatenate([np.reshape(p.face_box, (2, 2)), np.reshape(p.person_box, (2, 2)), p.keypoints])


def compare_detector(path: str, arithmetic: str, reference: list[dict[str, np.ndarray]],
                     candidate: list[dict[str, np.ndarray]], names: tuple[str, str]) -> DetectorParity:
    """Compare per-input output dicts {regressors (1, N, 12), scores (1, N, 1)} with the reference."""
    if len(reference) != len(candidate) or not reference:
        raise ValueError(f"{path}: {len(candidate)} candidate outputs for {len(reference)} reference inputs")
    reg_all, reg_cand, score, logit, decoded, rel = [0.0], [0.0], [0.0], [0.0], [0.0], [0.0]
    people_ref = people_path = 0
    count_mismatch = []
    for i, (r, c) in enumerate(zip(reference, candidate)):
        for name in names:
            if np.shape(c[name]) != np.shape(r[name]):
                raise ValueError(f"{path}: output {name} has shape {np.shape(c[name])}, expected {np.shape(r[name])}")
        rr, cr = (np.asarray(d[names[0]], np.float64)[0] for d in (r, c))
        rs, cs = (np.asarray(d[names[1]], np.float64)[0, :, 0] for d in (r, c))
        err = np.abs(cr - rr).max(axis=1)
        prob_ref = ref.scores(rs)
        reg_all.append(float(err.max()))
        reg_cand.append(float(err[prob_ref >= CANDIDATE_SCORE].max(initial=0.0)))
        score.append(float(np.abs(ref.scores(cs) - prob_ref).max()))
        logit.append(float(np.abs(cs - rs).max()))
        pr, pc = _people(r, names), _people(c, names)
        people_ref += len(pr)
        people_path += len(pc)
        if len(pr) != len(pc):
            count_mismatch.append(f"input {i}: {len(pc)} people, reference {len(pr)}")
            continue
        for a, b in zip(pr, pc):
            decoded.append(float(np.abs(_person_points(a) - _person_points(b)).max()))
            rel.append(decoded[-1] / (a.person_box[2] - a.person_box[0]))
    gate = GATES.get(arithmetic)
    res = DetectorParity(path, arithmetic, len(reference), max(reg_all), max(reg_cand), max(score), max(logit),
                         people_ref, people_path, max(decoded), max(rel), arithmetic if gate else "report only", None)
    if gate is FP16_GPU:
        if res.score_max_abs > gate["score"]:
            res.failures.append(f"score error {res.score_max_abs:.2e} > {gate['score']}")
        if res.decoded_max_rel > gate["decoded_rel"]:
            res.failures.append(f"decoded people error {res.decoded_max_rel:.2%} of the person box > "
                                f"{gate['decoded_rel']:.0%}")
        res.failures += count_mismatch
        res.passed = not res.failures
    elif gate is not None:
        if not np.isfinite([res.regressor_max_px, res.logit_max_abs]).all():
            res.failures.append("non-finite outputs")
        reg = res.regressor_max_px if gate is FP32 else res.regressor_candidates_max_px
        if reg > gate["regressor_px"]:
            res.failures.append(f"regressor error {reg:.4f} px > {gate['regressor_px']} px")
        if res.score_max_abs > gate["score"]:
            res.failures.append(f"score error {res.score_max_abs:.2e} > {gate['score']}")
        if res.decoded_max_px > gate["decoded_px"]:
            res.failures.append(f"decoded people error {res.decoded_max_px:.4f} px > {gate['decoded_px']} px")
        res.failures += count_mismatch
        res.passed = not res.failures
    return res


def markdown_table(rows: list[DetectorParity]) -> str:
    """Markdown parity table, one row per path."""
    lines = [
        "| path | arithmetic | regressors max px | candidates max px | score max | logit max | people (ref/path) "
        "| decoded max px | decoded max / box | gate |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = "n/a" if r.passed is None else ("pass" if r.passed else "FAIL: " + "; ".join(r.failures))
        lines.append(
            f"| {r.path} | {r.arithmetic} | {r.regressor_max_px:.4f} | {r.regressor_candidates_max_px:.4f} "
            f"| {r.score_max_abs:.2e} | {r.logit_max_abs:.2e} | {r.people_reference}/{r.people_path} "
            f"| {r.decoded_max_px:.4f} | {r.decoded_max_rel:.2%} | {r.gate}: {verdict} |"
        )
    return "\n".join(lines)
