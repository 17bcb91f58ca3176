"""NPU op policy (docs/DESIGN.md §4), enforced on the torch.export graph of a deploy module.

Every op must be on an allowlist of what the Apple Neural Engine and the LiteRT GPU
delegate both run natively, every tensor of rank <= 4, float32, with static shapes;
softmax only over the last axis, resizes only nearest and at most 2x. A violation
names the op and the module that emitted it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch

aten = torch.ops.aten

ALLOWED_OPS = {
    aten.conv2d.default: "convolution (regular, depthwise, pointwise)",
    aten.linear.default: "fully connected",
    aten.matmul.default: "matmul (batch matmul / with constants)",
    aten.hardtanh.default: "ReLU6",
    aten.hardtanh_.default: "ReLU6",
    aten.relu.default: "ReLU",
    aten.relu_.default: "ReLU",
    aten.hardswish.default: "hard-swish",
    aten.hardswish_.default: "hard-swish",
    aten.sigmoid.default: "sigmoid",
    aten.add.Tensor: "add",
    aten.sub.Tensor: "sub",
    aten.mul.Tensor: "mul",
    aten.div.Tensor: "div",
    aten.cat.default: "concat",
    aten.reshape.default: "reshape (static)",
    aten.view.default: "reshape (static)",
    aten.flatten.using_ints: "reshape (static)",
    aten.permute.default: "transpose",
    aten.transpose.int: "transpose",
    aten.unsqueeze.default: "reshape (static)",
    aten.squeeze.dim: "reshape (static)",
    aten.slice.Tensor: "static slice",
    aten.select.int: "static slice",
    aten.mean.dim: "mean over constant axes",
    aten.sum.dim_IntList: "sum over constant axes",
    aten.softmax.int: "softmax over the last axis",
    aten._softmax.default: "softmax over the last axis",
    aten.upsample_nearest2d.vec: "nearest upsampling (<= 2x)",
    aten.avg_pool2d.default: "average pooling (kernel <= 13)",
    operator.getitem: "tuple access",
}

# Ops worth a specific explanation when they appear.
KNOWN_BAD = {
    "grid_sampler": "grid_sample/resample leaves the ANE and is not in the GPU delegate",
    "gather": "gather leaves the ANE; the GPU delegate takes GATHER only with 1-D int32 indices",
    "index": "advanced indexing lowers to gather",
    "argmax": "ARG_MAX is not in the GPU delegate and leaves the ANE",
    "topk": "topk leaves the ANE",
    "sort": "sort is not supported on the accelerators",
    "nonzero": "data-dependent shape",
    "batch_norm": "batch norm must be folded into the convolution before export",
    "arange": "int64 index arithmetic",
}


@dataclass(frozen=True)
class Violation:
    """One op that breaks the policy."""

    op: str
    module: str
    reason: str

    def __str__(self) -> str:
        return f"{self.op} in {self.module}: {self.reason}"


class OpPolicyError(RuntimeError):
    """Raised by assert_npu_friendly with every violation listed."""


def _module_path(node: torch.fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "<top level>"
    path, cls = list(stack.values())[-1]
    cls_name = cls if isinstance(cls, str) else getattr(cls, "__name__", str(cls))
    return f"{path or '<root>'} ({cls_name.rsplit('.', 1)[-1]})"


def _op_name(target) -> str:
    return getattr(target, "__name__", None) or str(target)


def _reason_for_unknown(name: str) -> str:
    for key, why in KNOWN_BAD.items():
        if key in name:
            return why
    return "not on the NPU/GPU-delegate allowlist (export/op_policy.py)"


def _check_value(node: torch.fx.Node, val) -> str | None:
    if isinstance(val, (tuple, list)):
        for item in val:
            msg = _check_value(node, item)
            if msg:
                return msg
        return None
    if not isinstance(val, torch.Tensor):
        return None
    if val.dim() > 4:
        return f"produces a rank-{val.dim()} tensor {tuple(val.shape)} (rank <= 4 only)"
    if any(not isinstance(s, int) for s in val.shape):
        return f"has a data-dependent / symbolic shape {tuple(val.shape)}"
    if val.dtype != torch.float32:
        return f"produces {val.dtype} (float32 only; no int64 arithmetic)"
    return None


def _check_args(node: torch.fx.Node) -> str | None:
    target = node.target
    if target in (aten.softmax.int, aten._softmax.default):
        rank = node.args[0].meta["val"].dim()
        dim = node.args[1]
        if dim not in (-1, rank - 1):
            return f"softmax over axis {dim} of a rank-{rank} tensor (last axis only)"
    if target is aten.upsample_nearest2d.vec:
        scales = node.args[2] if len(node.args) > 2 else None
        in_shape = node.args[0].meta["val"].shape
        out_shape = node.meta["val"].shape
        ratios = scales or (out_shape[-2] / in_shape[-2], out_shape[-1] / in_shape[-1])
        if any(r > 2 for r in ratios):
            return f"upsamples by {tuple(ratios)} (at most 2x per resize)"
    if target is aten.avg_pool2d.default:
        kernel = node.args[1]
        if max(kernel) > 13:
            return f"pools with kernel {kernel} (ANE takes <= 13)"
    return None


def check_graph(program: torch.export.ExportedProgram) -> list[Violation]:
    """All policy violations of an exported program (empty when it complies)."""
    violations: list[Violation] = []
    for node in program.graph.nodes:
        if node.op == "placeholder":
            msg = _check_value(node, node.meta.get("val"))
            if msg:
                violations.append(Violation(f"input {node.name}", "<inputs>", msg))
            continue
        if node.op != "call_function":
            continue
        name = _op_name(node.target)
        where = _module_path(node)
        if node.target not in ALLOWED_OPS:
            violations.append(Violation(name, where, _reason_for_unknown(name)))
            continue
        msg = _check_value(node, node.meta.get("val")) or _check_args(node)
        if msg:
            violations.append(Violation(name, where, msg))
    return violations


def check_module(module: torch.nn.Module, example_input: torch.Tensor) -> list[Violation]:
    """torch.export the module on `example_input` and return its policy violations."""
    program = torch.export.export(module.eval(), (example_input,))
    return check_graph(program)


def assert_npu_friendly(module: torch.nn.Module, example_input: torch.Tensor) -> None:
    """Raise OpPolicyError listing every violation, or return silently when the graph complies."""
    violations = check_module(module, example_input)
    if violations:
        lines = "\n  ".join(str(v) for v in violations)
        raise OpPolicyError(f"{len(violations)} op-policy violation(s):\n  {lines}")
