"""DetectorSession: the detector's deploy graph, golden inputs and PyTorch answers, for the format pipelines.

It offers what export/{coreml,tflite,onnx}/pipeline.py use of an ExportSession (build, model, name,
spec.input_hw, contract, parity, checks, rows), so the detector is converted and gated by exactly
the mesh's code: op policy before conversion, ANE residency and fp16 MIL parity, LiteRT analyzer
and GPU run, onnx.checker and onnxruntime parity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from export.contract import tool_versions
from export.detector.contract import build_detector_contract
from export.detector.parity import DetectorParity, compare_detector
from export.golden import run_torch
from export.session import PROVENANCE_TOOLS, ExportError, SessionBase, log
from model.detector.frames import fixture_frames
from model.pipeline.detector import letterbox_image

NOISE_SEED = 7


@dataclass(frozen=True)
class DetectorExportSpec:
    """The few spec fields the format pipelines read."""

    input_hw: tuple[int, int]
    gpu_precision: str = "fp16"


def golden_detector_inputs() -> tuple[list[str], list[np.ndarray]]:
    """Names and (1, 3, 224, 224) float32 RGB [0, 255] inputs: the letterboxed fixture frames (real photo,
    two people, a render, nobody) and one seeded uniform-noise image (every anchor busy)."""
    names, inputs = [], []
    for name, frame in fixture_frames():
        x, _ = letterbox_image(frame)
        names.append(name)
        inputs.append(x.transpose(2, 0, 1)[None].copy())
    names.append(f"uniform_noise_seed{NOISE_SEED}")
    noise = np.random.default_rng(NOISE_SEED).uniform(0, 255, (1, 3, 224, 224)).astype(np.float32)
    inputs.append(noise)
    return names, inputs


class DetectorSession(SessionBase):
    """Builds the detector's deploy graph once, checks its op policy, collects parity rows and checks."""

    variant = "detector"

    def __init__(self, weights: str | None, out_root: Path) -> None:
        from model.checkpoint import CheckpointError
        from model.detector.build import build_detector
        from model.detector.spec import NAME

        try:
            self.model = build_detector(weights)
        except CheckpointError as exc:
            raise ExportError(str(exc)) from None
        self.build = lambda **kw: build_detector(weights, **kw)
        self.spec = DetectorExportSpec(self.model.net.input_hw)
        self.name = NAME
        self.check_op_policy()
        self.out_dir = Path(out_root) / "detector"
        self.input_names, self.inputs = golden_detector_inputs()
        self.num_golden = len(self.inputs)
        self.reference = [run_torch(self.model, x) for x in self.inputs]
        self.rows: list[DetectorParity] = []
        self.checks: dict[str, Any] = {}

    def parity(self, path: str, arithmetic: str, run: Callable[[np.ndarray], dict], nhwc: bool = False,
               gated: bool = True) -> DetectorParity:
        """Run `run` on every golden input and compare boxes and scores with PyTorch."""
        outs = self.run_golden(run, nhwc)
        # The shared TFLite pipeline labels its GPU run "fp16"; that path computes in fp16 (parity.py's gates).
        gated_as = "fp16-gpu" if arithmetic == "fp16" and "gpu" in path else arithmetic
        row = compare_detector(path, gated_as, self.reference, outs, self.model.output_names)
        if not gated:
            row.gate, row.passed, row.failures = "report only", None, []
        row.provenance = self.provenance
        self.rows.append(row)
        verdict = "n/a" if row.passed is None else ("pass" if row.passed else "FAIL " + "; ".join(row.failures))
        log(f"parity {path}: regressors max {row.regressor_max_px:.4f} px, scores max {row.score_max_abs:.1e}, "
            f"people {row.people_reference}/{row.people_path} -> {verdict}")
        return row

    @property
    def provenance(self) -> dict[str, Any]:
        """Where this session's rows come from: the converted weights' sha256 and the tools' versions."""
        return {"weights_sha256": (self.model.weights or {}).get("sha256"), "tools": tool_versions(PROVENANCE_TOOLS)}

    def contract(self, fmt: str, artifact: str, precision: str, **kw) -> dict[str, Any]:
        """Contract for one artifact (validated against the detector schema)."""
        return build_detector_contract(self.model, fmt=fmt, artifact=artifact, precision=precision, **kw)
