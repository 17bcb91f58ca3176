"""Run a .tflite with the XNNPACK CPU interpreter (outputs by contract name).

Quantized (int8) inputs and outputs are converted with the tensors' own scale and zero
point, so every precision is fed and compared in float pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from export.tflite.convert import SIGNATURE


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero = detail["quantization"]
    if detail["dtype"] == np.float32 or not scale:
        return np.ascontiguousarray(x, dtype=np.float32)
    info = np.iinfo(detail["dtype"])
    return np.clip(np.rint(x / scale + zero), info.min, info.max).astype(detail["dtype"])


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero = detail["quantization"]
    if detail["dtype"] == np.float32 or not scale:
        return np.array(y, dtype=np.float32)
    return (np.asarray(y, np.float32) - zero) * scale


def run_xnnpack(path: Path, inputs: dict[str, np.ndarray], threads: int = 2) -> dict[str, np.ndarray]:
    """One inference through the `serving_default` signature."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=threads)
    runner = interp.get_signature_runner(SIGNATURE)
    in_details = runner.get_input_details()
    out_details = runner.get_output_details()
    out = runner(**{k: _quantize(v, in_details[k]) for k, v in inputs.items()})
    return {k: _dequantize(v, out_details[k]) for k, v in out.items()}
