"""Running an exported artifact on this host from its contract: the one place `make parity` and
`make eval ARTIFACT=...` take their runner from.

ONNX runs in ONNX Runtime (CPU), .tflite in LiteRT's XNNPACK, .mlpackage in the numpy fp16 MIL executor, a
deployment of chained parts (a contract with `parts`, e.g. meshpose_xs_gpu_two_part) as its .tflite files in
turn on XNNPACK. SoC builds (a contract with a `target`, make export-qnn) run only on their NPU or its simulator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

RUNNABLE = (".onnx", ".tflite", ".mlpackage")


def read_contract(path: Path) -> dict:
    """The contract JSON beside an artifact (for a deployment of parts, `path` is its name, not a file)."""
    return json.loads(path.with_name(path.name + ".contract.json").read_text())


def runs_here(path: Path, contract: dict) -> bool:
    """True for the formats this host runs (and deployments of them), and not a build for one device's NPU."""
    return (path.suffix in RUNNABLE or "parts" in contract) and "target" not in contract


def part_paths(path: Path, contract: dict) -> list[Path]:
    """A deployment's files in run order, beside its contract."""
    return [path.with_name(part["artifact"]) for part in contract["parts"]]


def artifact_hash(path: Path, contract: dict) -> str:
    """The artifact's sha256 (export.contract.artifact_sha256); for a deployment of parts, the sha256 of its
    parts' hex digests in run order, joined (what the apps' benchmark results record too)."""
    from export.contract import artifact_sha256

    if "parts" not in contract:
        return artifact_sha256(path)
    return hashlib.sha256("".join(artifact_sha256(p) for p in part_paths(path, contract)).encode()).hexdigest()


def exported_artifacts(folder: Path, prefix: str) -> list[Path]:
    """Every artifact under `folder` whose name starts with `prefix`, each once: files with their contracts,
    and deployments of parts by name (their part files are not listed on their own). A file without a
    contract that no deployment names is an error: it cannot be run or compared."""
    deployments, parts = [], set()
    for contract_path in sorted(folder.glob(f"{prefix}*.contract.json")):
        contract = json.loads(contract_path.read_text())
        if "parts" in contract:
            path = folder / contract["artifact"]
            deployments.append(path)
            parts.update(p.name for p in part_paths(path, contract))
    files = [p for p in sorted(folder.glob(f"{prefix}*")) if p.suffix in RUNNABLE and p.name not in parts]
    orphans = [p.name for p in files if not p.with_name(p.name + ".contract.json").is_file()]
    if orphans:
        raise FileNotFoundError(f"no contract beside {', '.join(orphans)} in {folder}: export again")
    return sorted(files + deployments)


def artifact_runner(path: Path, contract: dict) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """A function NCHW float image (1, 3, H, W) -> outputs by name; NHWC models get the transpose."""
    name = contract["input"]["name"]
    nhwc = contract["input"]["layout"] == "NHWC"
    if "parts" in contract:
        from export.tflite.two_part import run_parts_xnnpack

        paths = part_paths(path, contract)
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{path.name}: part(s) {', '.join(missing)} missing beside its contract")
        return lambda x: run_parts_xnnpack(paths, {name: x})
    if path.suffix == ".onnx":
        from export.onnx.convert import run_onnxruntime

        return lambda x: run_onnxruntime(path, {name: x})
    if path.suffix == ".tflite":
        from export.tflite.run import run_xnnpack

        return lambda x: run_xnnpack(path, {name: x.transpose(0, 2, 3, 1).copy() if nhwc else x})
    from export import coreml as cm

    return lambda x: cm.run_mil_fp16(path, {name: x})
