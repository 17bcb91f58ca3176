"""Running an exported artifact on this host from its contract: the one place `make parity` and
`make eval ARTIFACT=...` take their runner from.

ONNX runs in ONNX Runtime (CPU), .tflite in LiteRT's XNNPACK, .mlpackage in the numpy fp16 MIL executor.
SoC builds (a contract with a `target`, make export-qnn) run only on their NPU or its simulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

RUNNABLE = (".onnx", ".tflite", ".mlpackage")


def read_contract(path: Path) -> dict:
    """The contract JSON beside an artifact."""
    return json.loads(path.with_name(path.name + ".contract.json").read_text())


def runs_here(path: Path, contract: dict) -> bool:
    """True for the formats this host runs, and not a build for one device's NPU."""
    return path.suffix in RUNNABLE and "target" not in contract


def artifact_runner(path: Path, contract: dict) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """A function NCHW float image (1, 3, H, W) -> outputs by name; NHWC models get the transpose."""
    name = contract["input"]["name"]
    nhwc = contract["input"]["layout"] == "NHWC"
    if path.suffix == ".onnx":
        from export.onnx.convert import run_onnxruntime

        return lambda x: run_onnxruntime(path, {name: x})
    if path.suffix == ".tflite":
        from export.tflite.run import run_xnnpack

        return lambda x: run_xnnpack(path, {name: x.transpose(0, 2, 3, 1).copy() if nhwc else x})
    from export import coreml as cm

    return lambda x: cm.run_mil_fp16(path, {name: x})
