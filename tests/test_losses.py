"""Each loss: minimal at ground truth, finite gradients, and it decreases under a few optimiser steps."""

import numpy as np
import pytest
import torch

from model.network.argsoftmax import SpatialArgSoftmax
from model.train import losses as L

B, V, H, W = 2, 20, 32, 24  # input pixels; heatmaps are H/4 x W/4


def _faces():
    rng = np.random.default_rng(0)
    return torch.tensor(np.stack([rng.choice(V, 3, replace=False) for _ in range(30)]))


def _optimise(param, loss_fn, steps=30, lr=0.05):
    opt = torch.optim.Adam([param], lr=lr)
    first = loss_fn().item()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        assert torch.isfinite(param.grad).all()
        opt.step()
    return first, loss_fn().item()


def test_barycentric_cross_entropy():
    torch.manual_seed(0)
    pts = torch.rand(B, 8, 2) * torch.tensor([W, H])
    fv = torch.randint(0, V, (B, 8, 3))
    bary = torch.softmax(torch.randn(B, 8, 3), -1)
    valid = torch.ones(B, 8)
    heat = torch.zeros(B, V, H // 4, W // 4, requires_grad=True)
    first, last = _optimise(heat, lambda: L.barycentric_cross_entropy(heat, pts, fv, bary, valid), lr=0.5)
    assert last < first * 0.5
    # Its minimum is the entropy of the soft target, reached when q equals lambda on the face.
    assert last >= float(-(bary * bary.log()).sum(-1).mean()) - 1e-3
    # Invalid points contribute nothing.
    assert L.barycentric_cross_entropy(heat, pts, fv, bary, torch.zeros(B, 8)).item() == 0.0


def test_uv_consistency_is_zero_at_ground_truth_and_trains():
    torch.manual_seed(1)
    xy = torch.rand(B, V, 2) * 20
    fv = torch.randint(0, V, (B, 6, 3))
    bary = torch.softmax(torch.randn(B, 6, 3), -1)
    corners = torch.stack([xy[b][fv[b]] for b in range(B)])
    pts = (bary[..., None] * corners).sum(-2)
    assert L.uv_consistency(xy, pts, fv, bary, torch.ones(B, 6)).item() < 1e-5
    guess = (xy + torch.randn_like(xy) * 3).requires_grad_()
    first, last = _optimise(guess, lambda: L.uv_consistency(guess, pts, fv, bary, torch.ones(B, 6)), lr=0.3)
    assert last < first


def test_visibility_bce_and_partial_labels():
    fv = torch.tensor([[[0, 1, 2], [3, 4, 5]]])
    valid = torch.tensor([[1.0, 0.0]])
    verts = torch.tensor([[[5.0, 5.0]] * 6 + [[-3.0, 4.0]] + [[5.0, 5.0]] * (V - 7)])
    target, weight = L.partial_visibility_labels(V, fv, valid, verts, H, W)
    assert target[0, :3].tolist() == [1, 1, 1] and weight[0, 3:6].tolist() == [0, 0, 0]
    assert target[0, 6] == 0 and weight[0, 6] == 1
    logit = torch.zeros(1, V, requires_grad=True)
    first, last = _optimise(logit, lambda: L.visibility_bce(logit, target, weight), lr=0.5)
    assert last < first * 0.2


def test_soft_silhouette_matches_mask_and_trains():
    torch.manual_seed(2)
    mask = torch.zeros(1, H, W)
    mask[:, 8:24, 6:18] = 1
    xy = (torch.rand(1, V, 2) * torch.tensor([W, H])).requires_grad_()
    vis = torch.full((1, V), 0.9)
    first, last = _optimise(xy, lambda: L.soft_silhouette_loss(xy, vis, mask, sigma_px=3.0), steps=60, lr=0.5)
    assert last < first


@pytest.mark.parametrize("name", ["vertex_l2", "edge_length_loss", "normal_cosine_loss"])
def test_3d_losses_zero_at_ground_truth_and_train(name):
    torch.manual_seed(3)
    gt = torch.randn(B, V, 3) * 10
    faces = _faces()
    edges = torch.unique(torch.sort(torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)[0], dim=0)
    fn = {"vertex_l2": lambda p: L.vertex_l2(p, gt), "edge_length_loss": lambda p: L.edge_length_loss(p, gt, edges),
          "normal_cosine_loss": lambda p: L.normal_cosine_loss(p, gt, faces)}[name]
    assert fn(gt).item() < 1e-5
    pred = (gt + torch.randn_like(gt) * 2).requires_grad_()
    first, last = _optimise(pred, lambda: fn(pred), lr=0.1)
    assert last < first


def test_joint_loss_through_the_landmarker(template):
    lm = torch.tensor(template.coco17)
    gt_v = torch.tensor(template.vertices)[None] * 100
    gt_j = torch.einsum("jv,bvc->bjc", lm, gt_v)
    weight = torch.ones(1, 17)
    assert L.joint_loss(gt_v, gt_j, lm, weight).item() < 1e-3
    pred = (gt_v + torch.randn_like(gt_v) * 5).requires_grad_()
    first, last = _optimise(pred, lambda: L.joint_loss(pred, gt_j, lm, weight, dims=3), lr=0.5)
    assert last < first


def test_losses_compose_with_the_argsoftmax():
    # Gradients flow from the UV consistency through the fused argsoftmax into heatmap logits.
    layer = SpatialArgSoftmax(H // 4, W // 4)
    heat = torch.zeros(1, V, H // 4, W // 4, requires_grad=True)
    xy = (layer(heat) + 1) * torch.tensor([W / 2, H / 2])
    loss = L.uv_consistency(xy, torch.tensor([[[3.0, 3.0]]]), torch.tensor([[[0, 1, 2]]]),
                            torch.tensor([[[0.2, 0.3, 0.5]]]), torch.ones(1, 1))
    loss.backward()
    assert torch.isfinite(heat.grad).all() and heat.grad.abs().sum() > 0


def test_segmentation_ce_trains():
    mask = torch.zeros(1, H, W)
    mask[:, 8:24, 4:16] = 1
    logits = torch.zeros(1, 2, H // 4, W // 4, requires_grad=True)
    first, last = _optimise(logits, lambda: L.segmentation_ce(logits, mask), lr=0.5)
    assert last < 0.2 * first
