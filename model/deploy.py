"""The deployed graph: image in -> vertices, visibility, joints out (docs/CONTRACTS.md §1).

This is what every exporter converts. Batch norm is folded into the convolutions, the
segmentation branch is dropped, and only ops of the NPU policy remain (model/op_policy.py).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from model.checkpoint import CheckpointInfo, load_checkpoint
from model.meshpose import MeshPoseNet
from model.registry import create_model

OUTPUT_NAMES = ("vertices", "visibility", "joints")
INPUT_NAME = "image"


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every Conv2d directly followed by BatchNorm2d (inside a Sequential) into one conv, in place."""
    for child in module.children():
        fold_batchnorm(child)
    if isinstance(module, nn.Sequential):
        items = list(module._modules.items())
        for (_, a), (name_b, b) in pairwise(items):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                fused = fuse_conv_bn_eval(a, b)
                a.weight, a.bias = fused.weight, fused.bias
                module._modules[name_b] = nn.Identity()
    return module


class DeployModel(nn.Module):
    """Wraps a trained MeshPoseNet for export: fixed batch 1, static shapes, three outputs."""

    input_name = INPUT_NAME
    output_names = OUTPUT_NAMES

    def __init__(self, net: MeshPoseNet, *, normalize_in_graph: bool = True, nhwc: bool = False) -> None:
        super().__init__()
        self.net = fold_batchnorm(net.eval())
        self.normalize_in_graph = normalize_in_graph
        self.nhwc = nhwc
        self.variant = getattr(net, "variant", "custom")
        self.checkpoint: CheckpointInfo | None = None

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Static input shape, (1, 3, H, W) or (1, H, W, 3) with nhwc."""
        h, w = self.net.input_hw
        return (1, h, w, 3) if self.nhwc else (1, 3, h, w)

    @property
    def num_vertices(self) -> int:
        """Number of template vertices V."""
        return self.net.num_vertices

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.nhwc:
            image = image.permute(0, 3, 1, 2)
        if self.normalize_in_graph:
            image = image * (1.0 / 127.5) - 1.0
        out = self.net.forward_normalized(image, with_segmentation=False)
        return out["vertices"], out["visibility"], out["joints"]

    def example_input(self, seed: int = 0) -> torch.Tensor:
        """A deterministic example input of the right shape and value range."""
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(self.input_shape, generator=g) * 255.0
        return x if self.normalize_in_graph else x / 127.5 - 1.0


def build_deploy_model(
    variant: str = "xs",
    ckpt: str | None = None,
    *,
    normalize_in_graph: bool = True,
    nhwc: bool = False,
    template=None,
) -> DeployModel:
    """Build the deploy graph of `variant`, loading `ckpt` (safetensors) if given, else untrained weights.

    Untrained weights are deterministic (seeded) so that exports and fixtures are reproducible.
    """
    if template is None:
        from model.template import load_template

        template = load_template()
    torch.manual_seed(0)
    net = create_model(variant, template)
    info = load_checkpoint(net, ckpt, variant=variant, template=template) if ckpt else None
    model = DeployModel(net, normalize_in_graph=normalize_in_graph, nhwc=nhwc)
    model.checkpoint = info
    return model.eval()
