"""The paper's two ablations (model.eval.ablations) on the smallest data: tables with the baseline
row, one run per loss group that trains only its group's terms, one row per UV decoding strategy."""

import json

import numpy as np
import pytest

from model.train.config import LOSS_GROUPS, LossWeights, loss_group_weights
from tests.conftest import write_rest_body_split


def test_loss_groups_nest_and_zero_the_rest():
    w3d, w2d, wall = (loss_group_weights(g) for g in ("3d", "3d+2d", "all"))
    assert wall == LossWeights()
    assert w3d.barycentric_ce == w3d.visibility == w3d.silhouette == 0.0 and w3d.vertices > 0
    assert w2d.barycentric_ce > 0 and w2d.visibility == 0.0
    assert set(LOSS_GROUPS["3d"]) < set(LOSS_GROUPS["3d+2d"]) < set(LOSS_GROUPS["all"])
    with pytest.raises(KeyError, match="known"):
        loss_group_weights("2d")


@pytest.fixture(scope="module")
def tiny_splits(tmp_path_factory, template):
    root = tmp_path_factory.mktemp("abl")
    write_rest_body_split(root / "train", template, range(8))
    write_rest_body_split(root / "test", template, range(100, 103))
    return root


def test_loss_group_ablation_trains_each_group_and_tabulates(tiny_splits, tmp_path, template):
    from model.eval.ablations import LOSS_COLUMNS, LOSS_ROWS, loss_ablation, table

    report = loss_ablation("tiny", 2, tiny_splits, tmp_path / "runs", "test", None, template, threads=2)
    assert list(report["rows"]) == ["mean-template baseline", *LOSS_ROWS.values()]
    for row in report["rows"].values():
        assert np.isfinite(row["visible_vertex_2d_error_px_median"]) and row["samples"] == 3
    # Each run logged exactly its group's terms (zero-weight terms are not even computed).
    for group in LOSS_ROWS:
        logged = json.loads((tmp_path / "runs" / group / "metrics.jsonl").read_text().splitlines()[-1])
        terms = set(logged) - {"step", "epoch", "lr", "loss"}
        assert terms == set(LOSS_GROUPS[group]), group
    md = table(report["rows"], LOSS_COLUMNS)
    assert md.count("\n") == 1 + len(report["rows"]) and "3D + 2D + visibility" in md
    # A second call finds the finished runs and does not train again.
    mtime = (tmp_path / "runs" / "all" / "metrics.jsonl").stat().st_mtime_ns
    again = loss_ablation("tiny", 2, tiny_splits, tmp_path / "runs", "test", 1, template)
    assert (tmp_path / "runs" / "all" / "metrics.jsonl").stat().st_mtime_ns == mtime
    assert again["rows"]["3D only"]["samples"] == 1


def test_uv_decoding_ablation_rows(tiny_splits, tmp_path, template):
    from model.build import create_model
    from model.checkpoint import save_checkpoint
    from model.eval.ablations import UV_METHODS, main

    ckpt = tmp_path / "tiny.safetensors"
    save_checkpoint(create_model("tiny", template), ckpt, variant="tiny", template=template, trained=False)
    out = tmp_path / "out"
    assert main(["uv", "--variant", "tiny", "--ckpt", str(ckpt), "--data", str(tiny_splits), "--out", str(out)]) == 0
    report = json.loads((out / "uv_decoding.json").read_text())
    ceiling = "ground truth through the charts (ceiling)"
    assert list(report["rows"]) == ["mean-template baseline", ceiling, *UV_METHODS]
    for row in report["rows"].values():
        assert 0 <= row["GPS_AP"] <= 100 and 0 <= row["GPS_mean"] <= 1
    # The template's charts lose little: ground truth comes back through (I, U, V) almost exactly.
    assert report["rows"][ceiling]["GPS_mean"] > 0.95 > report["rows"]["barycentric"]["GPS_mean"]
    assert len((out / "uv_decoding.md").read_text().splitlines()) == 2 + 2 + len(UV_METHODS)
    assert main(["uv", "--variant", "tiny", "--ckpt", str(tmp_path / "missing.safetensors"),
                 "--data", str(tiny_splits), "--out", str(out)]) == 2
