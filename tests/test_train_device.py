"""Training off the CPU and with batch workers: the device choice, no tensor created off the batch's device
(what a GPU run would trip over), and batch workers that change nothing but the speed."""

import dataclasses
import subprocess

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import write_rest_body_split
from tests.test_train import _env, _train_cli


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, template):
    """8 renders of the template's rest body at the tiny variant's 128x96."""
    root = tmp_path_factory.mktemp("data")
    write_rest_body_split(root / "train", template, range(8))
    return root


def test_resolve_device_never_falls_back_silently(monkeypatch):
    from model.train.device import DeviceError, resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceError, match="sees no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    # With two GPUs (stubbed: this host has none), torchrun's LOCAL_RANK picks the process's GPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert resolve_device("auto") == torch.device("cuda:1")
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceError, match="2 CUDA device"):
        resolve_device("cuda:3")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("cuda:x")


def _all_terms_forward(net, batch, template, cfg, perturbation):
    """One training forward, every loss and the backward, as model/train/loop.py runs them."""
    from model.train.loop import compute_losses, forward_with_copy, loss_constants

    consts = loss_constants(template, net.vertexpose.argsoftmax.beta)
    gen = torch.Generator().manual_seed(0)
    net.vertexpose.noise_generator = torch.Generator().manual_seed(1)
    # Factories called without a device now make meta tensors, and mixing one with the CPU tensors of the
    # model and batch raises: so this passes only if every tensor a step creates follows its inputs' device,
    # as it must for a GPU run (that host's default device stays the CPU).
    with torch.device("meta"):
        out = forward_with_copy(net, batch["image"], True, perturbation, gen)
        loss, parts = compute_losses(out, batch, consts, cfg, net.input_hw[0])
        loss.backward()
    assert torch.isfinite(loss) and loss.device.type == "cpu"
    return parts


def test_a_training_step_creates_every_tensor_on_its_inputs_device(tiny_data, template):
    from model.build import create_model
    from model.train.config import LossWeights, get_config
    from model.train.dataset import MeshPoseDataset
    from model.train.int8_emulation import Int8Emulation
    from model.train.perturb import activation_noise

    weights = {f.name: 1.0 for f in dataclasses.fields(LossWeights)}
    data = MeshPoseDataset(tiny_data / "train", template)
    batch = data.batch([0, 1], 0, 0)
    no_person_field = {k: v for k, v in batch.items() if k != "has_person"}  # labels without negatives
    torch.manual_seed(0)
    net = create_model("tiny", template).train()
    net.vertexpose.attach_trust()  # heatmap_trust trains one
    net.vertexpose.logit_noise, net.vertexpose.feature_noise = 0.02, 0.02
    fp16 = get_config("tiny").with_overrides(losses=LossWeights(**{**weights, "int8_heatmap_consistency": 0.0}))
    parts = _all_terms_forward(net, no_person_field, template, fp16,
                               lambda gen, n: activation_noise(net, n, 0.002, gen))
    assert set(parts) == set(weights) - {"int8_heatmap_consistency"}
    int8 = get_config("tiny").with_overrides(
        losses=LossWeights(**{**weights, "fp16_consistency": 0.0, "fp16_heatmap_consistency": 0.0}))
    emulation = Int8Emulation(net)
    parts = _all_terms_forward(net, batch, template, int8, lambda gen, n: emulation.rows(n))
    assert "int8_heatmap_consistency" in parts


def test_batch_workers_build_the_same_batches(tiny_data, template):
    from model.train.batches import step_batches
    from model.train.dataset import MeshPoseDataset

    data = MeshPoseDataset(tiny_data / "train", template, rotation_deg=10.0, scale_jitter=0.1)

    def next_batch(epoch, k):
        return data.batch([2 * k, 2 * k + 1], epoch, 7)

    inline = list(step_batches(next_batch, 1, 7, 4, workers=0))
    ahead = list(step_batches(next_batch, 1, 7, 4, workers=2))
    assert len(inline) == len(ahead) == 6
    for a, b in zip(inline, ahead):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(inline[0]["image"], inline[4]["image"])  # steps 1 and 5: same samples, next epoch
    with pytest.raises(ValueError, match="workers must be >= 0"):
        list(step_batches(next_batch, 0, 1, 4, workers=-1))


def test_batch_workers_train_the_same_weights(tiny_data, tmp_path):
    noise = ("--heatmap-logit-noise", "0.02", "--loss-weight", "input_consistency=0.5", "--device", "cpu")
    runs = {}
    for workers in ("0", "2"):
        out = tmp_path / f"w{workers}"
        res = subprocess.run(_train_cli(tiny_data, out, "--max-steps", "3", "--workers", workers, *noise),
                             env=_env(), capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        assert "training tiny on cpu" in res.stderr
        runs[workers] = load_file(str(out / "meshpose_tiny.safetensors"))
    assert "2 batch worker(s)" in res.stderr
    a, b = runs["0"], runs["2"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a host without CUDA")
def test_train_and_distill_refuse_a_gpu_they_do_not_have(tiny_data, tmp_path, capsys):
    from model.train.distill import main as distill_main
    from model.train.loop import main as train_main

    assert train_main(["--variant", "tiny", "--data", str(tiny_data), "--out", str(tmp_path / "t"),
                       "--device", "cuda", "--max-steps", "1"]) == 2
    assert "sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
    assert train_main(["--variant", "tiny", "--data", str(tiny_data), "--out", str(tmp_path / "t"),
                       "--workers", "-1", "--max-steps", "1", "--device", "cpu"]) == 2
    assert "workers must be >= 0" in capsys.readouterr().err
    assert distill_main(["train", "--labels", str(tmp_path / "none"), "--out", str(tmp_path / "d"),
                         "--student", "tiny", "--device", "cuda"]) == 2
    assert "sees no CUDA device" in capsys.readouterr().err



@pytest.mark.parametrize("variant", ["tiny", "paper"])
def test_a_teacher_labels_with_every_tensor_on_its_inputs_device(variant):
    """Distillation's labelling runs the deployed graph on the teacher's device (`label --device`)."""
    from model.build import build_deploy_model

    model = build_deploy_model(variant, None, vertex_origin="corner")
    image = torch.rand(model.input_shape, generator=torch.Generator().manual_seed(0)) * 255
    with torch.no_grad():
        expected = model(image)
        with torch.device("meta"):  # as in the training-step test above
            outputs = model(image)
    assert all(torch.equal(a, b) for a, b in zip(expected, outputs))
