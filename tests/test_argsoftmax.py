"""Fused argsoftmax: values and gradients against the naive reference, fp16 behaviour."""

import pytest
import torch

from model.network.argsoftmax import (
    ARGSOFTMAX_MODES,
    ArgSoftmax1D,
    SpatialArgSoftmax,
    cell_centers,
    naive_argsoftmax,
    normalised_expectation,
)


@pytest.mark.parametrize("mode", ARGSOFTMAX_MODES)
def test_matches_naive_reference_fp32(mode):
    torch.manual_seed(0)
    x = torch.randn(2, 7, 16, 12) * 0.5
    out = SpatialArgSoftmax(16, 12, beta=10.0, mode=mode)(x)
    ref = naive_argsoftmax(x, 10.0)
    assert out.shape == (2, 7, 2)
    assert torch.allclose(out.double(), ref, atol=2e-6)


@pytest.mark.parametrize("mode", ARGSOFTMAX_MODES)
def test_gradients_match_naive_reference(mode):
    torch.manual_seed(1)
    x = (torch.randn(1, 5, 8, 6) * 0.3).double().requires_grad_()
    layer = SpatialArgSoftmax(8, 6, beta=10.0, mode=mode).double()
    weights = torch.randn(1, 5, 2, dtype=torch.float64)
    (layer(x) * weights).sum().backward()
    grad = x.grad.clone()
    x.grad = None
    (naive_argsoftmax(x, 10.0) * weights).sum().backward()
    assert torch.allclose(grad, x.grad, atol=1e-10)
    assert grad.abs().sum() > 0


@pytest.mark.parametrize("mode", ARGSOFTMAX_MODES)
def test_fp16_large_logits_do_not_overflow(mode):
    torch.manual_seed(2)
    x = (torch.rand(1, 9, 16, 12) * 2 - 1) * 1e3  # beta * logits reaches 1e4, fp16 max is 65504
    out = SpatialArgSoftmax(16, 12, beta=10.0, mode=mode).half()(x.half())
    assert torch.isfinite(out).all()
    ref = naive_argsoftmax(x.half().float(), 10.0)
    # Within 0.01 heatmap pixels (the normalised range spans 12 cells horizontally).
    err_cells = (out.double() - ref).abs() * torch.tensor([12 / 2, 16 / 2], dtype=torch.float64)
    assert err_cells.max() < 0.01


@pytest.mark.parametrize("mode", ARGSOFTMAX_MODES)
def test_fp16_peaked_heatmap_localises_to_cell_centre(mode):
    h, w = 64, 48
    x = torch.full((1, 3, h, w), -5.0)
    peaks = [(0, 0), (31, 20), (63, 47)]
    for v, (i, j) in enumerate(peaks):
        x[0, v, i, j] = 5.0
    out = SpatialArgSoftmax(h, w, beta=10.0, mode=mode).half()(x.half()).double()
    cx, cy = cell_centers(w).double(), cell_centers(h).double()
    for v, (i, j) in enumerate(peaks):
        err_x = abs(out[0, v, 0].item() - cx[j].item()) * w / 2
        err_y = abs(out[0, v, 1].item() - cy[i].item()) * h / 2
        assert err_x < 0.01 and err_y < 0.01, (v, err_x, err_y)


def test_argsoftmax_1d_expectation():
    layer = ArgSoftmax1D(64)
    logits = torch.full((1, 2, 64), -30.0)
    logits[0, 0, 10] = 30.0
    out = layer(logits)
    assert torch.allclose(out[0, 0, 0], cell_centers(64)[10], atol=1e-6)
    assert abs(out[0, 1, 0].item()) < 1e-6  # uniform logits -> centre


def test_rejects_wrong_size_and_mode():
    with pytest.raises(ValueError, match="mode"):
        SpatialArgSoftmax(4, 4, mode="bogus")
    with pytest.raises(ValueError, match="built for"):
        SpatialArgSoftmax(4, 4)(torch.zeros(1, 1, 8, 8))


def test_training_closed_form_gradient_equals_autograd():
    """Training mode takes the closed-form backward; eval mode (what exports trace) plain autograd."""
    torch.manual_seed(3)
    x = (torch.randn(2, 4, 7, 5) * 0.5).double().requires_grad_()
    layer = SpatialArgSoftmax(7, 5, beta=10.0).double()
    assert torch.autograd.gradcheck(lambda t: layer.train()(t), (x,))
    weights = torch.randn(2, 4, 2, dtype=torch.float64)
    out_train = layer.train()(x)
    (out_train * weights).sum().backward()
    closed_form = x.grad.clone()
    x.grad = None
    out_eval = layer.eval()(x)
    (out_eval * weights).sum().backward()
    assert torch.allclose(out_train, out_eval, atol=1e-12)
    assert torch.allclose(closed_form, x.grad, atol=1e-12)


@pytest.mark.parametrize("mode", ARGSOFTMAX_MODES)
def test_a_softmax_whose_sum_is_off_does_not_scale_the_positions(mode, monkeypatch):
    # An fp16 accelerator's softmax misses sum = 1 by a few rounding steps; a plain expectation over the
    # [-1, 1] grid would scale every coordinate by that factor (0.1 % is 0.1 px at 96 px from the centre).
    torch.manual_seed(4)
    x = (torch.randn(1, 6, 16, 12) * 0.5).double()
    layer = SpatialArgSoftmax(16, 12, beta=10.0, mode=mode).double()
    exact = layer(x)
    off = lambda t: SpatialArgSoftmax.probabilities(layer, t) * 1.001  # noqa: E731
    monkeypatch.setattr(layer, "probabilities", off)
    assert torch.allclose(layer(x), exact, atol=1e-12)
    mass = off(x).reshape(1, 6, 16, 12).sum(dim=2)
    plain = torch.matmul(mass, layer.col_centers)
    assert torch.allclose(plain, exact[..., :1] * 1.001, atol=1e-12)
    assert (plain - exact[..., :1]).abs().max() > 1e-4


def test_normalised_expectation_is_the_expectation_of_any_positive_mass():
    torch.manual_seed(5)
    mass = torch.rand(3, 10, dtype=torch.float64) * 7
    centers = cell_centers(10).double().reshape(10, 1)
    out = normalised_expectation(mass, centers, torch.ones(10, 1, dtype=torch.float64))
    want = (mass * centers.reshape(1, 10)).sum(-1, keepdim=True) / mass.sum(-1, keepdim=True)
    assert out.shape == (3, 1) and torch.allclose(out, want, atol=1e-14)
