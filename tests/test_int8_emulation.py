"""Training through emulated int8 rounding (model/train/int8_emulation.py) and the one list of float parts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model.build import create_model
from model.network.int8_region import FLOAT_MODULES, deploy_float_modules, int8_modules, is_float_module
from model.train.int8_emulation import Int8Emulation, fake_quantize_activation, fake_quantize_weight
from tests.conftest import train_two_steps


def test_weight_rounding_is_per_channel_symmetric_and_passes_gradients_straight_through():
    w = torch.tensor([[0.5, -0.25, 0.1], [100.0, 3.0, -40.0]], requires_grad=True)
    q = fake_quantize_weight(w)
    for row, qrow in zip(w.detach(), q.detach()):
        step = row.abs().max() / 127
        assert torch.allclose(qrow / step, (qrow / step).round(), atol=1e-4)  # on its channel's own grid
        assert (qrow - row).abs().max() <= step / 2 + 1e-6
        assert qrow.abs().max() == pytest.approx(float(row.abs().max()))  # the extreme is exact
    q.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))


def test_activation_rounding_spans_the_range_with_256_levels_and_holds_zero():
    x = torch.linspace(-1, 3, 1001)
    q = fake_quantize_activation(x, -1.0, 3.0)
    assert len(torch.unique(q)) <= 256 and (q - x).abs().max() <= 4 / 255 / 2 + 1e-6
    assert fake_quantize_activation(torch.zeros(3), 0.5, 2.0).abs().max() == 0  # range widened to hold 0


def test_the_int8_region_is_the_backbone_outside_the_float_parts():
    net = create_model("tiny")
    region = [p for p, _ in int8_modules(net)]
    assert region and all(p.startswith("backbone.") and not is_float_module(p) for p in region)
    assert not is_float_module("backbone.blocks.40") and is_float_module("backbone.blocks.3.block.0")
    assert deploy_float_modules() == tuple("net." + m for m in FLOAT_MODULES)
    from export.coreml.w8a8 import FLOAT_MODULES as COREML
    from export.qnn.pipeline import QDQ_FLOAT_MODULES
    assert COREML == QDQ_FLOAT_MODULES == deploy_float_modules()


def test_emulation_rounds_the_copy_rows_only_and_leaves_nothing_behind():
    torch.manual_seed(0)
    net = create_model("tiny").eval()
    x = torch.rand(2, 3, *net.input_hw) * 255
    with torch.no_grad():
        clean = net(torch.cat([x, x]))
        emu = Int8Emulation(net)
        with emu.rows(2):
            both = net(torch.cat([x, x]))
        after = net(torch.cat([x, x]))
    assert torch.equal(both["xy_heatmap"][:2], clean["xy_heatmap"][:2])  # float rows untouched
    moved = (both["xy_heatmap"][2:] - clean["xy_heatmap"][2:]).abs()
    assert moved.max() > 0  # the int8 rows are rounded
    assert torch.equal(after["xy_heatmap"], clean["xy_heatmap"])  # hooks and forward overrides removed
    assert emu.ranges and all(lo <= hi for lo, hi in emu.ranges.values())
    assert all("forward" not in vars(c) for c in emu.convs)


def test_emulation_convolves_with_int8_weights():
    net = create_model("tiny").eval()
    emu = Int8Emulation(net)
    target = emu.convs[0]
    seen = {}
    target.register_forward_hook(lambda m, args, out: seen.update(x=args[0], out=out))
    x = torch.rand(1, 3, *net.input_hw) * 255
    with torch.no_grad(), emu.rows(0):
        net(x)
    want = nn.functional.conv2d(seen["x"], fake_quantize_weight(target.weight), target.bias, target.stride,
                                target.padding, target.dilation, target.groups)
    assert torch.allclose(seen["out"], want, atol=1e-5)


def test_int8_heatmap_consistency_trains_and_excludes_the_fp16_terms(tiny_data, tmp_path):
    from model.train.config import LossWeights

    assert LossWeights().int8_heatmap_consistency == 0.0
    rows = train_two_steps(tiny_data, tmp_path, int8_heatmap_consistency=1.0)
    assert len(rows) == 2 and all(0 < r["int8_heatmap_consistency"] < 50 for r in rows)
    with pytest.raises(ValueError, match="one perturbed copy"):
        train_two_steps(tiny_data, tmp_path / "both", int8_heatmap_consistency=1.0, fp16_heatmap_consistency=1.0)
