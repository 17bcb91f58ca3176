"""Which part of the network the int8 exports quantise: one list, read by every int8 exporter and by training.

Measured (docs/DESIGN.md, "int8"): the argsoftmax and coordinate tail, both heads, the stem and the first
four inverted-residual blocks lose the most when quantised, so they stay in float, and so does the FPN's
smoothing convolution (the last op before the heads; Core ML W8A8 golden p99 1.52 -> 1.40 px with it in
float). The rest of the backbone (blocks 4 on, the FPN laterals and sums) is int8. The TFLite recipe selects
by tensor name instead (export/tflite/convert.py), with a scope for each of these parts.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn

# Module paths of MeshPoseNet that stay in float in every int8 export (DeployModel prefixes them with "net.").
FLOAT_MODULES: tuple[str, ...] = ("vertexpose", "lift", "backbone.stem", *(f"backbone.blocks.{i}" for i in range(4)),
                                  "backbone.smooth")


def deploy_float_modules(prefix: str = "net.") -> tuple[str, ...]:
    """FLOAT_MODULES as paths inside the deploy wrapper (`net.vertexpose`, ...)."""
    return tuple(prefix + m for m in FLOAT_MODULES)


def is_float_module(path: str, float_modules: tuple[str, ...] = FLOAT_MODULES) -> bool:
    """Whether the module at `path` (e.g. `backbone.blocks.2.block.0`) belongs to a float part."""
    return any(path == m or path.startswith(m + ".") for m in float_modules)


def int8_modules(net: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """The named submodules of a MeshPoseNet that the int8 exports quantise (the backbone outside the float parts)."""
    for path, module in net.named_modules():
        if path.startswith("backbone.") and not is_float_module(path):
            yield path, module
