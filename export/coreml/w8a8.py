"""Core ML W8A8: int8 weights and int8 activations for the Neural Engines that compute in int8
(A17 Pro, M4 and later), calibrated on Linux.

coremltools' `linear_quantize_activations` measures activation ranges by running the model with
Core ML's `predict`, which exists only on macOS. The measuring is the only part that needs a runtime:
here the ranges come from the numpy MIL executor (export/coreml/mil_numpy.py, fp16 storage as on the
device) run on the calibration renders, and coremltools' own graph passes then insert the
quantize/dequantize pairs from those ranges (the same passes `linear_quantize_activations` applies).
Weights inside the int8 region are then quantised to int8 per channel with `linear_quantize_weights`; the
float parts keep fp16 weights, as in the TFLite recipe.

Four choices close the gap to the TFLite int8 recipe and then go past it (measured in docs/DESIGN.md §8, "int8"):
- ReLU6 arrives from torch as `clip(x, 0, 6)`, which coremltools' suffix pass does not treat as an activation
  to fuse, so it quantised every convolution's output before the clip, over its pre-activation range (often
  ten times wider than [0, 6]). `clip_to_relu6_pass` rewrites those clips first, and the pair then follows the ReLU6.
- Activations are quantised with a zero point (`linear` mode): most int8 tensors are ReLU6 outputs in
  [0, 6], on which a symmetric grid leaves half of its 256 levels unused.
- The FPN's smoothing convolution is a float part (model/network/int8_region.py), and so are the float
  parts' weights.
- Every convolution of the int8 region reads int8, but only ReLU6 outputs are written as int8: a projection's
  or an FPN lateral's linear output, and every residual or FPN sum, stay fp16 (`activation_skips`). Rounding
  the residual streams to one range per tensor is where most of the int8 error came from, and a stream
  rounded at every block adds that error up along the backbone; read by the next convolution, the same
  tensor is rounded once, on that convolution's input only.

Selective, like the TFLite and QNN int8 recipes (measured in docs/DESIGN.md §8): ops that belong to the
float parts (both heads with their argsoftmax, the stem, the first four inverted-residual blocks, the FPN's
smoothing convolution, and the coordinate tail outside every module) keep fp16 activations. Which torch
module an op comes from is read from the torch.export program the converter consumes (`nn_module_stack` of
the FX node the MIL op is named after); a MIL op that cannot be traced to a module stays fp16.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from model.network.int8_region import deploy_float_modules

# Module paths whose ops keep fp16 activations: the float parts every int8 export shares.
FLOAT_MODULES = deploy_float_modules()

# Activation quantisation with a zero point (a [0, max] range is stored as uint8 without one; module docstring).
ACTIVATION_MODE = "linear"

# Smallest width of an activation range: its int8 step is then at least 8e-5, a normal fp16 number (a zero
# range would give scale 0, which Core ML refuses).
MIN_RANGE = 2e-2


def quantized_fx_nodes(module: torch.nn.Module, example_input: torch.Tensor,
                       float_modules: tuple[str, ...] = FLOAT_MODULES) -> set[str]:
    """Names of the FX nodes (of the program convert_coreml converts) whose activations may be int8: nodes
    inside some module, none of whose enclosing modules is one of `float_modules`."""
    program = torch.export.export(module.eval(), (example_input,)).run_decompositions({})
    out = set()
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack") or {}
        paths = [p for p, _ in stack.values() if p]  # the deploy wrapper itself is the empty path
        if node.op != "call_function" or not paths:
            continue  # outside every module: the coordinate tail stays float
        if not any(p == m or p.startswith(m + ".") for p in paths for m in float_modules):
            out.add(node.name)
    return out


def activation_ranges(program, inputs: Iterable[np.ndarray], input_name: str) -> dict[str, dict[str, float]]:
    """Running min and max of the program's inputs and of every run-time float op output over `inputs`,
    from the numpy MIL executor with fp16 storage (keys: MIL var names, as coremltools' passes expect)."""
    from export.coreml.mil_numpy import run_program

    ranges: dict[str, dict[str, float]] = {}

    def observe(name: str, value: np.ndarray) -> None:
        if value.dtype.kind != "f" or value.size == 0:
            return
        lo, hi = float(value.min()), float(value.max())
        seen = ranges.get(name)
        if seen is None:
            ranges[name] = {"rmin": lo, "rmax": hi}
        else:
            seen["rmin"], seen["rmax"] = min(seen["rmin"], lo), max(seen["rmax"], hi)

    count = 0
    for x in inputs:
        run_program(program, {input_name: x}, storage="declared", observe=observe)
        count += 1
    if not count:
        raise ValueError("activation calibration needs at least one input")
    for r in ranges.values():  # zero is a level of every grid; a constant tensor would get scale 0 (refused)
        r["rmin"], r["rmax"] = min(r["rmin"], 0.0), max(r["rmax"], 0.0)
        r["rmax"] = max(r["rmax"], r["rmin"] + MIN_RANGE)
    return ranges


def _concat_groups(program) -> list[list[str]]:
    """For each concat: its input and output var names (their int8 ranges must agree)."""
    groups = []
    for op in program.functions["main"].operations:
        if op.op_type == "concat":
            groups.append([v.name for v in op.inputs["values"]] + [op.outputs[0].name])
    return groups


def clip_to_relu6_pass():
    """A MIL graph pass that rewrites `clip(x, alpha=0, beta=6)` as `relu6(x)` (the same function), keeping the
    output's name so that activation ranges measured on the original program still apply."""
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil.passes.graph_pass import AbstractGraphPass
    from coremltools.converters.mil.mil.passes.helper import block_context_manager

    class ClipToRelu6(AbstractGraphPass):
        def apply(self, prog) -> None:
            for function in prog.functions.values():
                self._rewrite(function)

        @block_context_manager
        def _rewrite(self, block) -> None:
            for op in list(block.operations):
                if op.op_type != "clip" or not is_relu6_clip(op):
                    continue
                name, out_name = op.name, op.outputs[0].name
                with mb.set_before_op(op):
                    relu6 = mb.relu6(x=op.x, name=f"{name}_relu6")
                block.replace_uses_of_var_after_op(anchor_op=op, old_var=op.outputs[0], new_var=relu6)
                block.remove_ops([op])
                relu6.op.name, relu6.name = name, out_name

    return ClipToRelu6()


def is_relu6_clip(op) -> bool:
    """Whether a MIL clip op has the constant bounds 0 and 6."""
    alpha, beta = op.alpha.val, op.beta.val
    return alpha is not None and beta is not None and float(alpha) == 0.0 and float(beta) == 6.0


def quantize_activations(mlmodel, ranges: dict[str, dict[str, float]], quantized_nodes: set[str]):
    """The model with int8 quantize/dequantize pairs (with zero points) on the inputs of the convolutions whose
    FX node is in `quantized_nodes` and on those convolutions' ReLU6 outputs (`activation_skips`); every other
    tensor keeps fp16."""
    from coremltools.converters.mil.mil.passes.graph_pass import PassOption
    from coremltools.converters.mil.mil.passes.pass_registry import PASS_REGISTRY
    from coremltools.models import utils as model_utils
    from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig
    from coremltools.optimize.coreml.experimental._post_training_quantization import (
        _adjust_concat_surrounding_activation_stats,
    )

    program = mlmodel._mil_program
    ranges = {k: dict(v) for k, v in ranges.items()}
    _adjust_concat_surrounding_activation_stats(_concat_groups(program), ranges)
    prefix_skip, suffix_skip = activation_skips(program, quantized_nodes)
    int8 = OpLinearQuantizerConfig(mode=ACTIVATION_MODE, dtype="int8")
    passes = [clip_to_relu6_pass()]
    for name, skip in (("compression::insert_prefix_quantize_dequantize_pair", prefix_skip),
                       ("compression::insert_suffix_quantize_dequantize_pair", suffix_skip)):
        config = OptimizationConfig(global_config=int8, op_name_configs=dict.fromkeys(skip))
        graph_pass = PASS_REGISTRY[name]
        graph_pass.set_options([PassOption("config", config), PassOption("activation_stats", ranges)])
        passes.append(graph_pass)
    passes.append(PASS_REGISTRY["common::dequantize_quantize_pair_elimination"])
    return model_utils._apply_graph_pass(mlmodel, passes, spec_version=mlmodel.get_spec().specificationVersion,
                                         skip_model_load=True)


def activation_skips(program, quantized_nodes: set[str]) -> tuple[set[str], set[str]]:
    """Names of the ops coremltools' prefix pass (int8 inputs) and suffix pass (int8 outputs) must leave alone.

    Inputs: only the convolutions of the int8 region read int8; adds, pools and linears keep fp16 inputs.
    Outputs: only a region convolution followed by ReLU6 writes int8 (after the ReLU6); a convolution with a
    linear output (a projection, an FPN lateral) writes fp16, and no sum is quantised (it has no int8 inputs,
    which the suffix pass needs). So every residual stream and FPN sum stays fp16 and is rounded to int8 only
    where a convolution reads it (docs/DESIGN.md §8, "Linear tensors stay fp16").
    """
    prefix_skip = {op.name for op in _float_ops(program, quantized_nodes)}
    suffix_skip = set(prefix_skip)
    for op in program.functions["main"].operations:
        if op.op_type == "const" or op.name in prefix_skip:
            continue
        if op.op_type != "conv":
            prefix_skip.add(op.name)
            suffix_skip.add(op.name)
        elif not _feeds_relu6(op):
            suffix_skip.add(op.name)
    return prefix_skip, suffix_skip


def _feeds_relu6(op) -> bool:
    """Whether an op's output goes to a ReLU6 and nowhere else (`clip(0, 6)` before `clip_to_relu6_pass`)."""
    children = op.outputs[0].child_ops
    if len(children) != 1:
        return False
    child = children[0]
    return child.op_type == "relu6" or (child.op_type == "clip" and is_relu6_clip(child))


def float_part_weights(mlmodel, quantized_nodes: set[str]) -> set[str]:
    """Names of the constants read by ops outside the int8 region (their weights stay fp16)."""
    names = set()
    for op in _float_ops(mlmodel._mil_program, quantized_nodes):
        for value in op.inputs.values():
            for var in value if isinstance(value, (list, tuple)) else (value,):
                if var.op is not None and var.op.op_type == "const":
                    names.add(var.name)
    return names


def _float_ops(program, quantized_nodes: set[str]):
    """The run-time ops of `program` outside the int8 region (their FX node is not in `quantized_nodes`)."""
    return [op for op in program.functions["main"].operations
            if op.op_type != "const" and _fx_name(op.name) not in quantized_nodes]


def _fx_name(mil_name: str) -> str:
    """The FX node a converted MIL op is named after ("conv2d_7_cast_fp16" -> "conv2d_7")."""
    return mil_name.removesuffix("_cast_fp16")


def count_quantized(mlpackage: Path) -> dict[str, int]:
    """Quantize ops and the run-time ops in a saved package (for the export log and tests)."""
    from export.coreml.convert import load_mil_program

    program, _ = load_mil_program(Path(mlpackage))
    ops = [op for op in program.functions["main"].operations if op.op_type not in ("const",)
           and not op.op_type.startswith("constexpr_")]
    return {"quantize": sum(op.op_type == "quantize" for op in ops), "ops": len(ops)}
