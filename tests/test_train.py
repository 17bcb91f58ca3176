"""Training: a run killed mid-way and resumed ends bit-for-bit where an uninterrupted run ends;
a 2-process gloo DDP smoke run; dataset augmentation."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import write_rest_body_split

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, template):
    """8 renders of the template's rest body at the tiny variant's 128x96, in the DensePose-COCO layout."""
    root = tmp_path_factory.mktemp("data")
    write_rest_body_split(root / "train", template, range(8))
    return root


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


NOISE = ("--heatmap-logit-noise", "0.02")  # the resume test also covers the seeded training noise


def _train_cli(data, out, *extra):
    return [sys.executable, "-m", "model.train", "--variant", "tiny", "--data", str(data), "--out", str(out),
            "--threads", "1", *extra]


def test_killed_run_resumes_bit_for_bit(tiny_data, tmp_path):
    full, broken = tmp_path / "full", tmp_path / "broken"
    subprocess.run(_train_cli(tiny_data, full, "--max-steps", "6", "--save-every", "3", "--keep-every", "3", *NOISE),
                   check=True, env=_env(), capture_output=True)
    # --keep-every leaves each kept step's checkpoint beside the latest one
    assert sorted(p.name for p in full.glob("step*.safetensors")) == ["step3.safetensors", "step6.safetensors"]
    assert (full / "step6.safetensors").read_bytes() == (full / "meshpose_tiny.safetensors").read_bytes()
    assert (full / "step3.safetensors").read_bytes() != (full / "step6.safetensors").read_bytes()
    bad = subprocess.run(_train_cli(tiny_data, tmp_path / "bad", "--max-steps", "6", "--save-every", "3",
                                    "--keep-every", "4"), env=_env(), capture_output=True, text=True)
    assert bad.returncode == 2 and "--keep-every must be a multiple of --save-every (3)" in bad.stderr
    proc = subprocess.Popen(_train_cli(tiny_data, broken, "--max-steps", "6", "--save-every", "1", *NOISE),
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    state = broken / "train_state.safetensors"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if state.exists():
            from safetensors import safe_open

            with safe_open(str(state), framework="pt") as f:
                if int(f.metadata()["step"]) >= 3:
                    break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from safetensors import safe_open

    with safe_open(str(state), framework="pt") as f:
        killed_at = int(f.metadata()["step"])
    assert 1 <= killed_at < 6, f"the run was not interrupted mid-way (state at step {killed_at})"
    subprocess.run(_train_cli(tiny_data, broken, "--max-steps", "6", "--save-every", "6", "--resume", *NOISE),
                   check=True, env=_env(), capture_output=True)
    a = load_file(str(full / "meshpose_tiny.safetensors"))
    b = load_file(str(broken / "meshpose_tiny.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    lines = (broken / "metrics.jsonl").read_text().splitlines()
    steps = [int(line.split('"step": ')[1].split(",")[0]) for line in lines]
    assert steps == sorted(set(steps)) and steps[-1] == 6  # resumed metrics continue without duplicates


def test_ddp_two_process_gloo_smoke(tiny_data, tmp_path):
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    res = subprocess.run([*torchrun, "-m", "model.train", "--variant", "tiny", "--data", str(tiny_data),
                          "--out", str(tmp_path / "ddp"), "--max-steps", "2", "--threads", "1"],
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "2 process(es)" in res.stderr
    assert (tmp_path / "ddp" / "meshpose_tiny.safetensors").is_file()


def test_flip_augmentation_mirrors_targets(tiny_data, template):
    from model.train.dataset import MeshPoseDataset

    ds = MeshPoseDataset(tiny_data / "train", template, flip_probability=1.0, colour_jitter=0.0)
    plain = ds.get(0, augment=False)
    flipped = ds.get(0, augment=True)
    assert torch.equal(flipped["image"], plain["image"].flip(-1))
    # Through the mirror vertices, not the symmetry involution, which pairs 365 with 366 (12 cm apart).
    mirror = torch.tensor(template.mirror_index())
    assert torch.allclose(flipped["vertices"][:, 0], 96 - plain["vertices"][mirror, 0])
    assert torch.equal(flipped["visibility"], plain["visibility"][mirror])
    sym = torch.tensor(np.asarray(template.symmetry, np.int64))
    assert not torch.allclose(flipped["vertices"][:, 0], 96 - plain["vertices"][sym, 0])


def _centroid(mask):
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean() + 0.5, ys.mean() + 0.5])  # pixel i covers [i, i + 1)


def test_scale_rotation_augmentation_moves_image_and_targets_together(tiny_data, template):
    from model.train.dataset import MeshPoseDataset, _scale_rotate

    ds = MeshPoseDataset(tiny_data / "train", template, flip_probability=0.0, colour_jitter=0.0)
    s = {k: v.numpy() for k, v in ds.get(0, augment=False).items()}
    n = int(s["dp_valid"].sum())
    args = (s["image"].transpose(1, 2, 0), s["mask"], s["vertices"], s["visibility"], s["dp_points"][:n],
            s["keypoints"])
    same = _scale_rotate(*args, 1.0, 0.0)
    assert np.abs(same[0] - args[0]).max() < 1e-3 and np.array_equal(same[1], args[1])
    assert np.allclose(same[2], args[2]) and same[5].all()
    # Shrink and roll: the body stays inside the crop, so the mask's centroid moves like a point.
    scale, angle = 0.85, np.deg2rad(12.0)
    _, mask, verts, vis, dp, keep, kp = _scale_rotate(*args, scale, angle)
    centre = np.array([48.0, 64.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    assert np.linalg.norm(_centroid(mask) - (centre + rot @ (_centroid(s["mask"]) - centre))) < 0.5
    assert abs(mask.sum() / s["mask"].sum() - scale**2) < 0.05
    assert np.allclose(verts[:, :2], (s["vertices"][:, :2] - centre) @ rot.T + centre, atol=1e-4)
    assert np.allclose(verts[:, 2], s["vertices"][:, 2] * scale, atol=1e-4)
    assert np.allclose(kp[:, :2], (s["keypoints"][:, :2] - centre) @ rot.T + centre, atol=1e-4)
    assert np.array_equal(kp[:, 2], s["keypoints"][:, 2])
    # Visible vertices and the dense points still fall on the (moved) person.
    on_person = lambda p, m: m[p[:, 1].astype(int).clip(0, 127), p[:, 0].astype(int).clip(0, 95)]  # noqa: E731
    v = vis > 0.5
    assert on_person(verts[v], mask).mean() > 0.9 * on_person(s["vertices"][v], s["mask"]).mean()
    assert keep.all() and on_person(dp, mask).mean() > 0.9
    # Zooming in pushes points out of the crop: they lose their visibility, dense points are dropped.
    _, _, verts, vis, dp, keep, kp = _scale_rotate(*args, 1.6, 0.0)
    kp_out = (kp[:, 0] < 0) | (kp[:, 0] >= 96) | (kp[:, 1] < 0) | (kp[:, 1] >= 128)
    assert not kp[kp_out, 2].any()
    outside = (verts[:, 0] < 0) | (verts[:, 0] >= 96) | (verts[:, 1] < 0) | (verts[:, 1] >= 128)
    assert outside.any() and not vis[outside].any()
    assert len(dp) == keep.sum() < n
    # Through the dataset: same tensor shapes, padded dense points.
    ds = MeshPoseDataset(tiny_data / "train", template, scale_jitter=0.3, rotation_deg=30.0)
    aug = ds.get(0, epoch=1, seed=3)
    assert {k: v.shape for k, v in aug.items()} == {k: v.shape for k, v in ds.get(0, augment=False).items()}


def test_training_reduces_the_loss(tiny_data, tmp_path, template):
    import json

    from model.build import create_model
    from model.checkpoint import load_checkpoint
    from model.train.config import get_config
    from model.train.dataset import MeshPoseDataset
    from model.train.loop import compute_losses, loss_constants, train

    torch.set_num_threads(2)
    # Without geometric augmentation: on 8 images it only adds noise to what this test measures.
    cfg = get_config("tiny").with_overrides(max_steps=80, lr=2e-3, save_every=80, log_every=1, scale_jitter=0.0,
                                            rotation_deg=0.0)
    train(cfg, tiny_data, tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    for term in ("joints_2d", "uv_consistency"):
        first = np.mean([r[term] for r in rows[:10]])
        last = np.mean([r[term] for r in rows[-10:]])
        assert last < 0.85 * first, (term, first, last)
    # The whole objective on the 8 training images, unaugmented: the initial weights (train() seeds
    # them with cfg.seed) against the trained ones. Logged step losses are too noisy for this.
    batch = MeshPoseDataset(tiny_data / "train", template).batch(list(range(8)), 0, 0, augment=False)
    consts = loss_constants(template)
    torch.manual_seed(cfg.seed)
    before_net = create_model("tiny", template).train()
    after_net = create_model("tiny", template).train()
    load_checkpoint(after_net, tmp_path / "meshpose_tiny.safetensors", variant="tiny", template=template)
    with torch.no_grad():
        before, bparts = compute_losses(before_net(batch["image"]), batch, consts, cfg, 128)
        after, aparts = compute_losses(after_net(batch["image"]), batch, consts, cfg, 128)
    # 80 steps on 8 images: every term lower, the total by 16% (0.9 leaves room for other CPUs' rounding).
    assert all(aparts[k] < bparts[k] for k in bparts), (bparts, aparts)
    assert float(after) < 0.9 * float(before), (float(before), float(after))


def test_train_step_benchmark_times_both_gradients(tiny_data, tmp_path, capsys):
    from benchmarks.train_step import main

    assert main(["--variant", "tiny", "--data", str(tiny_data / "train"), "--batch-size", "2", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "closed-form  median" in out and "autograd     median" in out and "x faster" in out
    assert "on cpu" in out and "building a batch (one process): median" in out
    assert main(["--variant", "tiny", "--data", str(tmp_path / "none")]) == 2


def test_loss_weight_overrides_are_parsed_and_checked():
    from model.train.config import LossWeights, parse_loss_weights

    w = parse_loss_weights(["heatmap_vertices=0.25", "silhouette=0"])
    assert w.heatmap_vertices == 0.25 and w.silhouette == 0.0 and w.vertices == LossWeights().vertices
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_loss_weights(["no_such_loss=1"])
    with pytest.raises(ValueError, match="not a number"):
        parse_loss_weights(["vertices=big"])


def test_heatmap_vertex_loss_counts_only_visible_vertices(tiny_data, template):
    from model.train.config import LossWeights, get_config
    from model.train.dataset import MeshPoseDataset
    from model.train.loop import compute_losses, loss_constants

    data = MeshPoseDataset(tiny_data / "train", template)
    batch = data.batch([0, 1], 0, 0, augment=False)
    cfg = dataclasses.replace(get_config("tiny"), losses=LossWeights(**{
        k: (1.0 if k == "heatmap_vertices" else 0.0) for k in LossWeights.__dataclass_fields__}))
    consts = loss_constants(template)
    gt = batch["vertices"]
    vis = batch["visibility"] > 0.5
    exact = gt[..., :2].clone()
    exact[~vis] += 50.0  # far off where the vertex is not visible: must not count
    out = {"xy_heatmap": exact}
    total, parts = compute_losses(out, batch, consts, cfg, 256)
    assert parts == {"heatmap_vertices": pytest.approx(0.0, abs=1e-5)}
    out = {"xy_heatmap": gt[..., :2] + torch.tensor([3.0, 4.0])}
    total, parts = compute_losses(out, batch, consts, cfg, 256)
    assert float(total) == pytest.approx(5.0, abs=1e-4)


def test_heatmap_logit_noise_moves_training_vertices_only(template):
    from model.build import create_model

    net = create_model("tiny", template)
    x = torch.rand(2, 3, *net.input_hw) * 255
    with torch.no_grad():
        clean = net.eval()(x)["xy_heatmap"]
        net.train()
        for m in net.modules():  # batch statistics would change the output too: keep the running ones
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
        assert torch.equal(net(x)["xy_heatmap"], clean)  # no noise unless asked for
        net.vertexpose.logit_noise = 0.05
        draws = []
        for _ in range(2):
            net.vertexpose.noise_generator = torch.Generator().manual_seed(7)
            draws.append(net(x)["xy_heatmap"])
        assert torch.equal(draws[0], draws[1])  # the generator decides the noise: resumes stay exact
        assert not torch.allclose(draws[0], clean)
        assert torch.equal(net.eval()(x)["xy_heatmap"], clean)  # the deployed (eval) graph has none


def test_segmentation_refit_moves_only_the_segmentation_head(tiny_data, tmp_path, template):
    """The refit lowers the segmentation loss on its samples and leaves every other tensor bit for bit, so the
    deployed graph (which drops the head) is unchanged; its record is in the checkpoint's metadata."""
    import json

    from model.build import create_model
    from model.checkpoint import load_checkpoint, read_checkpoint_info, save_checkpoint
    from model.cli import InputError
    from model.train.refit_segmentation import main as refit_main

    torch.manual_seed(0)
    src = save_checkpoint(create_model("tiny", template), tmp_path / "src.safetensors", variant="tiny",
                          template=template, trained=True, extra={"step": "7"})
    out = tmp_path / "refit.safetensors"
    assert refit_main(["--ckpt", str(src), "--data", str(tiny_data / "train"), "--out", str(out),
                       "--samples", "6", "--epochs", "20", "--lr", "0.05"]) == 0
    a, b = create_model("tiny", template), create_model("tiny", template)
    load_checkpoint(a, src, variant="tiny", template=template)
    load_checkpoint(b, out, variant="tiny", template=template)
    sa, sb = a.state_dict(), b.state_dict()
    moved = {k for k in sa if not torch.equal(sa[k], sb[k])}
    assert moved == {"vertexpose.segmentation.weight", "vertexpose.segmentation.bias"}
    meta = read_checkpoint_info(out).metadata
    record = json.loads(meta["refit_segmentation"])
    assert record["loss_after"] < record["loss_before"] and meta["step"] == "7"
    with pytest.raises(InputError, match="--samples"):
        refit_main(["--ckpt", str(src), "--out", str(out), "--samples", "0"])
