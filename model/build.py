"""Builders, in the style of segment-anything's build_sam: a variant name in, a network out.

Everything here reads the variant's spec (model/registry.py): the training network with
`create_model`, the deployed graph with `build_deploy_model`, the checkpoint a variant uses
when none is named with `default_checkpoint`, and its template with `resolve_template`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.checkpoint import load_checkpoint, read_embedded_template
from model.network.deploy import DeployModel
from model.network.fp16_rewrites import apply_fp16_rewrites
from model.network.meshpose import MeshPoseNet
from model.registry import get_variant


def default_checkpoint(variant: str) -> Path | None:
    """The variant's shipped checkpoint if it exists on disk, else None."""
    path = get_variant(variant).checkpoint
    return path if path is not None and path.is_file() else None


def resolve_template(variant: str, ckpt=None, template=None):
    """The template a variant's network is built on, first found of: `template` (a BodyTemplate or an
    asset path), the one embedded in `ckpt`, a placeholder of the variant's own size when its template
    is not the shipped one (untrained networks only), the shipped template."""
    from model.template import load_template
    from model.template.asset import BodyTemplate, placeholder_template

    if isinstance(template, BodyTemplate):
        return template
    if template is not None:
        return load_template(template)
    if ckpt is not None:
        embedded = read_embedded_template(ckpt)
        if embedded is not None:
            return embedded
    spec = get_variant(variant)
    if spec.template_vertices is not None:
        return placeholder_template(spec.template_vertices)
    return load_template()


def create_model(variant: str = "xs", template=None) -> MeshPoseNet:
    """Build the (untrained) training network of a variant on the given template (default: resolve_template)."""
    spec = get_variant(variant)
    template = resolve_template(variant, template=template)
    net = MeshPoseNet(spec.make_backbone(spec.settings), spec.settings, template)
    net.variant = spec.name
    return net


def build_deploy_model(
    variant: str = "xs",
    ckpt: str | None = None,
    *,
    normalize_in_graph: bool = True,
    nhwc: bool = False,
    template=None,
    vertex_origin: str = "centre",
) -> DeployModel:
    """Build the deploy graph of `variant`, loading `ckpt` (safetensors) if given, else untrained weights.

    Untrained weights are deterministic (seeded) so that exports and fixtures are reproducible. The graph
    emits (x, y) about the crop centre unless `vertex_origin="corner"` (its `origin_px` says what to add).
    """
    spec = get_variant(variant)
    template = resolve_template(variant, ckpt, template)
    torch.manual_seed(0)
    net = create_model(variant, template)
    info = load_checkpoint(net, ckpt, variant=variant, template=template) if ckpt else None
    # The spec names every output; a template without a landmarker gives no joints.
    outputs = tuple(n for n in spec.output_names if n in net.output_names)
    model = DeployModel(net, input_name=spec.input_name, output_names=outputs,
                        normalize_in_graph=normalize_in_graph, nhwc=nhwc, vertex_origin=vertex_origin)
    if spec.fp16_rewrites:
        apply_fp16_rewrites(model.net)
    model.checkpoint = info
    model.template = template
    return model.eval()
