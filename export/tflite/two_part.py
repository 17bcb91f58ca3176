"""The deployed graph as two LiteRT models, backbone then heads, each compiled for the GPU at its own precision.

LiteRT compiles a model for the GPU at one precision. Measured on `xs` (docs/DESIGN.md §8, "Precision by
part"), the GPU's fp16 tail starts in the backbone and its medians in the heads: with the backbone at the
GPU's fp32 and the heads in fp16 with fp32 accumulation, no input of 1,500 fresh renders moved a vertex by
more than 0.5 px, against 25 in fp16 and 7 with fp32 accumulation for the whole graph. The backbone is 31 %
of `xs`'s multiply-adds, the heads 69 %. This module converts the two parts and runs them chained, for
measurement (`python -m export.fp16_margin --paths gpu-two-part`, and the TFLite export's reported
`tflite-gpu-two-part` row); the export does not publish the two files and the apps do not run them yet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from model.network.deploy import DeployBackbone, DeployHeads, DeployModel

# GPU precisions of (backbone, heads): export.tflite.compile_gpu's names.
TWO_PART_PRECISIONS = ("fp32", "fp16-fp32acc")


def convert_two_part(deploy: DeployModel, example_input: torch.Tensor, out_dir: Path) -> tuple[Path, Path]:
    """`backbone.tflite` (image in, feature maps out) and `heads.tflite` (feature maps in, the deploy model's
    outputs out, by name) in `out_dir`, both fp32 files; chained they compute `deploy`."""
    import litert_torch

    from export.tflite.convert import quiet_converter_logs

    quiet_converter_logs()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    backbone, heads = DeployBackbone(deploy).eval(), DeployHeads(deploy).eval()
    with torch.no_grad():
        features = backbone(example_input)
    paths = out_dir / "backbone.tflite", out_dir / "heads.tflite"
    litert_torch.convert(backbone, sample_kwargs={deploy.input_name: example_input}).export(str(paths[0]))
    litert_torch.convert(heads, sample_kwargs=features).export(str(paths[1]))
    return paths


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
        features = self.backbone.run(inputs)
        return self.heads.run({name: np.asarray(value, np.float32) for name, value in features.items()})

    def close(self) -> None:
        """Release both compiled models."""
        self.backbone.close()
        self.heads.close()
