"""Shared fixtures: the shipped template and small deploy models, built once per session."""

import pytest
import torch


@pytest.fixture(scope="session")
def template():
    from model.template import load_template

    return load_template()


@pytest.fixture(scope="session")
def tiny_deploy(template):
    from model.build import build_deploy_model

    return build_deploy_model("tiny", template=template)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, template):
    """A 6-render training split of the template's rest body at the tiny variant's size (tests/test_train.py
    has its own, of 8)."""
    root = tmp_path_factory.mktemp("data")
    write_rest_body_split(root / "train", template, range(6))
    return root


def train_two_steps(data, out, **weights) -> list[dict]:
    """Two training steps of `tiny` (batch 2) on `data` with these loss weights changed; the logged metrics rows."""
    import dataclasses
    import json

    from model.train.config import get_config
    from model.train.loop import train

    cfg = get_config("tiny").with_overrides(max_steps=2, save_every=2, log_every=1, batch_size=2)
    train(dataclasses.replace(cfg, losses=dataclasses.replace(cfg.losses, **weights)), data, out)
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # Two threads like the CI machine; keeps timings and reductions comparable across runs.
    torch.set_num_threads(2)


def write_rest_body_split(split_dir, template, seeds) -> None:
    """Renders of the template's rest body at the tiny variant's 128x96 (one per seed), written as a
    DensePose-COCO split: the smallest real training/evaluation data."""
    import numpy as np
    from PIL import Image

    from model.data.generate import sample_record, write_annotations
    from model.data.synthetic import RenderConfig, render_sample

    (split_dir / "images").mkdir(parents=True)
    body = template.upsample(template.vertices.astype(np.float64))
    records = []
    for i, seed in enumerate(seeds):
        s = render_sample(body, template, np.random.default_rng(seed), RenderConfig(height=128, width=96))
        Image.fromarray(s["image"]).save(split_dir / "images" / f"{i:06d}.png")
        records.append(sample_record(s, i, f"{i:06d}.png"))
    write_annotations(records, split_dir, split_dir.name)
