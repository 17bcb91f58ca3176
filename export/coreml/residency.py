"""Static Neural Engine residency gate over a converted MIL program (runs on Linux).

Every op must be on an allowlist of ops the ANE executes, with rank <= 4 outputs and fp16
data. fp32 is allowed only at the boundaries Core ML itself puts there: the ImageType
pre-processing (scale, bias) and the cast into fp16 at the input, and the casts back to
fp32 for the declared outputs. On macOS 14.4+ the compute plan check (macos.py) confirms
the placement on a real device; on Linux that step is reported as skipped.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from export.coreml.convert import load_mil_program
from export.coreml.macos import COMPUTE_PLAN_SKIPPED, compute_plan_check

log = logging.getLogger(__name__)

ANE_OPS = {
    "conv", "linear", "matmul", "add", "sub", "mul", "real_div", "clip", "relu", "relu6", "sigmoid", "softmax",
    "reduce_mean", "reduce_sum", "reshape", "transpose", "concat", "slice_by_index", "expand_dims",
    "squeeze", "upsample_nearest_neighbor", "avg_pool", "cast", "const",
    "constexpr_lut_to_dense", "constexpr_affine_dequantize", "constexpr_blockwise_shift_scale",
    "quantize", "dequantize",  # W8A8: int8 activations (A17 Pro / M4 Neural Engines compute them)
}
KNOWN_OFF_ANE = {
    "gather": "gather leaves the ANE", "gather_nd": "gather leaves the ANE",
    "gather_along_axis": "gather leaves the ANE", "resample": "resample (grid_sample) leaves the ANE",
    "resize_bilinear": "bilinear resize is not ANE-friendly", "topk": "topk leaves the ANE",
    "reduce_argmax": "argmax leaves the ANE", "non_zero": "data-dependent shape",
}


# Largest extent of one tensor axis the gate accepts. Apple does not document the ANE limit;
# 16384 is the figure the community reports, and no axis of the deployed graph comes near it.
MAX_AXIS = 16384


class OffendingOp(str):
    """One op the Neural Engine would not run: a readable string "type name: why" with the parts as fields."""

    op_type: str
    name: str
    why: str

    def __new__(cls, op_type: str, name: str, why: str) -> OffendingOp:
        obj = super().__new__(cls, f"{op_type} {name}: {why}")
        obj.op_type, obj.name, obj.why = op_type, name, why
        return obj


@dataclass
class ResidencyReport:
    """Outcome of the ANE residency gate."""

    ok: bool
    num_ops: int
    op_histogram: dict[str, int]
    offending: list[OffendingOp] = field(default_factory=list)
    compute_plan: str = ""


def _dtype(var) -> str:
    from coremltools.converters.mil.mil import types

    return types.builtin_to_string(var.dtype)


def _vars(op) -> list:
    """Every input and output Var of `op` (list inputs such as concat's values flattened)."""
    ins = [v for vs in op.inputs.values() for v in (vs if isinstance(vs, (list, tuple)) else [vs])]
    return ins + list(op.outputs)


def _shape_rule(op) -> str | None:
    """Rank <= 4, static shapes and bounded axes on every tensor the op reads or writes."""
    for var in _vars(op):
        if var.op is not None and var.op.op_type == "const":
            continue  # parameters (weights, shapes) are not activations
        shape = getattr(var, "shape", None)
        if shape is None:
            continue
        if len(shape) > 4:
            return f"rank-{len(shape)} tensor {var.name} (ANE: rank <= 4)"
        if any(not isinstance(d, (int, np.integer)) for d in shape):
            return f"dynamic shape {tuple(shape)} of {var.name} (ANE: static shapes only)"
        if any(int(d) > MAX_AXIS for d in shape):
            return f"axis longer than {MAX_AXIS} in {var.name} {tuple(shape)}"
    return None


def _rules(op, boundary: set[str]) -> str | None:
    """Why `op` would leave the Neural Engine, or None if it stays."""
    t = op.op_type
    if t not in ANE_OPS:
        return KNOWN_OFF_ANE.get(t, "not on the project's ANE allowlist (docs/DESIGN.md §4 op policy)")
    if t == "const" or t.startswith("constexpr_"):
        return None  # weights, decompressed at load time
    shape_problem = _shape_rule(op)
    if shape_problem:
        return shape_problem
    dt = _dtype(op.outputs[0])
    if dt == "fp32" and op.name not in boundary:
        return "fp32 island inside the fp16 program (ANE computes fp16)"
    if dt in ("int8", "uint8") and t == "quantize":
        return None  # the int8 side of a quantize/dequantize pair (W8A8)
    if dt not in ("fp16", "fp32"):
        return f"{dt} tensor computed at run time (ANE computes fp16, and int8 only between quantize pairs)"
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
    if not Path(mlpackage).is_dir():
        raise FileNotFoundError(f"no .mlpackage at {mlpackage}")
    program, _ = load_mil_program(Path(mlpackage))
    func = program.functions["main"]
    boundary = _boundary_ops(func)
    hist: dict[str, int] = {}
    offending: list[OffendingOp] = []
    for op in func.operations:
        hist[op.op_type] = hist.get(op.op_type, 0) + 1
        why = _rules(op, boundary)
        if why:
            offending.append(OffendingOp(op.op_type, op.name, why))
    if platform.system() == "Darwin":
        compute = compute_plan_check(Path(mlpackage))
    else:
        compute = COMPUTE_PLAN_SKIPPED
        # Said once per check, never silently: the static gate is all that ran.
        log.warning("MLComputePlan check %s (static MIL check only on %s)", compute, platform.system())
    ok = not offending and not compute.startswith("FAIL")
    num_ops = sum(v for k, v in hist.items() if k != "const" and not k.startswith("constexpr_"))
    return ResidencyReport(ok, num_ops, hist, offending, compute)
