"""Builders, in the style of segment-anything's build_sam: a variant name in, a network out.

Everything here reads the variant's spec (model/registry.py): the training network with
`create_model`, the deployed graph with `build_deploy_model`, and the checkpoint a variant
uses when none is named with `default_checkpoint`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.checkpoint import load_checkpoint
from model.network.deploy import DeployModel
from model.network.meshpose import MeshPoseNet
from model.registry import get_variant


def default_checkpoint(variant: str) -> Path | None:
    """The variant's shipped checkpoint if it exists on disk, else None."""
    path = get_variant(variant).checkpoint
    return path if path is not None and path.is_file() else None


def create_model(variant: str = "xs", template=None) -> MeshPoseNet:
    """Build the (untrained) training network of a variant on the given template (default: shipped)."""
    spec = get_variant(variant)
    if template is None:
        from model.template import load_template

        template = load_template()
    net = MeshPoseNet(spec.make_backbone(), spec.settings, template)
    net.variant = spec.name
    return net


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
    spec = get_variant(variant)
    if template is None:
        from model.template import load_template

        template = load_template()
    torch.manual_seed(0)
    net = create_model(variant, template)
    info = load_checkpoint(net, ckpt, variant=variant, template=template) if ckpt else None
    model = DeployModel(net, input_name=spec.input_name, output_names=spec.output_names,
                        normalize_in_graph=normalize_in_graph, nhwc=nhwc)
    model.checkpoint = info
    return model.eval()
