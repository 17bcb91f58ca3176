"""One export session: a variant's deploy graph, its golden inputs and PyTorch's answers on them.

The format pipelines (export/{coreml,tflite,onnx}/pipeline.py) take a session, convert, and
add parity rows and accelerator checks to it; export/report.py writes what they found. The
op policy (export/op_policy.py) is checked here, before any converter runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from export.contract import build_contract, tool_versions
from export.golden import core_indices, golden_cases, golden_inputs, run_torch
from export.parity import PathParity, compare_outputs
from model.cli import say, third_party_output_to

# Packages whose version can change an exported artifact's numbers (recorded on every parity row).
PROVENANCE_TOOLS = ("torch", "litert-torch", "ai-edge-litert", "coremltools", "onnx", "onnxruntime",
                    "onnxruntime-qnn")


class ExportError(RuntimeError):
    """A user-facing failure: one line that says what to do."""


def log(msg: str) -> None:
    """Progress line on the terminal (also while converters' own output goes to the export log)."""
    say(f">> {msg}")


def converter_output(out_root: Path, name: str):
    """Where converters' own output goes: a log under `out_root`/logs (said once), or the terminal with VERBOSE=1.
    Converters print hundreds of INFO lines and harmless plugin-loading failures that read like errors."""
    if os.environ.get("VERBOSE", "") not in ("", "0"):
        return nullcontext()
    path = out_root / "logs" / f"{name}.log"
    log(f"converter output goes to {path} (VERBOSE=1 shows it here)")
    return third_party_output_to(path)


def resolve_checkpoint(variant: str, ckpt: str | None) -> str | None:
    """The checkpoint to export: explicit path, else the variant's shipped one, else None (untrained)."""
    from model.registry import get_variant

    if ckpt:
        if not Path(ckpt).is_file():
            raise ExportError(f"checkpoint {ckpt} does not exist; pass CKPT=<path to a .safetensors checkpoint>")
        return ckpt
    shipped = get_variant(variant).checkpoint
    if shipped is not None and shipped.is_file():
        return str(shipped)
    where = f" ({shipped} missing)" if shipped is not None else ""
    log(
        f"WARNING: no shipped checkpoint for variant {variant!r}{where}: "
        "exporting an UNTRAINED network with deterministic random weights. Its outputs are not a body mesh; "
        "the contract says checkpoint.trained = false."
    )
    return None


class SessionBase:
    """What every export session (the mesh's, the detector's) does the same way: check the op policy
    before any conversion, and run an exported path on the golden inputs."""

    variant: str
    model: Any
    inputs: list[np.ndarray]

    def check_op_policy(self) -> None:
        """Refuse to convert a graph with an op outside the NPU/GPU policy (docs/DESIGN.md §4)."""
        from export.op_policy import check_module

        t0 = time.perf_counter()
        violations = check_module(self.model, self.model.example_input())
        if violations:
            listed = "; ".join(str(v) for v in violations[:5])
            raise ExportError(f"{self.variant}: {len(violations)} op-policy violation(s), nothing converted: {listed}")
        log(f"op policy: every op of the {self.variant} deploy graph is allowed ({time.perf_counter() - t0:.1f} s)")

    def run_golden(self, run: Callable[[np.ndarray], dict], nhwc: bool = False) -> list[dict[str, np.ndarray]]:
        """`run` on every golden input (NHWC-transposed if asked), outputs as numpy."""
        outs = []
        for x in self.inputs:
            feed = x.transpose(0, 2, 3, 1).copy() if nhwc else x
            outs.append({k: np.asarray(v) for k, v in run(feed).items()})
        return outs


class ExportSession(SessionBase):
    """Builds a variant's deploy graph once, checks its op policy, and collects parity rows and checks."""

    def __init__(self, variant: str, ckpt: str | None, out_root: Path, template: str | None = None,
                 golden: int | None = None, strict: bool = False, gpu_precision: str | None = None) -> None:
        from model.build import build_deploy_model, resolve_template
        from model.registry import GPU_PRECISIONS, get_variant

        try:
            self.spec = get_variant(variant)
        except KeyError as exc:
            raise ExportError(str(exc.args[0])) from None
        self.variant = variant
        if gpu_precision is not None and gpu_precision not in GPU_PRECISIONS:
            raise ExportError(f"GPU_PRECISION={gpu_precision}: choose one of {', '.join(GPU_PRECISIONS)}")
        # What the Android app asks the GPU for, gated by the TFLite export and written into every contract.
        self.gpu_precision = gpu_precision or self.spec.gpu_precision
        self.ckpt = resolve_checkpoint(variant, ckpt)
        if template is not None and not Path(template).is_file():
            raise ExportError(f"template {template} does not exist; pass TEMPLATE=<path to a template .safetensors>")
        self.template = resolve_template(variant, self.ckpt, template)
        log(f"template {self.template.name} v{self.template.version} ({self.template.kind}, "
            f"V={self.template.num_vertices}, sha256 {self.template.sha256[:12]})")
        self.build = lambda **kw: build_deploy_model(variant, self.ckpt, template=self.template, **kw)
        self.model = self.build()
        from model.registry import weights_license

        self.license = weights_license(self.spec, self.model.checkpoint.metadata if self.model.checkpoint else None)
        if not self.license.commercial_use:
            log(f"LICENCE: {self.license.name}. {self.license.notice}")
        self.check_op_policy()
        self.out_dir = out_root / variant
        h, w = self.spec.input_hw
        self.num_golden = golden or self.spec.export_golden_inputs
        if not 1 <= self.num_golden <= len(golden_cases()):
            raise ExportError(f"GOLDEN={self.num_golden}: the golden set has 1 to {len(golden_cases())} cases")
        self.input_names = [c.name for c in golden_cases(self.num_golden)]
        # Core cases: the rest-pose renders, always gated; the whole set blocks publishing with STRICT=1.
        self.core = core_indices(golden_cases(self.num_golden))
        self.strict = strict
        self.inputs = golden_inputs(h, w, self.num_golden)
        self.reference = [run_torch(self.model, x) for x in self.inputs]
        self.name = self.spec.artifact_name
        self.rows: list[PathParity] = []
        self.checks: dict[str, Any] = {}

    def parity(self, path: str, arithmetic: str, run: Callable[[np.ndarray], dict], nhwc: bool = False,
               gated: bool = True, gated_text: str | None = None) -> PathParity:
        """Run `run` on every golden input and compare with PyTorch (gated by its arithmetic, or report only,
        with `gated_text` saying why)."""
        outs = self.run_golden(run, nhwc)
        row = compare_outputs(path, arithmetic, self.reference, outs, fp32_max_px=self.spec.parity_fp32_max_px,
                              input_names=self.input_names, core=self.core)
        row.enforced = self.strict
        if not gated:
            row.gate, row.passed, row.failures = gated_text or "report only", None, []
            row.core_passed, row.core_failures = None, []
        row.provenance = self.provenance
        self.rows.append(row)
        verdict = "n/a" if row.passed is None else ("pass" if row.passed else "FAIL " + "; ".join(row.failures))
        log(f"parity {path}: 2D median {row.err2d_median_px:.4f}, p99 {row.err2d_p99_px:.4f}{row.p99_tail_text()}, max "
            f"{row.err2d_max_px:.4f} px ({row.worst_input}) -> {verdict}")
        return row

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """Where this session's parity rows come from: checkpoint (None: untrained), weights and template
        hashes, and the installed versions of the converters and runtimes (missing packages left out)."""
        from model.checkpoint import WEIGHTS_HASH_KEY

        ckpt = self.model.checkpoint
        out: dict[str, Any] = {"checkpoint_sha256": ckpt.sha256 if ckpt else None}
        if ckpt and WEIGHTS_HASH_KEY in ckpt.metadata:
            out["weights_sha256"] = ckpt.metadata[WEIGHTS_HASH_KEY]
        out["template_sha256"] = self.template.sha256
        out["tools"] = tool_versions(PROVENANCE_TOOLS)
        return out

    def contract(self, fmt: str, artifact: str, precision: str, **kw) -> dict[str, Any]:
        """Contract for one artifact (validated against the schema)."""
        return build_contract(self.model, self.template, fmt=fmt, artifact=artifact, precision=precision,
                              gpu_precision=self.gpu_precision, **kw)
