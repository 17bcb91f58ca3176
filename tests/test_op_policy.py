"""The NPU op policy passes for every variant and demonstrably fails on forbidden constructs."""

import pytest
import torch
import torch.nn.functional as F

from export.op_policy import OpPolicyError, assert_npu_friendly, check_module
from model.build import build_deploy_model


@pytest.mark.parametrize("variant", ["tiny", "xs", "s", pytest.param("paper", marks=pytest.mark.slow)])
def test_every_variant_complies(variant, template):
    model = build_deploy_model(variant, template=template)
    assert check_module(model, model.example_input()) == []


def test_nhwc_and_prenormalised_deploy_graphs_comply(template):
    for kwargs in ({"nhwc": True}, {"normalize_in_graph": False}):
        model = build_deploy_model("tiny", template=template, **kwargs)
        assert check_module(model, model.example_input()) == []


class _Head(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class _Wrapper(torch.nn.Module):
    """Puts the offending op inside a named submodule so the report can name it."""

    def __init__(self, fn):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 1)
        self.offender = _Head(fn)

    def forward(self, x):
        return self.offender(self.conv(x))


def _grid_sample(x):
    grid = torch.zeros(1, 4, 4, 2)
    return F.grid_sample(x, grid, align_corners=False)


def _gather(x):
    idx = torch.zeros(1, 3, 2, 8, dtype=torch.long)
    return torch.gather(x, 2, idx)


def _index_select(x):
    return torch.index_select(x, 1, torch.tensor([0, 2]))


def _argmax(x):
    return x.flatten(2).argmax(dim=-1).float()


def _topk(x):
    return torch.topk(x.flatten(2), 2, dim=-1).values


def _rank5(x):
    return x.reshape(1, 3, 2, 4, 8).sum(dim=2)


def _softmax_axis1(x):
    return torch.softmax(x, dim=1)


def _upsample4x(x):
    return F.interpolate(x, scale_factor=4.0, mode="nearest")


@pytest.mark.parametrize(
    ("fn", "op_fragment"),
    [
        (_grid_sample, "grid_sampler"),
        (_gather, "gather"),
        (_index_select, "index_select"),
        (_argmax, "argmax"),
        (_topk, "topk"),
        (_rank5, "reshape"),
        (_softmax_axis1, "softmax"),
        (_upsample4x, "upsample_nearest2d"),
    ],
)
def test_forbidden_constructs_are_named_with_their_module(fn, op_fragment):
    violations = check_module(_Wrapper(fn), torch.rand(1, 3, 8, 8))
    assert violations, f"{op_fragment} was not caught"
    hit = [v for v in violations if op_fragment in v.op]
    assert hit, [str(v) for v in violations]
    assert "offender" in hit[0].module


def test_assert_raises_with_all_violations_listed():
    with pytest.raises(OpPolicyError, match="grid_sampler"):
        assert_npu_friendly(_Wrapper(_grid_sample), torch.rand(1, 3, 8, 8))
