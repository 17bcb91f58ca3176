"""The network: variants, shapes, units, fusion, BN folding, budgets, UV decoding."""

import numpy as np
import pytest
import torch

from model.build import build_deploy_model, create_model
from model.network.deploy import DeployModel, fold_batchnorm
from model.network.heads import uv_decode
from model.registry import get_variant, list_variants
from model.tools.summary import summarize


def test_registry_lists_the_issue_variants():
    assert {"xs", "s", "paper"} <= set(list_variants())
    with pytest.raises(KeyError, match="known variants"):
        get_variant("xxl")


@pytest.mark.parametrize("variant", ["tiny", "xs"])
def test_training_outputs_shapes_and_units(variant, template):
    torch.manual_seed(0)
    net = create_model(variant, template).eval()
    h, w = net.input_hw
    v = template.num_vertices
    with torch.no_grad():
        out = net(torch.rand(2, 3, h, w) * 255)
    assert out["heatmaps"].shape == (2, v, h // 4, w // 4)
    assert out["segmentation"].shape == (2, 2, h // 4, w // 4)
    assert out["vertices"].shape == (2, v, 3)
    assert out["joints"].shape == (2, 17, 3)
    assert ((out["visibility"] >= 0) & (out["visibility"] <= 1)).all()
    xy = out["xy_heatmap"]
    assert (xy[..., 0] > 0).all() and (xy[..., 0] < w).all() and (xy[..., 1] < h).all()
    # Depth is root-relative: mean vertex depth is zero.
    assert out["vertices"][..., 2].mean(dim=1).abs().max() < 1e-3
    # Joints are the landmarker applied to the vertices.
    lm = torch.tensor(np.asarray(template.coco17, np.float32))
    assert torch.allclose(out["joints"], lm @ out["vertices"], atol=1e-4)
    # Seam pairs coincide after fusion.
    sp = torch.tensor(np.asarray(template.seam_pairs, np.int64))
    if len(sp):
        assert torch.allclose(out["vertices"][:, sp[:, 0]], out["vertices"][:, sp[:, 1]], atol=1e-4)


def test_fusion_uses_heatmap_where_visible_and_regression_where_not(template):
    torch.manual_seed(0)
    net = create_model("tiny", template).eval()
    v = template.num_vertices
    x = torch.rand(1, 3, *net.input_hw) * 255
    bias = net.lift.to_bins.bias
    with torch.no_grad():
        bias[3 * v :] = 60.0  # visibility logits -> sigmoid ~ 1
        vis = net(x)
        bias[3 * v :] = -60.0
        invis = net(x)
    avg = net.seam_average_t.T
    assert torch.allclose(vis["vertices"][..., :2], avg @ vis["xy_heatmap"], atol=1e-3)
    assert torch.allclose(invis["vertices"][..., :2], avg @ invis["xyz_regressed"][..., :2], atol=1e-3)


def test_deploy_model_matches_training_network_with_folded_batchnorm(template):
    torch.manual_seed(0)
    net = create_model("tiny", template).eval()
    for m in net.modules():  # non-trivial BN statistics so that folding is exercised
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    x = torch.rand(1, 3, *net.input_hw) * 255
    with torch.no_grad():
        ref = net(x)
        deploy = DeployModel(net, input_name="image", output_names=("vertices", "visibility", "joints"))
        verts, vis, joints = deploy(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in deploy.modules())
    # The deployed graph emits (x, y) about the crop centre; its origin_px takes them back to crop pixels.
    h, w = net.input_hw
    assert deploy.origin_px == (w / 2, h / 2, 0.0)
    origin = torch.tensor(deploy.origin_px)
    assert torch.allclose(verts + origin, ref["vertices"], atol=1e-3)
    assert torch.allclose(joints + origin, ref["joints"], atol=1e-3)
    assert torch.allclose(vis, ref["visibility"], atol=1e-5)


def test_centred_graph_keeps_joints_of_a_landmarker_that_moves_the_origin(template):
    """A landmarker composed with an affine upsampler (the paper variant with SMPL) has rows that need not sum to 1
    and a constant term; about the crop centre its joints are L (v - c) + b + (L 1 - 1) c, plus c in the corner."""
    import dataclasses

    rng = np.random.default_rng(0)
    lm = np.asarray(template.coco17, np.float32) * rng.uniform(0.9, 1.1, (17, 1)).astype(np.float32)
    tpl = dataclasses.replace(template, coco17=lm, coco17_bias=rng.uniform(-3, 3, 17).astype(np.float32))
    torch.manual_seed(0)
    net = create_model("tiny", tpl).eval()
    assert net.landmarker_has_bias
    x = torch.rand(1, 3, *net.input_hw) * 255
    with torch.no_grad():
        ref = net(x)
        _, _, joints = DeployModel(net, input_name="image", output_names=("vertices", "visibility", "joints"))(x)
    want = ref["vertices"].double().transpose(1, 2) @ torch.from_numpy(lm.T).double() \
        + torch.from_numpy(tpl.coco17_bias).double()  # (1, 3, J): the landmarker on corner-frame vertices
    assert torch.allclose(ref["joints"].double(), want.transpose(1, 2), atol=1e-3)
    assert torch.allclose(joints.double() + torch.tensor([48.0, 64.0, 0.0]).double(), want.transpose(1, 2), atol=1e-3)


def test_centred_tail_keeps_sub_pixel_detail_in_fp16(template):
    """Why the deployed graph emits coordinates about the crop centre: rounded to fp16, the same vertices lose
    less than half as much as crop pixels from the corner do, where values reach 2^7 and fp16 steps are 1/8 px."""
    net = create_model("xs", template).eval()
    centred = DeployModel(net, input_name="image", output_names=("vertices", "visibility", "joints"))
    corner = DeployModel(net, input_name="image", output_names=("vertices", "visibility", "joints"),
                         vertex_origin="corner")
    x = torch.rand(1, 3, *net.input_hw) * 255
    with torch.no_grad():
        vc, vk = centred(x)[0].double(), corner(x)[0].double()
    origin = torch.tensor(centred.origin_px, dtype=torch.float64)
    assert torch.allclose(vc + origin, vk, atol=1e-3)
    err_centred = ((vc.half().double() - vc)[..., :2]).norm(dim=-1).median()
    err_corner = ((vk.half().double() - vk)[..., :2]).norm(dim=-1).median()
    assert err_centred < 0.5 * err_corner, (float(err_centred), float(err_corner))
    with pytest.raises(ValueError, match="vertex origin"):
        DeployModel(net, input_name="image", output_names=("vertices",), vertex_origin="middle")


def test_deploy_input_options(template):
    nchw = build_deploy_model("tiny", template=template)
    nhwc = build_deploy_model("tiny", template=template, nhwc=True)
    pre = build_deploy_model("tiny", template=template, normalize_in_graph=False)
    x = nchw.example_input()
    with torch.no_grad():
        a = nchw(x)[0]
        b = nhwc(x.permute(0, 2, 3, 1).contiguous())[0]
        c = pre(x - 127.5)[0]  # the fp16 rewrites centre the input; the stem holds the 1/127.5
    assert nhwc.input_shape == (1, 128, 96, 3)
    assert torch.allclose(a, b, atol=1e-4) and torch.allclose(a, c, atol=1e-4)


def test_fold_batchnorm_leaves_plain_convs_alone():
    seq = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    before = seq[0].weight.clone()
    fold_batchnorm(seq)
    assert torch.equal(seq[0].weight, before)


@pytest.mark.parametrize("variant", ["xs", "s"])
def test_mobile_variants_within_budget(variant):
    summary = summarize(variant)
    spec = get_variant(variant)
    assert summary.params <= spec.max_params_m * 1e6
    assert summary.macs <= spec.max_gmacs * 1e9
    assert summary.macs > 0.01e9  # the counter saw the convolutions


def test_uv_decode_strategies(template):
    faces = np.asarray(template.faces)
    f = 0
    i, j, k = faces[f]
    v = template.num_vertices
    heat = torch.full((1, v, 2, 2), -20.0)
    heat[0, [i, j, k], 0, 0] = 5.0  # equal posterior on the face's three vertices at pixel (0, 0)
    heat[0, j, 1, 1] = 5.0  # one vertex dominant at pixel (1, 1)
    uv = np.asarray(template.uv)
    parts, coords = uv_decode(heat, faces, template.face_parts, template.parts, uv, "barycentric")
    assert parts[0, 0, 0] == template.face_parts[f]
    assert np.allclose(coords[0, 0, 0].numpy(), uv[[i, j, k]].mean(axis=0), atol=1e-4)
    parts, coords = uv_decode(heat, faces, template.face_parts, template.parts, uv, "closest")
    assert parts[0, 1, 1] == template.parts[j]
    assert np.allclose(coords[0, 1, 1].numpy(), uv[j], atol=1e-5)
    parts, coords = uv_decode(heat, faces, template.face_parts, template.parts, uv, "global_average")
    assert parts[0, 1, 1] == template.parts[j]
    assert np.allclose(coords[0, 1, 1].numpy(), uv[j], atol=1e-3)
    with pytest.raises(ValueError, match="unknown UV decoding"):
        uv_decode(heat, faces, template.face_parts, template.parts, uv, "nearest")


@pytest.mark.parametrize("kwargs", [{}, {"expand": 32}, {"spatial_channels": 8, "coarse_hw": (4, 3)},
                                    {"spatial_channels": 8, "coarse_hw": (4, 3), "use_heatmap_xy": True}])
def test_lift_head_summaries_give_bins_and_visibility(kwargs):
    from model.network.heads import LiftHead

    torch.manual_seed(0)
    head = LiftHead(24, 10, bins=16, hidden=8, **kwargs).eval()
    coarse, xy = torch.randn(2, 24, 4, 3), torch.rand(2, 10, 2) * 2 - 1
    xyz, vis = head(coarse, xy)
    assert xyz.shape == (2, 10, 3) and vis.shape == (2, 10)
    assert (xyz.abs() < 1).all()  # expectations of bin centres in [-1, 1]
    moved, _ = head(coarse, xy.flip(1))
    # Only the head that reads the heatmap vertices depends on them.
    assert torch.equal(moved, xyz) != bool(kwargs.get("use_heatmap_xy"))


def test_lift_head_refuses_inconsistent_options():
    from model.network.heads import LiftHead

    with pytest.raises(ValueError, match="choose one summary"):
        LiftHead(8, 4, expand=16, spatial_channels=4, coarse_hw=(2, 2))
    with pytest.raises(ValueError, match="coarse_hw"):
        LiftHead(8, 4, spatial_channels=4)
    with pytest.raises(ValueError, match="needs the spatial summary"):
        LiftHead(8, 4, use_heatmap_xy=True)
    head = LiftHead(8, 4, spatial_channels=4, coarse_hw=(2, 2), use_heatmap_xy=True)
    with pytest.raises(ValueError, match="heatmap vertices"):
        head(torch.randn(1, 8, 2, 2))


def test_lift_head_stops_the_gradient_into_the_heatmap_vertices():
    from model.network.heads import LiftHead

    head = LiftHead(8, 4, bins=8, hidden=4, spatial_channels=4, coarse_hw=(2, 2), use_heatmap_xy=True).train()
    xy = torch.rand(1, 4, 2, requires_grad=True)
    coarse = torch.randn(1, 8, 2, 2, requires_grad=True)
    xyz, vis = head(coarse, xy)
    (xyz.sum() + vis.sum()).backward()
    assert xy.grad is None and coarse.grad is not None and coarse.grad.abs().sum() > 0


def test_unknown_vertex_origin_is_refused_before_the_backbone_runs(template):
    net = create_model("tiny", template).eval()
    calls = []
    net.backbone.register_forward_hook(lambda *_: calls.append(1))
    x = torch.zeros(1, 3, *net.input_hw)
    with pytest.raises(ValueError, match="unknown origin 'middle'"):
        net.forward_normalized(x, origin="middle")
    assert calls == []
    with torch.no_grad():
        fine, coarse = net.backbone(x)
    with pytest.raises(ValueError, match="unknown origin 'middle'"):
        net.forward_features(fine, coarse, origin="middle")
