"""Training: a run killed mid-way and resumed ends bit-for-bit where an uninterrupted run ends;
a 2-process gloo DDP smoke run; dataset augmentation."""

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

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, template):
    """8 renders of the template's rest body at the tiny variant's 128x96, in the DensePose-COCO layout."""
    from PIL import Image

    from model.data.generate import sample_record, write_annotations
    from model.data.synthetic import RenderConfig, render_sample

    root = tmp_path_factory.mktemp("data")
    split = root / "train"
    (split / "images").mkdir(parents=True)
    body = template.upsample(template.vertices.astype(np.float64))
    records = []
    for i in range(8):
        s = render_sample(body, template, np.random.default_rng(i), RenderConfig(height=128, width=96))
        Image.fromarray(s["image"]).save(split / "images" / f"{i:06d}.png")
        records.append(sample_record(s, i, f"{i:06d}.png"))
    write_annotations(records, split, "test data")
    return root


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _train_cli(data, out, *extra):
    return [sys.executable, "-m", "model.train", "--variant", "tiny", "--data", str(data), "--out", str(out),
            "--threads", "1", *extra]


def test_killed_run_resumes_bit_for_bit(tiny_data, tmp_path):
    full, broken = tmp_path / "full", tmp_path / "broken"
    subprocess.run(_train_cli(tiny_data, full, "--max-steps", "6", "--save-every", "6"), check=True,
                   env=_env(), capture_output=True)
    proc = subprocess.Popen(_train_cli(tiny_data, broken, "--max-steps", "6", "--save-every", "1"),
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
    subprocess.run(_train_cli(tiny_data, broken, "--max-steps", "6", "--save-every", "6", "--resume"), check=True,
                   env=_env(), capture_output=True)
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
    sym = torch.tensor(np.asarray(template.symmetry))
    assert torch.allclose(flipped["vertices"][:, 0], 96 - plain["vertices"][sym, 0])
    assert torch.equal(flipped["visibility"], plain["visibility"][sym])


def test_training_reduces_the_loss(tiny_data, tmp_path):
    from model.train.config import get_config
    from model.train.loop import train

    torch.set_num_threads(2)
    cfg = get_config("tiny").with_overrides(max_steps=80, lr=2e-3, save_every=80, log_every=1)
    train(cfg, tiny_data, tmp_path)
    import json

    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    for term in ("joints_2d", "uv_consistency", "loss"):
        first = np.mean([r[term] for r in rows[:10]])
        last = np.mean([r[term] for r in rows[-10:]])
        assert last < 0.85 * first, (term, first, last)
