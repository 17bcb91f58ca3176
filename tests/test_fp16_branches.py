"""`python -m export.fp16_branches`: the branch graph is the deployed network's, the split names the branch
that moved, and the tool runs end to end on the LiteRT GPU accelerator."""

import numpy as np
import pytest
import torch

from export.fp16_branches import BranchOutputs, measure_branches, regression_from_heatmap_xy, split_input


def branches(v: int = 3) -> dict[str, np.ndarray]:
    """fp32 branch outputs of v vertices: heatmap at (10 i, 0), regression 10 px to its right, all visible."""
    h = np.stack([10.0 * np.arange(v), np.zeros(v)], axis=-1)[None]
    r = np.concatenate([h + [10.0, 0.0], np.zeros((1, v, 1))], axis=-1)
    w = np.full((1, v), 0.5)
    fused = r[..., :2] + w[..., None] * (h - r[..., :2])
    return {"xy_heatmap": h, "xyz_regressed": r, "visibility": np.full((1, v), 0.9), "heatmap_weight": w,
            "vertices": np.concatenate([fused, np.zeros((1, v, 1))], axis=-1)}


def moved(ref: dict[str, np.ndarray], vertex: int, *, heatmap=0.0, regression=0.0, weight=0.0) -> dict:
    """`ref` with one vertex's heatmap x, regression x or weight moved, and the fused vertex moved to match."""
    out = {k: v.copy() for k, v in ref.items()}
    out["xy_heatmap"][0, vertex, 0] += heatmap
    out["xyz_regressed"][0, vertex, 0] += regression
    out["heatmap_weight"][0, vertex] += weight
    h, r, w = out["xy_heatmap"][0, vertex], out["xyz_regressed"][0, vertex, :2], out["heatmap_weight"][0, vertex]
    out["vertices"][0, vertex, :2] = r + w * (h - r)
    return out


def test_split_names_the_branch_that_moved_the_worst_vertex():
    ref = branches()
    row = split_input("a", ref, moved(ref, 1, heatmap=2.0), None)
    assert (row["vertex"], row["dominant"]) == (1, "heatmap")
    assert row["max_px"] == pytest.approx(1.0) and row["heatmap_part_px"] == pytest.approx(1.0)
    assert row["regression_part_px"] == 0 and row["weight_part_px"] == 0
    row = split_input("b", ref, moved(ref, 2, weight=0.1), None)
    assert (row["vertex"], row["dominant"]) == (2, "weight")
    assert row["weight_part_px"] == pytest.approx(1.0) and row["max_px"] == pytest.approx(1.0)  # 0.1 of 10 px
    row = split_input("c", ref, moved(ref, 0, regression=3.0), None)
    assert (row["vertex"], row["dominant"]) == (0, "regression")
    assert row["regression_part_px"] == pytest.approx(1.5) and row["regression_max_px"] == pytest.approx(3.0)
    hidden = {**ref, "visibility": np.zeros((1, 3))}
    assert split_input("d", hidden, moved(hidden, 0, heatmap=5.0), None) == {"input": "d", "visible": 0,
                                                                            "max_px": 0.0}


def test_without_a_trust_head_the_weight_is_the_visibility():
    ref = branches()
    gpu = moved(ref, 1, weight=0.1)  # 0.1 of the 10 px between the branches
    gpu["visibility"] = ref["visibility"] + gpu["heatmap_weight"] - ref["heatmap_weight"]
    del ref["heatmap_weight"], gpu["heatmap_weight"]
    row = split_input("a", ref, gpu, None)
    assert (row["vertex"], row["dominant"]) == (1, "weight") and row["weight_part_px"] == pytest.approx(1.0)


def test_branch_graph_is_the_deployed_network(tiny_deploy):
    """Same vertices and visibility as the deployed graph, positions about the crop centre; the lift fed its own
    heatmap positions gives its own regression back (the frames of the via-xy run are right)."""
    model = BranchOutputs(tiny_deploy).eval()
    assert "heatmap_weight" not in model.output_names  # tiny has no trust head
    x = torch.rand(tiny_deploy.input_shape) * 255
    with torch.no_grad():
        got = dict(zip(model.output_names, model(x), strict=True))
        want = dict(zip(tiny_deploy.output_names, tiny_deploy(x), strict=True))
    assert torch.allclose(got["vertices"], want["vertices"], atol=1e-4)
    assert torch.equal(got["visibility"], want["visibility"])
    assert got["xy_heatmap"].abs().max() <= max(tiny_deploy.net.input_hw)  # about the centre, not the corner
    again = regression_from_heatmap_xy(tiny_deploy.net, x.numpy(), got["xy_heatmap"][0].numpy())
    assert again is not None
    np.testing.assert_allclose(again, got["xyz_regressed"][0, :, :2].numpy(), atol=1e-3)
    # With a mask, only the masked vertices' positions are the given ones: none masked, the lift's own answer.
    shifted = got["xy_heatmap"][0].numpy() + 20.0
    v = shifted.shape[0]
    none = regression_from_heatmap_xy(tiny_deploy.net, x.numpy(), shifted, only=np.zeros(v, bool))
    np.testing.assert_allclose(none, got["xyz_regressed"][0, :, :2].numpy(), atol=1e-3)
    every = regression_from_heatmap_xy(tiny_deploy.net, x.numpy(), shifted, only=np.ones(v, bool))
    np.testing.assert_allclose(every, regression_from_heatmap_xy(tiny_deploy.net, x.numpy(), shifted), atol=1e-6)
    assert np.abs(every - none).max() > 1e-3  # the tiny lift does read them


def test_tool_runs_on_the_gpu_and_reports_every_input():
    result = measure_branches("tiny", None, None, 0, golden=2)
    golden = result["sets"]["golden"]
    assert [r["input"] for r in golden["inputs"]] == ["rest_0", "posed_0"]
    assert golden["summary"]["inputs"] == 2
    over = golden["summary"]["inputs_over_gate"]
    assert sum(golden["summary"]["dominant_over_gate"].values()) == over
    assert all(row["visible"] for row in golden["inputs"])  # the untrained tiny calls about half visible
    for row in golden["inputs"]:
        assert row["max_px"] >= 0 and row["dominant"] in ("heatmap", "regression", "weight")
        assert row["regression_via_xy_max_px"] >= 0 and 0 <= row["regression_median_px"] <= row["regression_max_px"]
        assert row["regression_via_left_out_xy_max_px"] >= 0
    assert golden["summary"]["regression_via_xy_max_px"] == max(r["regression_via_xy_max_px"] for r in golden["inputs"])


def test_tool_runs_on_the_gpu_with_fp32_accumulation():
    result = measure_branches("tiny", None, None, 0, golden=1, path="gpu-fp32acc")
    (row,) = result["sets"]["golden"]["inputs"]
    assert result["path"] == "gpu-fp32acc" and row["input"] == "rest_0" and row["max_px"] >= 0, row
    assert row["dominant"] in ("heatmap", "regression", "weight")


def test_tool_runs_on_the_htp_simulator():
    result = measure_branches("tiny", None, None, 0, golden=1, path="qnn")
    assert result["path"] == "qnn"
    (row,) = result["sets"]["golden"]["inputs"]
    assert row["input"] == "rest_0" and row["max_px"] >= 0 and row["dominant"] in ("heatmap", "regression", "weight")
    with pytest.raises(ValueError, match="unknown path"):
        measure_branches("tiny", None, None, 0, golden=1, path="npu")


def test_the_via_xy_run_gives_a_trust_reading_lift_its_trust(template, tmp_path):
    """A lift that reads trust-scaled positions, fed its own heatmap positions, returns its own regression."""
    from model.build import build_deploy_model
    from model.checkpoint import save_checkpoint
    from tests.test_lift_reading import _tiny_with_trust

    path = save_checkpoint(_tiny_with_trust(template, "trust"), tmp_path / "t.safetensors", variant="tiny",
                           template=template, trained=True)
    deploy = build_deploy_model("tiny", str(path), template=template)
    model = BranchOutputs(deploy).eval()
    x = torch.rand(deploy.input_shape, generator=torch.Generator().manual_seed(3)) * 255
    with torch.no_grad():
        got = dict(zip(model.output_names, model(x), strict=True))
    again = regression_from_heatmap_xy(deploy.net, x.numpy(), got["xy_heatmap"][0].numpy())
    np.testing.assert_allclose(again, got["xyz_regressed"][0, :, :2].numpy(), atol=1e-3)
