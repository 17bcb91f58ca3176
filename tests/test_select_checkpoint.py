"""`python -m export.select_checkpoint`: a run's kept files in step order, the verdict's two conditions, and the
whole measurement on `tiny` checkpoints (accuracy and the LiteRT GPU rows, one table)."""

import json

import pytest
import torch

from export.select_checkpoint import ACCURACY_NOISE, main, run_checkpoints, verdict
from model.cli import InputError
from tests.conftest import write_rest_body_split


def row(gpu_max: tuple[float, float], **accuracy) -> dict:
    acc = {"visible_vertex_2d_error_px_median": 3.0, "pa_mpjpe_mm": 62.0, "keypoint_AP": 65.0, "GPSm_AP": 72.0}
    return {"accuracy": {**acc, **accuracy},
            "gpu": {"golden": {"max_px": gpu_max[0]}, "test": {"max_px": gpu_max[1]}}}


def test_verdict_needs_the_gpu_gate_on_every_set_and_accuracy_within_noise():
    ref = row((0.9, 1.2))
    assert verdict(row((0.4, 0.5)), ref) == {"fp16_within_gate": True, "accuracy_worse": [], "candidate": True}
    assert not verdict(row((0.4, 0.51)), ref)["candidate"]  # one set over the gate is enough to fail
    worse_2d = 3.0 + ACCURACY_NOISE["visible_vertex_2d_error_px_median"] + 0.01
    assert verdict(row((0.4, 0.4), visible_vertex_2d_error_px_median=worse_2d), ref)["accuracy_worse"] == ["2D px"]
    assert verdict(row((0.4, 0.4), keypoint_AP=65.0 - ACCURACY_NOISE["keypoint_AP"] - 0.1), ref)["accuracy_worse"] \
        == ["kp AP"]
    # Within noise, or better, is not worse.
    near = row((0.4, 0.4), pa_mpjpe_mm=62.4, GPSm_AP=71.0, keypoint_AP=70.0, visible_vertex_2d_error_px_median=2.5)
    assert verdict(near, ref)["candidate"]
    # Every measured fp16 path counts: the HTP simulator's rows as well as the GPU's.
    assert not verdict({**near, "qnn": {"golden": {"max_px": 0.53}, "test": {"max_px": 0.4}}}, ref)["candidate"]
    assert verdict({**near, "qnn": {"golden": {"max_px": 0.41}, "test": {"max_px": 0.4}}}, ref)["candidate"]
    assert not verdict({**near, "gpu-fp32acc": {"golden": {"max_px": 0.71}, "test": {"max_px": 0.4}}}, ref)["candidate"]


def test_a_run_folder_gives_its_kept_steps_in_order_and_a_last_file_that_differs(tmp_path):
    for step, data in ((1200, b"b"), (600, b"a"), (3000, b"c")):
        (tmp_path / f"step{step}.safetensors").write_bytes(data)
    (tmp_path / "meshpose_xs.safetensors").write_bytes(b"c")  # the last kept step: listed once
    assert [p.name for p in run_checkpoints(tmp_path)] == ["step600.safetensors", "step1200.safetensors",
                                                           "step3000.safetensors"]
    (tmp_path / "meshpose_xs.safetensors").write_bytes(b"d")  # saved after the last kept step
    assert run_checkpoints(tmp_path)[-1].name == "meshpose_xs.safetensors"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no"):
        run_checkpoints(empty)
    with pytest.raises(InputError, match="is not a folder"):
        run_checkpoints(tmp_path / "step600.safetensors")


def _split_and_checkpoints(tmp_path, template, renders: int, seeds: tuple[int, ...]):
    """A `renders`-sample validation split of the rest body and one untrained `tiny` checkpoint per seed."""
    from model.build import create_model
    from model.checkpoint import save_checkpoint

    data = tmp_path / "d"
    write_rest_body_split(data / "val", template, range(100, 100 + renders))
    files = []
    for seed in seeds:
        torch.manual_seed(seed)
        files.append(save_checkpoint(create_model("tiny", template), tmp_path / f"s{seed}.safetensors",
                                     variant="tiny", template=template, trained=False))
    return data, files


def test_measures_accuracy_and_the_gpu_of_each_file_beside_the_reference(tmp_path, template, capsys):
    data, files = _split_and_checkpoints(tmp_path, template, renders=3, seeds=(0, 1))
    out = tmp_path / "select.json"
    assert main([str(files[0]), str(files[1]), "--variant", "tiny", "--reference", str(files[0]), "--data", str(data),
                 "--count", "3", "--golden", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["checkpoint"] for r in report["checkpoints"]] == [str(f) for f in files]
    same = report["checkpoints"][0]
    assert same["accuracy"] == report["reference"]["accuracy"]  # the reference measured as itself
    assert same["accuracy_worse"] == []
    for r in report["checkpoints"]:
        assert r["gpu"]["golden"]["inputs"] == 2 and r["gpu"]["test"]["inputs"] == 3
        assert r["candidate"] == (r["fp16_within_gate"] and not r["accuracy_worse"])
        assert 0 <= r["accuracy"]["spread_heatmap_share"] <= 1
    printed = capsys.readouterr().out
    assert "| s0.safetensors |" in printed and "| reference |" in printed and "candidates:" in printed
    assert f"| {files[0]} |" in printed  # the reference row names its whole path
    assert report["paths"] == ["gpu"] and "qnn" not in report["reference"]


def test_gates_on_the_htp_simulator_when_asked(tmp_path, template, capsys):
    data, (ckpt,) = _split_and_checkpoints(tmp_path, template, renders=1, seeds=(0,))
    out = tmp_path / "select.json"
    assert main([str(ckpt), "--variant", "tiny", "--reference", str(ckpt), "--data", str(data), "--count", "1",
                 "--golden", "1", "--paths", "gpu,qnn", "--json", str(out)]) == 0
    (r,) = json.loads(out.read_text())["checkpoints"]
    assert r["qnn"]["golden"]["inputs"] == 1 and r["qnn"]["test"]["inputs"] == 1 and r["gpu"]["test"]["inputs"] == 1
    assert r["fp16_within_gate"] == all(s["max_px"] <= 0.5 for p in ("gpu", "qnn") for s in r[p].values())
    assert "QNN golden max (over)" in capsys.readouterr().out
    with pytest.raises(InputError, match="--paths"):
        main([str(ckpt), "--variant", "tiny", "--reference", str(ckpt), "--data", str(data), "--paths", "gpu,npu"])


def test_refuses_a_split_that_is_not_rendered_and_a_missing_file(tmp_path):
    ckpt = tmp_path / "a.safetensors"
    ckpt.write_bytes(b"x")
    with pytest.raises(InputError, match="not a rendered split"):
        main([str(ckpt), "--reference", str(ckpt), "--data", str(tmp_path)])
    with pytest.raises(InputError, match="no such checkpoint"):
        main([str(tmp_path / "missing.safetensors"), "--data", str(tmp_path)])
    with pytest.raises(InputError, match="no shipped checkpoint"):
        main([str(ckpt), "--variant", "tiny", "--data", str(tmp_path)])
