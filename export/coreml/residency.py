"""Static Neural Engine residency gate over a converted MIL program (runs on Linux).

Every op must be on an allowlist of ops the ANE executes, with rank <= 4 outputs and fp16
data. fp32 is allowed only at the boundaries Core ML itself puts there: the ImageType
pre-processing (scale, bias) and the cast into fp16 at the input, and the casts back to
fp32 for the declared outputs. On macOS 14.4+ the compute plan check (macos.py) confirms
the placement on a real device; on Linux that step is reported as skipped.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

from export.coreml.convert import load_mil_program
from export.coreml.macos import compute_plan_check

ANE_OPS = {
    "conv", "linear", "matmul", "add", "sub", "mul", "real_div", "clip", "relu", "sigmoid", "softmax",
    "reduce_mean", "reduce_sum", "reshape", "transpose", "concat", "slice_by_index", "expand_dims",
    "squeeze", "upsample_nearest_neighbor", "avg_pool", "cast", "const",
    "constexpr_lut_to_dense", "constexpr_affine_dequantize", "constexpr_blockwise_shift_scale",
}
KNOWN_OFF_ANE = {
    "gather": "gather leaves the ANE", "gather_nd": "gather leaves the ANE",
    "gather_along_axis": "gather leaves the ANE", "resample": "resample (grid_sample) leaves the ANE",
    "resize_bilinear": "bilinear resize is not ANE-friendly", "topk": "topk leaves the ANE",
    "reduce_argmax": "argmax leaves the ANE", "non_zero": "data-dependent shape",
}


@dataclass
class ResidencyReport:
    """Outcome of the ANE residency gate."""

    ok: bool
    num_ops: int
    op_histogram: dict[str, int]
    offending: list[str] = field(default_factory=list)
    compute_plan: str = ""


def _dtype(var) -> str:
    from coremltools.converters.mil.mil import types

    return types.builtin_to_string(var.dtype)


def _rules(op, boundary: set[str]) -> str | None:
    t = op.op_type
    if t not in ANE_OPS:
        return KNOWN_OFF_ANE.get(t, "not on the Neural Engine allowlist")
    out = op.outputs[0]
    if out.rank is not None and out.rank > 4:
        return f"rank-{out.rank} output (ANE: rank <= 4 here)"
    dt = _dtype(out)
    if dt == "fp32" and op.name not in boundary and t != "const":
        return "fp32 island inside the fp16 program"
    if dt not in ("fp16", "fp32", "int32", "bool", "str") and t != "const" and not t.startswith("constexpr"):
        return f"{dt} data"
    dil = op.inputs.get("dilations") if t == "conv" else None
    if dil is not None and any(int(d) != 1 for d in dil.val):
        return "dilated convolution leaves the ANE"
    if t == "upsample_nearest_neighbor" and max(
        float(op.inputs["scale_factor_height"].val), float(op.inputs["scale_factor_width"].val)
    ) > 2:
        return "upsampling by more than 2x"
    if t == "avg_pool" and max(int(k) for k in op.inputs["kernel_sizes"].val) > 13:
        return "pooling kernel larger than 13"
    return None


def _boundary_ops(func) -> set[str]:
    """Ops allowed to be fp32: from the inputs up to their first cast, and the final output casts."""
    allowed: set[str] = set()
    frontier = set(func.inputs)
    for op in func.operations:
        if op.op_type == "const":
            continue
        names = {v.name for vs in op.inputs.values() for v in (vs if isinstance(vs, (list, tuple)) else [vs])}
        if names & frontier:
            allowed.add(op.name)
            if op.op_type != "cast":
                frontier.add(op.outputs[0].name)
    outputs = {v.name for v in func.outputs}
    allowed |= {op.name for op in func.operations if op.op_type == "cast" and op.outputs[0].name in outputs}
    return allowed


def check_ane_residency(mlpackage: Path) -> ResidencyReport:
    """Static ANE check of every op; plus the MLComputePlan check on macOS 14.4+ (else reported skipped)."""
    program, _ = load_mil_program(Path(mlpackage))
    func = program.functions["main"]
    boundary = _boundary_ops(func)
    hist: dict[str, int] = {}
    offending = []
    for op in func.operations:
        hist[op.op_type] = hist.get(op.op_type, 0) + 1
        why = _rules(op, boundary)
        if why:
            offending.append(f"{op.op_type} {op.name}: {why}")
    compute = compute_plan_check(Path(mlpackage)) if platform.system() == "Darwin" else (
        "skipped: MLComputePlan needs macOS 14.4+ (this host is Linux); static MIL check only"
    )
    ok = not offending and not compute.startswith("FAIL")
    return ResidencyReport(ok, sum(v for k, v in hist.items() if k != "const"), hist, offending, compute)
