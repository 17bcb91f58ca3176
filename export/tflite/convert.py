"""torch -> .tflite with litert-torch; fp16 weights and int8 through ai-edge-quantizer.

The signature is `serving_default` with input `image` and the deploy model's named outputs
(`vertices`, `visibility` and, where the template has a landmarker, `joints`; names taken
from the dict the wrapper returns).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from model.atomic import atomic_path

TFLITE_PRECISIONS = ("fp32", "fp16", "int8")
SIGNATURE = "serving_default"


class NamedOutputs(torch.nn.Module):
    """Returns the deploy model's outputs as a dict so the TFLite signature carries their names."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        if model.input_name != "image":
            raise ValueError(f"the TFLite signature's input is 'image'; this model's is {model.input_name!r}")
        self.model = model

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return dict(zip(self.model.output_names, self.model(image), strict=True))


def quiet_converter_logs() -> None:
    """Silence the converter's and the quantizer's info logging."""
    for name in ("litert_torch", "absl", "ai_edge_quantizer"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _float_model(module: torch.nn.Module, example_input: torch.Tensor) -> bytes:
    import litert_torch

    quiet_converter_logs()
    edge = litert_torch.convert(NamedOutputs(module).eval(), sample_kwargs={"image": example_input})
    fd, tmp = tempfile.mkstemp(suffix=".tflite")
    os.close(fd)
    try:
        edge.export(tmp)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


# Scopes (regexes on the TFLite tensor names, which carry the PyTorch module path) kept in float in the
# int8 model: the argsoftmax and the coordinate tail, whose outputs are pixel positions that 8 bits cannot
# hold to a fraction of a pixel, the two heads, the stem, the first four inverted-residual blocks and the FPN's
# smoothing convolution (model/network/int8_region.py; its tensor names also carry block 2's path, so it was
# float before it was listed). A block's residual sum is named `InvertedResidual_<i>;<n>`, its layers
# `InvertedResidual_<i>/...`: both must match. Measured on 64 test renders with the shipped xs (2D median /
# p99 px against PyTorch): all int8 0.91 / 7.7; tail in float 0.37 / 3.4; + heads 0.20 / 2.6; + stem 0.17 /
# 1.9; + blocks 0-3 0.13 / 1.5 (docs/DESIGN.md, "int8").
INT8_FLOAT_SCOPES = ("ArgSoftmax", r"DeployModel_model($|;)", "serving_default", "VertexPoseHead", "LiftHead",
                     "stem", r"InvertedResidual_[0-3]([/;]|$)", "DepthwiseSeparable_smooth")


def int8_recipe(float_scopes: tuple[str, ...] = INT8_FLOAT_SCOPES):
    """ai-edge-quantizer recipe: int8 weights (per channel) and int8 activations, calibrated, except the
    ops whose output tensor name matches one of `float_scopes` (later recipe entries win)."""
    from ai_edge_quantizer import recipe_manager
    from ai_edge_quantizer.algorithm_manager import AlgorithmName
    from ai_edge_quantizer.qtyping import TFLOperationName

    rm = recipe_manager.RecipeManager()
    rm.add_static_config(regex=".*", operation_name=TFLOperationName.ALL_SUPPORTED, activation_num_bits=8,
                         weight_num_bits=8, algorithm_key=AlgorithmName.MIN_MAX_UNIFORM_QUANT)
    for scope in float_scopes:
        rm.add_quantization_config(regex=scope, operation_name=TFLOperationName.ALL_SUPPORTED,
                                   algorithm_key=AlgorithmName.NO_QUANTIZE)
    return rm.get_quantization_recipe()


def _quantize(float_model: bytes, precision: str, calibration: Iterable[np.ndarray] | None) -> bytes:
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(float_model)
    if precision == "fp16":
        q.load_quantization_recipe([
            {
                "regex": ".*",
                "operation": "*",
                "algorithm_key": "float_casting",
                "op_config": {
                    "weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
                    "compute_precision": "FLOAT",
                    "explicit_dequantize": True,
                },
            }
        ])
        return bytes(q.quantize(enable_progress_report=False).quantized_model)
    if calibration is None:
        raise ValueError("int8 needs calibration inputs (an iterable of input arrays)")
    q.load_quantization_recipe(int8_recipe())
    samples = [{"image": np.asarray(x, np.float32)} for x in calibration]
    if not samples:
        raise ValueError("int8 calibration got no samples")
    result = q.calibrate({SIGNATURE: samples}, num_threads=2)
    return bytes(q.quantize(result, enable_progress_report=False).quantized_model)


def convert_tflite(
    module: torch.nn.Module,
    example_input: torch.Tensor,
    out_path: Path,
    *,
    precision: str = "fp32",
    calibration: Iterable[np.ndarray] | None = None,
) -> Path:
    """Convert the deploy model and write the .tflite atomically."""
    if precision not in TFLITE_PRECISIONS:
        raise ValueError(f"unknown TFLite precision {precision!r}; choose one of {TFLITE_PRECISIONS}")
    samples = None
    if precision == "int8":
        # Checked before the (slow) conversion so bad calibration fails at once.
        if calibration is None:
            raise ValueError("int8 needs calibration inputs (an iterable of input arrays)")
        samples = [np.asarray(x, np.float32) for x in calibration]
        if not samples:
            raise ValueError("int8 calibration got no samples")
    data = _float_model(module, example_input)
    if precision != "fp32":
        data = _quantize(data, precision, samples)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        Path(tmp).write_bytes(data)
    return out_path
