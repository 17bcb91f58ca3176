"""The lift reading trust-scaled heatmap vertices: the reading, its record in checkpoints, and its refit tool."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import safe_open, save_file

from model.build import build_deploy_model, create_model
from model.checkpoint import (
    LIFT_XY_READING_KEY,
    WEIGHTS_HASH_KEY,
    CheckpointError,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
    weights_sha256,
)
from model.cli import InputError


def _tiny_with_trust(template, reading: str = "plain"):
    torch.manual_seed(0)
    net = create_model("tiny", template)
    trust = net.vertexpose.attach_trust(hidden=8)
    with torch.no_grad():  # a trust that varies from vertex to vertex
        trust.logits.weight.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(4))
        trust.logits.bias.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(5))
        # An untrained network's features are small, its heatmaps flat and centred and its lift's bins near
        # uniform: larger weights give heatmap positions away from the centre and a lift that follows them.
        net.vertexpose.heatmaps.weight.normal_(0.0, 100.0, generator=torch.Generator().manual_seed(6))
        net.lift.to_bins.weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(7))
    net.lift.heatmap_xy_reading = reading
    return net.eval()


def _lift_inputs(net, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand((1, 3, *net.input_hw), generator=g) * 255
    with torch.no_grad():
        fine, coarse = net.backbone(net.normalize(image))
        _, xy, _, trust = net.vertexpose(fine, False)
    return coarse, xy, trust


def test_a_distrusted_heatmap_does_not_reach_the_lift(template):
    net = _tiny_with_trust(template, "trust")
    coarse, xy, trust = _lift_inputs(net)
    moved = xy + 0.3 * torch.randn(xy.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        zero = torch.zeros_like(trust)
        assert torch.equal(net.lift(coarse, xy, zero)[0], net.lift(coarse, moved, zero)[0])
        # Where the trust is 1 the position reaches the lift as it is: the plain reading of the same input.
        one = torch.ones_like(trust)
        scaled = net.lift(coarse, moved, one)[0]
        net.lift.heatmap_xy_reading = "plain"
        assert torch.allclose(scaled, net.lift(coarse, moved)[0], atol=1e-6)
        assert not torch.allclose(scaled, net.lift(coarse, xy)[0], atol=1e-3)  # and the positions do matter
        net.lift.heatmap_xy_reading = "trust"
        with pytest.raises(ValueError, match="trust head"):
            net.lift(coarse, xy)
        # The fixture's trust varies from vertex to vertex, so the two readings differ in the network.
        out = net(torch.rand((1, 3, *net.input_hw), generator=torch.Generator().manual_seed(2)) * 255)
        assert out["heatmap_trust"].min() < 0.9 and out["heatmap_trust"].max() > 0.1


def test_checkpoints_record_how_the_lift_reads(template, tmp_path):
    trust_file = save_checkpoint(_tiny_with_trust(template, "trust"), tmp_path / "t.safetensors", variant="tiny",
                                 template=template, trained=True)
    plain_file = save_checkpoint(_tiny_with_trust(template), tmp_path / "p.safetensors", variant="tiny",
                                 template=template, trained=True)
    assert read_checkpoint_info(trust_file).metadata[LIFT_XY_READING_KEY] == "trust"
    assert LIFT_XY_READING_KEY not in read_checkpoint_info(plain_file).metadata  # older files read plainly
    net = create_model("tiny", template)
    load_checkpoint(net, trust_file, variant="tiny", template=template)
    assert net.lift.heatmap_xy_reading == "trust"
    load_checkpoint(net, plain_file, variant="tiny", template=template)
    assert net.lift.heatmap_xy_reading == "plain"
    deploy = build_deploy_model("tiny", str(trust_file), template=template)
    assert deploy.net.lift.heatmap_xy_reading == "trust"
    # A file that claims the reading without a trust head, or names an unknown reading, is refused.
    with safe_open(str(trust_file), framework="pt") as f:
        meta, tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    no_head = {k: v for k, v in tensors.items() if not k.startswith("vertexpose.trust.")}
    save_file(no_head, str(tmp_path / "no_head.safetensors"),
              metadata={**meta, WEIGHTS_HASH_KEY: weights_sha256(no_head)})
    with pytest.raises(CheckpointError, match="no heatmap trust head"):
        load_checkpoint(create_model("tiny", template), tmp_path / "no_head.safetensors", variant="tiny",
                        template=template)
    save_file(tensors, str(tmp_path / "odd.safetensors"), metadata={**meta, LIFT_XY_READING_KEY: "sideways"})
    with pytest.raises(CheckpointError, match="sideways"):
        load_checkpoint(create_model("tiny", template), tmp_path / "odd.safetensors", variant="tiny",
                        template=template)
    # A fine-tune that would drop the file's trust head cannot keep its lift's reading.
    from model.train.loop import warm_start

    with pytest.raises(ValueError, match="heatmap_trust"):
        warm_start(create_model("tiny", template), trust_file, False, "tiny", template)


def test_a_resumed_run_keeps_the_reading(template, tmp_path):
    from model.train.config import get_config
    from model.train.loop import _load_state, _save_state

    net = _tiny_with_trust(template, "trust")
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    _save_state(tmp_path / "state.safetensors", net, opt, 3, get_config("tiny"), template)
    again = create_model("tiny", template)
    again.vertexpose.attach_trust(hidden=8)
    assert _load_state(tmp_path / "state.safetensors", again, torch.optim.AdamW(again.parameters()), template) == 3
    assert again.lift.heatmap_xy_reading == "trust"


def test_deploy_graph_with_the_trust_reading_runs_on_the_gpu(template, tmp_path):
    from export.op_policy import check_module
    from export.tflite import convert_tflite, run_gpu

    path = save_checkpoint(_tiny_with_trust(template, "trust"), tmp_path / "t.safetensors", variant="tiny",
                           template=template, trained=True)
    model = build_deploy_model("tiny", str(path), template=template)
    assert check_module(model, model.example_input()) == []
    image = (np.random.default_rng(5).random(model.input_shape) * 255).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(image))[0].numpy()
    tfl = convert_tflite(model, torch.from_numpy(image), tmp_path / "t.tflite", precision="fp32")
    gpu = run_gpu(tfl, {"image": image})
    assert gpu.fully_accelerated and np.abs(gpu.outputs["vertices"] - want).max() < 1.0


def test_refit_lift_moves_only_the_lift(tiny_data, tmp_path, template):
    from model.train.refit_lift import main as refit_main

    src = save_checkpoint(_tiny_with_trust(template), tmp_path / "src.safetensors", variant="tiny",
                          template=template, trained=True, extra={"step": "7"})
    out = tmp_path / "refit.safetensors"
    assert refit_main(["--ckpt", str(src), "--data", str(tiny_data / "train"), "--out", str(out), "--samples", "6",
                       "--passes", "2", "--epochs", "15", "--lr", "0.003"]) == 0
    a, b = create_model("tiny", template), create_model("tiny", template)
    load_checkpoint(a, src, variant="tiny", template=template)
    load_checkpoint(b, out, variant="tiny", template=template)
    assert a.lift.heatmap_xy_reading == "plain" and b.lift.heatmap_xy_reading == "trust"
    sb = b.state_dict()
    assert any(not torch.equal(sb[k], v) for k, v in a.state_dict().items() if k.startswith("lift."))
    for k, v in a.state_dict().items():
        if not k.startswith("lift."):
            assert torch.equal(sb[k], v), k
    meta = read_checkpoint_info(out).metadata
    record = json.loads(meta["refit_lift"])
    assert meta["step"] == "7" and record["samples"] == 6 and record["reading"] == "trust"
    assert record["loss_last_epoch"] < record["loss_first_epoch"]
    assert record["after_fit_median_px"] < record["before_fit_median_px"]  # back towards the plain reading's output
    with pytest.raises(InputError, match="already reads"):
        refit_main(["--ckpt", str(out), "--data", str(tiny_data / "train"), "--out", str(tmp_path / "x"),
                    "--samples", "2"])
    torch.manual_seed(0)
    no_trust = save_checkpoint(create_model("tiny", template), tmp_path / "nt.safetensors", variant="tiny",
                               template=template, trained=True)
    with pytest.raises(InputError, match="fit_trust"):
        refit_main(["--ckpt", str(no_trust), "--data", str(tiny_data / "train"), "--out", str(tmp_path / "x")])
    with pytest.raises(InputError, match="--samples"):
        refit_main(["--ckpt", str(src), "--out", str(tmp_path / "x"), "--samples", "0"])
