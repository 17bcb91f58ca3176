"""The heatmap trust head: what it computes, how checkpoints carry it, its fit on a frozen network, that
training leaves it out, and that its deploy graph passes the op policy, the LiteRT GPU delegate and the
ANE residency check (tiny variant)."""

import json

import numpy as np
import pytest
import torch

from model.build import build_deploy_model, create_model
from model.checkpoint import TRUST_PREFIX, load_checkpoint, read_checkpoint_info, save_checkpoint
from model.cli import InputError
from model.network.heads.trust import HeatmapTrust, heatmap_variance


def _randomise(module: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


def _tiny_with_trust(template, seed: int = 3):
    torch.manual_seed(0)
    net = create_model("tiny", template)
    _randomise(net.vertexpose.attach_trust(hidden=8), seed)
    return net


@pytest.fixture(scope="module")
def trust_ckpt(tmp_path_factory, template):
    path = tmp_path_factory.mktemp("trust") / "tiny_trust.safetensors"
    return save_checkpoint(_tiny_with_trust(template), path, variant="tiny", template=template, trained=True)


def test_variance_of_a_two_mode_map_is_p_q_d_squared():
    prob = torch.zeros(1, 2, 8, 12)
    prob[0, 0, 3, 2], prob[0, 0, 3, 9] = 0.7, 0.3  # 7 cells apart along x
    prob[0, 1, 5, 5] = 1.0
    var = heatmap_variance(prob)
    assert var[0, 0] == pytest.approx(0.7 * 0.3 * 49, rel=1e-6) and var[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_trust_is_the_expectation_of_the_trust_map():
    trust = HeatmapTrust(in_ch=4, num_vertices=3, pool=2, hidden=8)
    assert torch.allclose(trust(torch.randn(1, 4, 8, 6), torch.full((1, 3, 8, 6), 1 / 48)),
                          torch.full((1, 3), torch.sigmoid(torch.tensor(4.0)).item()))  # untrained: trusts all
    _randomise(trust, 1)
    feats = torch.randn(1, 4, 8, 6)
    tmap = trust.trust_map(trust.pool_features(feats))  # (1, 3, 4, 3)
    a, b = torch.zeros(1, 3, 8, 6), torch.zeros(1, 3, 8, 6)
    a[..., 0, 0], b[..., 7, 5] = 1.0, 1.0  # all mass in one cell, then in another
    assert torch.allclose(trust(feats, a), tmap[..., 0, 0], atol=1e-6)
    assert torch.allclose(trust(feats, b), tmap[..., 3, 2], atol=1e-6)
    # Linear in the probabilities: moving mass between two modes moves the trust by that mass times the
    # difference of the map between them, never more (what keeps it still under fp16 noise).
    for share in (0.2, 0.5, 0.9):
        mixed = trust(feats, share * a + (1 - share) * b)
        assert torch.allclose(mixed, share * tmap[..., 0, 0] + (1 - share) * tmap[..., 3, 2], atol=1e-6)
    with torch.no_grad():
        anywhere = trust(feats, torch.softmax(torch.randn(1, 3, 48), -1).reshape(1, 3, 8, 6))
    assert float(anywhere.min()) >= 0 and float(anywhere.max()) <= 1


def test_eq5_weighs_the_heatmap_by_visibility_times_trust(template):
    net = _tiny_with_trust(template).eval()
    x = torch.rand(1, 3, 128, 96) * 255
    with torch.no_grad():
        out = net(x)
        trust = net.vertexpose.trust(*_trust_inputs(net, x))
    assert torch.allclose(out["heatmap_weight"], out["visibility"] * trust, atol=1e-6)
    assert float(trust.std()) > 1e-3  # the randomised head does not trust every map alike
    net.vertexpose.trust = None
    with torch.no_grad():
        plain = net(x)
    assert torch.equal(plain["heatmap_weight"], plain["visibility"])
    assert not torch.allclose(plain["vertices"], out["vertices"], atol=1e-3)


def _trust_inputs(net, x):
    store = {}
    hook = net.vertexpose.heatmaps.register_forward_pre_hook(lambda _m, a: store.__setitem__("x", a[0]))
    out = net(x)
    hook.remove()
    prob = net.vertexpose.argsoftmax.probabilities(out["heatmaps"]).reshape(out["heatmaps"].shape)
    return store["x"], prob


def test_checkpoints_carry_the_trust_head_or_run_without_it(trust_ckpt, tmp_path, template):
    net = create_model("tiny", template)
    assert net.vertexpose.trust is None  # no variant builds one: a checkpoint brings it
    load_checkpoint(net, trust_ckpt, variant="tiny", template=template)
    assert net.vertexpose.trust is not None and net.vertexpose.trust.context.out_channels == 8
    src = _tiny_with_trust(template)
    for k, v in src.state_dict().items():
        assert torch.equal(net.state_dict()[k], v), k
    # A file without the head, loaded into a network that has one, runs Eq. 5 as it was trained.
    torch.manual_seed(0)
    plain = save_checkpoint(create_model("tiny", template), tmp_path / "plain.safetensors", variant="tiny",
                            template=template, trained=True)
    load_checkpoint(net, plain, variant="tiny", template=template)
    assert net.vertexpose.trust is None
    assert not any(k.startswith(TRUST_PREFIX) for k in net.state_dict())


def test_deploy_graph_with_trust_passes_the_gates(trust_ckpt, tmp_path, template):
    from export.contract import build_contract
    from export.coreml import check_ane_residency, convert_coreml, run_mil_fp16
    from export.op_policy import check_module
    from export.tflite import analyze_gpu_compat, convert_tflite, run_gpu

    model = build_deploy_model("tiny", str(trust_ckpt), template=template)
    assert model.net.vertexpose.trust is not None
    assert check_module(model, model.example_input()) == []
    image = (np.random.default_rng(5).random(model.input_shape) * 255).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(image))[0].numpy()
    path = convert_tflite(model, torch.from_numpy(image), tmp_path / "t.tflite", precision="fp32")
    report = analyze_gpu_compat(path)
    assert report.ok, report.incompatible
    gpu = run_gpu(path, {"image": image})
    assert gpu.fully_accelerated and np.abs(gpu.outputs["vertices"] - want).max() < 1.0
    plain = build_deploy_model("tiny", str(trust_ckpt), normalize_in_graph=False, template=template)
    contract = build_contract(plain, template, fmt="coreml", artifact="t.mlpackage", precision="fp16",
                              input_dtype="image", normalization_baked_in=True)
    pkg = convert_coreml(plain, plain.example_input(), tmp_path / "t.mlpackage", contract=contract)
    residency = check_ane_residency(pkg)
    assert residency.ok and residency.op_histogram.get("avg_pool", 0) > 0, residency.offending
    assert np.abs(run_mil_fp16(pkg, {"image": image})["vertices"] - want).max() < 0.25


def test_fit_trust_moves_only_the_trust_head(tiny_data, tmp_path, template):
    from model.train.fit_trust import main as fit_main

    torch.manual_seed(0)
    src = save_checkpoint(create_model("tiny", template), tmp_path / "src.safetensors", variant="tiny",
                          template=template, trained=True, extra={"step": "7"})
    out = tmp_path / "fit.safetensors"
    assert fit_main(["--ckpt", str(src), "--data", str(tiny_data / "train"), "--out", str(out), "--samples", "6",
                     "--passes", "2", "--epochs", "12", "--lr", "0.01", "--hidden", "8"]) == 0
    a, b = create_model("tiny", template), create_model("tiny", template)
    load_checkpoint(a, src, variant="tiny", template=template)
    load_checkpoint(b, out, variant="tiny", template=template)
    sb = b.state_dict()
    assert {k for k in sb if k.startswith(TRUST_PREFIX)} and b.vertexpose.trust is not None
    for k, v in a.state_dict().items():
        assert torch.equal(sb[k], v), k
    meta = read_checkpoint_info(out).metadata
    record = json.loads(meta["fit_trust"])
    assert record["loss_last_epoch"] < record["loss_first_epoch"] and meta["step"] == "7"
    assert record["samples"] == 6 and record["passes"] == 2
    with pytest.raises(InputError, match="--samples"):
        fit_main(["--ckpt", str(src), "--out", str(out), "--samples", "0"])
    with pytest.raises(InputError, match="holds 6 samples"):
        fit_main(["--ckpt", str(src), "--data", str(tiny_data / "train"), "--out", str(out), "--samples", "7"])


def test_training_leaves_the_trust_head_out(trust_ckpt, template):
    from model.train.loop import warm_start

    net = create_model("tiny", template)
    warm_start(net, trust_ckpt, False, "tiny", template)
    assert net.vertexpose.trust is None  # its fit belongs to the features it was fitted on


def test_training_the_trust_reaches_the_backbone_but_not_the_heatmaps_or_eq5(tiny_data, template):
    from model.train.config import TRUST_SPREAD, TRUST_TAU, TRUST_UPWEIGHT
    from model.train.dataset import MeshPoseDataset
    from model.train.losses import heatmap_trust

    net = _tiny_with_trust(template).train()
    batch = MeshPoseDataset(tiny_data / "train", template).batch([0, 1], 0, 0)
    beta = net.vertexpose.argsoftmax.beta

    def grads(loss) -> dict[str, float]:
        net.zero_grad(set_to_none=True)
        loss.backward()
        return {n: float(p.grad.abs().sum()) if p.grad is not None else 0.0 for n, p in net.named_parameters()}

    out = net(batch["image"])
    g = grads(out["vertices"].square().mean())  # every vertex loss reaches Eq. 5 this way
    assert all(v == 0 for n, v in g.items() if n.startswith("vertexpose.trust.")), "Eq. 5 must not teach the trust"
    assert g["vertexpose.heatmaps.weight"] > 0
    out = net(batch["image"])
    term = heatmap_trust(out["heatmap_trust"], out["heatmaps"] * beta, batch["visibility"], TRUST_TAU,
                         TRUST_UPWEIGHT, TRUST_SPREAD)
    g = grads(term)
    assert g["vertexpose.trust.context.weight"] > 0
    assert any(v > 0 for n, v in g.items() if n.startswith("backbone."))  # the features learn it too
    assert g["vertexpose.heatmaps.weight"] == 0  # the maps are read, not moved, and the target is a constant
    net.eval()
    with torch.no_grad():
        deployed = net(batch["image"])
    assert torch.allclose(deployed["heatmap_weight"], deployed["visibility"] * deployed["heatmap_trust"])


def test_a_run_with_the_trust_term_trains_and_keeps_its_head(tiny_data, tmp_path, trust_ckpt, template):
    from model.train.config import get_config
    from model.train.loop import warm_start
    from tests.conftest import train_two_steps

    rows = train_two_steps(tiny_data, tmp_path / "run", heatmap_trust=1.0)
    assert all(np.isfinite(r["heatmap_trust"]) for r in rows if "heatmap_trust" in r)
    assert any("heatmap_trust" in r for r in rows)
    net = create_model("tiny", template)
    load_checkpoint(net, tmp_path / "run" / "meshpose_tiny.safetensors", variant="tiny", template=template)
    assert net.vertexpose.trust is not None  # the file carries the head, so exports build it
    torch.manual_seed(get_config("tiny").seed)  # the run's own start: its network, then its head
    start = create_model("tiny", template).vertexpose.attach_trust()
    assert not torch.equal(net.vertexpose.trust.context.weight, start.context.weight)  # two steps moved it

    # Warm starts keep the run's own head (the module the optimiser holds): the file's where widths match,
    # fresh where the file has another width or none.
    net = create_model("tiny", template)
    own = net.vertexpose.attach_trust(hidden=8)
    warm_start(net, trust_ckpt, False, "tiny", template, keep_trust=True)
    assert net.vertexpose.trust is own
    assert torch.equal(own.context.weight, _tiny_with_trust(template).vertexpose.trust.context.weight)
    net = create_model("tiny", template)
    own = net.vertexpose.attach_trust()
    before = own.context.weight.clone()
    warm_start(net, trust_ckpt, False, "tiny", template, keep_trust=True)
    assert net.vertexpose.trust is own and torch.equal(own.context.weight, before)
    with pytest.raises(ValueError, match="attached"):
        warm_start(create_model("tiny", template), trust_ckpt, False, "tiny", template, keep_trust=True)
