"""ONNX export (torch.onnx dynamo exporter), checked with onnx.checker and run with onnxruntime."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from model.atomic import atomic_path


def export_onnx(module: torch.nn.Module, example_input: torch.Tensor, out_path: Path) -> Path:
    """Export, embed the weights in one file, validate with onnx.checker, write atomically."""
    import onnx

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module.eval(),
                (example_input,),
                dynamo=True,
                input_names=[module.input_name],
                output_names=list(module.output_names),
                verbose=False,
            )
        program.optimize()
        proto = program.model_proto
        onnx.checker.check_model(proto, full_check=True)
        onnx.save_model(proto, tmp)
    return out_path


def run_onnxruntime(path: Path, inputs: dict[str, np.ndarray], threads: int = 2) -> dict[str, np.ndarray]:
    """One inference on the CPU execution provider; outputs by contract name."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    expected = {i.name for i in session.get_inputs()}
    if set(inputs) != expected:
        raise ValueError(f"{path}: inputs {sorted(inputs)} do not match the model's {sorted(expected)}")
    feed = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed)))
