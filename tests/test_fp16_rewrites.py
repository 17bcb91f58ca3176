"""The deploy graph's fp16 rewrites (model/network/fp16_rewrites.py): same function, less fp16 error."""

import dataclasses

import numpy as np
import pytest
import torch

from model.build import build_deploy_model
from model.network.fp16_rewrites import DifferenceConv, apply_fp16_rewrites


@pytest.mark.parametrize("stride,bias", [(1, True), (2, True), (2, False)])
def test_difference_conv_computes_the_convolution(stride, bias):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 8, 3, stride, 1, bias=bias).double()
    rewritten = DifferenceConv(conv).double()
    assert set(rewritten.diff.weight.unique().tolist()) == {-1.0, 0.0, 1.0}
    x = torch.randn(1, 3, 20, 14, dtype=torch.float64) * 100
    with torch.no_grad():
        assert torch.allclose(rewritten(x), conv(x), atol=1e-9)


def test_difference_conv_is_exact_in_fp16_where_the_plain_conv_is_not():
    """The point of the rewrite: on 8-bit pixels less 127.5 every difference is exact in fp16, and on a flat
    image the 1x1 mix sums small products where the 3x3 convolution sums +-127 ones that cancel."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 16, 3, 2, 1).double()
    with torch.no_grad():
        conv.weight.sub_(conv.weight.mean(dim=(2, 3), keepdim=True))  # edge filters: their sums cancel
    rewritten = DifferenceConv(conv).double()
    pixels = torch.full((1, 3, 32, 24), 230.0, dtype=torch.float64)
    pixels[..., 12:, :] = 20.0  # two flat regions and one edge
    pixels += torch.randint(-2, 3, pixels.shape, generator=torch.Generator().manual_seed(0)).double()
    x = pixels - 127.5
    with torch.no_grad():
        exact = conv(x)
        diffs = rewritten.diff(x)
        assert torch.equal(diffs.half().double(), diffs)

        def fp16_products(weight, inputs, stride, padding):
            """A convolution whose products and sum are each rounded to fp16 (the sum in fp32)."""
            cols = torch.nn.functional.unfold(inputs, weight.shape[-1], padding=padding, stride=stride)[0]
            prods = (cols.T[:, None, :] * weight.reshape(weight.shape[0], -1)[None]).half().double()
            return prods.sum(-1).half().double()

        plain = fp16_products(conv.weight, x, 2, 1).T.reshape(exact.shape) + conv.bias[None, :, None, None]
        mixed = fp16_products(rewritten.mix.weight, diffs, 1, 0).T.reshape(exact.shape) + conv.bias[None, :, None, None]
    err_plain = (plain - exact).pow(2).mean().sqrt()
    err_mixed = (mixed - exact).pow(2).mean().sqrt()
    assert err_mixed < 0.5 * err_plain, (float(err_mixed), float(err_plain))


def test_difference_conv_refuses_what_it_cannot_rewrite():
    with pytest.raises(ValueError, match="dense convolution"):
        DifferenceConv(torch.nn.Conv2d(4, 4, 3, padding=1, groups=4))
    with pytest.raises(ValueError, match="odd kernel"):
        DifferenceConv(torch.nn.Conv2d(3, 4, 2))


def test_rewritten_deploy_model_is_the_same_network(template):
    """Centred input and difference stem: exact in real arithmetic, so fp32 moves by its own rounding only."""
    import model.registry as registry

    spec = registry.get_variant("tiny")
    rewritten = build_deploy_model("tiny", template=template)
    try:
        registry._VARIANTS["tiny"] = dataclasses.replace(spec, fp16_rewrites=False)
        plain = build_deploy_model("tiny", template=template)
    finally:
        registry._VARIANTS["tiny"] = spec
    assert rewritten.net.settings.normalization == (1.0, -127.5)
    assert isinstance(rewritten.net.backbone.stem[0], DifferenceConv)
    x = rewritten.example_input()
    with torch.no_grad():
        a, b = rewritten(x), plain(x)
    assert torch.allclose(a[0], b[0], atol=1e-3), float((a[0] - b[0]).abs().max())
    assert torch.allclose(a[1], b[1], atol=1e-5)
    with pytest.raises(ValueError, match="already centred"):
        apply_fp16_rewrites(rewritten.net)


def test_paper_keeps_the_authors_network():
    from model.registry import get_variant

    assert get_variant("xs").fp16_rewrites and not get_variant("paper").fp16_rewrites


def test_contract_states_the_centring_the_graph_applies(tiny_deploy, template):
    from export.contract import build_contract

    contract = build_contract(tiny_deploy, template, fmt="tflite", artifact="m.tflite", precision="fp32")
    assert contract["input"]["normalization"] == {"scale": 1.0, "bias": -127.5, "baked_in": True}
    x = np.full((1, 3, *tiny_deploy.net.input_hw), 127.5, np.float32)
    assert torch.count_nonzero(tiny_deploy.net.normalize(torch.from_numpy(x))) == 0
