"""The deployed graph as two LiteRT models, backbone then heads, each compiled for the GPU at its own precision.

LiteRT compiles a model for the GPU at one precision. Measured on `xs` (docs/DESIGN.md §8, "Precision by
part"), the GPU's fp16 tail starts in the backbone and its medians in the heads: with the backbone at the
GPU's fp32 and the heads in fp16 with fp32 accumulation, no input of 1,500 fresh renders moved a vertex by
more than 0.5 px, against 25 in fp16 and 7 with fp32 accumulation for the whole graph. The backbone is 31 %
of `xs`'s multiply-adds, the heads 69 %. The TFLite export publishes the two files with one contract (a
version 4 contract whose `parts` say which file runs first, at which precision, and which tensors pass
between them: docs/CONTRACTS.md §2); the Android app chains them; `python -m export.fp16_margin --paths
gpu-two-part` measures the deployment on any renders.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from export.contract import artifact_sha256
from model.network.deploy import DeployBackbone, DeployHeads, DeployModel

# GPU precisions of (backbone, heads): export.tflite.compile_gpu's names.
TWO_PART_PRECISIONS = ("fp32", "fp16-fp32acc")
# What the deployment's files and contract are called after the variant's artifact name.
DEPLOYMENT_SUFFIX = "_gpu_two_part"
PART_SUFFIXES = ("_gpu_backbone.tflite", "_gpu_heads.tflite")
# Its parity rows: the parts chained on XNNPACK (fp32; `make parity` re-runs it) and on the GPU (gated as fp16).
XNNPACK_ROW = "tflite-two-part-xnnpack"
GPU_ROW = "tflite-gpu-two-part (lavapipe, functional)"


def deployment_name(artifact_name: str) -> str:
    """The deployment's name (its contract is `<name>.contract.json`; it is not a file itself)."""
    return f"{artifact_name}{DEPLOYMENT_SUFFIX}"


def part_file_names(artifact_name: str) -> tuple[str, str]:
    """The backbone's and the heads' .tflite file names."""
    return tuple(f"{artifact_name}{suffix}" for suffix in PART_SUFFIXES)


def convert_two_part(deploy: DeployModel, example_input: torch.Tensor, out_dir: Path,
                     names: tuple[str, str] = ("backbone.tflite", "heads.tflite")) -> tuple[Path, Path]:
    """The backbone (image in, feature maps out) and the heads (feature maps in, the deploy model's outputs
    out, by name) as fp32 .tflite files `names` in `out_dir`; chained they compute `deploy`."""
    import litert_torch

    from export.tflite.convert import quiet_converter_logs

    quiet_converter_logs()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    backbone, heads = DeployBackbone(deploy).eval(), DeployHeads(deploy).eval()
    with torch.no_grad():
        features = backbone(example_input)
    paths = out_dir / names[0], out_dir / names[1]
    litert_torch.convert(backbone, sample_kwargs={deploy.input_name: example_input}).export(str(paths[0]))
    litert_torch.convert(heads, sample_kwargs=features).export(str(paths[1]))
    return paths


def contract_parts(deploy: DeployModel, example_input: torch.Tensor, paths: tuple[Path, Path],
                   precisions: tuple[str, str] = TWO_PART_PRECISIONS) -> list[dict[str, Any]]:
    """The contract's `parts`: each file in run order with its hash, GPU precision and tensors (name and shape);
    the backbone's outputs are the heads' inputs, by name."""
    with torch.no_grad():
        features = DeployBackbone(deploy).eval()(example_input)
        outputs = DeployHeads(deploy).eval()(**features)

    def tensors(named: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        return [{"name": name, "shape": list(t.shape), "dtype": "float32"} for name, t in named.items()]

    image = {deploy.input_name: example_input}
    return [
        {"artifact": path.name, "sha256": artifact_sha256(path), "gpu_precision": precision,
         "inputs": tensors(ins), "outputs": tensors(outs)}
        for path, precision, ins, outs in zip(paths, precisions, (image, features), (features, outputs), strict=True)
    ]


class TwoPartGpu:
    """Both parts compiled once for the GPU accelerator alone, at `precisions` (backbone, heads); `run` chains
    them, the feature maps passing through host memory as float32. The caller closes it."""

    def __init__(self, backbone: Path, heads: Path, precisions: tuple[str, str] = TWO_PART_PRECISIONS) -> None:
        from export import tflite as tfl

        self.precisions = tuple(precisions)
        self.backbone = tfl.compile_gpu(backbone, self.precisions[0])
        try:
            self.heads = tfl.compile_gpu(heads, self.precisions[1])
        except Exception:
            self.backbone.close()
            raise

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The deploy model's outputs, by name, for one input (a dict with the image under its input name)."""
        return run_chain([self.backbone.run, self.heads.run], inputs)

    def close(self) -> None:
        """Release both compiled models."""
        self.backbone.close()
        self.heads.close()


def run_chain(parts: list[Callable[[dict[str, np.ndarray]], dict]], inputs: dict[str, np.ndarray]
              ) -> dict[str, np.ndarray]:
    """Each part run on the previous part's outputs, by name (as float32 arrays); the last part's outputs."""
    values = inputs
    for run in parts:
        values = {name: np.asarray(v, np.float32) for name, v in run(values).items()}
    return values


def run_parts_xnnpack(paths: list[Path], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A deployment's parts chained on the CPU (XNNPACK, fp32): each part's outputs are the next one's inputs."""
    from export.tflite.run import run_xnnpack

    return run_chain([partial(run_xnnpack, path) for path in paths], inputs)
