"""`make eval ARTIFACT=...`: an exported artifact evaluated itself, and the benchmark report placing its own
accuracy beside its speed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model.cli import run_main
from tests.conftest import write_rest_body_split


@pytest.fixture(scope="module")
def onnx_tiny(tmp_path_factory):
    from export.cli import main as export_main

    out = tmp_path_factory.mktemp("art")
    assert export_main(["onnx", "--variant", "tiny", "--out", str(out)]) == 0
    return out / "tiny" / "meshpose_tiny.onnx"


def test_an_exported_artifact_gets_its_own_figures_matching_its_network(onnx_tiny, tmp_path, template, monkeypatch):
    from export.contract import artifact_sha256
    from export.evaluate import main
    from model.build import build_deploy_model
    from model.eval.run import evaluate

    data = tmp_path / "d"
    write_rest_body_split(data / "test", template, range(100, 104))
    assert main([str(onnx_tiny), "--data", str(data)]) == 0
    report = json.loads(onnx_tiny.with_name(f"eval_{onnx_tiny.name}.json").read_text())
    assert report["artifact"]["sha256"] == artifact_sha256(onnx_tiny) and report["artifact"]["precision"] == "fp32"
    model = report["results"]["model"]
    assert model["samples"] == 4 and "GPS_AP" not in model and model["mask_iou"] is None  # no dense outputs
    # the fp32 ONNX is the PyTorch deploy graph: the same figures within fp32 noise (the artifact emits vertices
    # about the crop centre and its evaluation adds the contract's origin; this graph emits corner pixels directly)
    deploy = build_deploy_model("tiny", None, vertex_origin="corner").eval()

    def torch_predict(image):
        with torch.no_grad():
            return dict(zip(deploy.output_names, deploy(image)))

    ref = evaluate(torch_predict, data / "test", template, None)["model"]
    assert abs(ref["visible_vertex_2d_error_px_median"] - model["visible_vertex_2d_error_px_median"]) < 1e-3
    assert np.isclose(ref["keypoint_AP"], model["keypoint_AP"], atol=1e-6)


def test_bench_report_places_an_artifact_beside_its_own_evaluation_only(onnx_tiny, tmp_path, monkeypatch):
    import benchmarks.report as report
    from export.contract import artifact_sha256

    monkeypatch.setattr(report, "ARTIFACTS", onnx_tiny.parent.parent)
    monkeypatch.setattr(report, "MIN_EVAL_SAMPLES", 4)
    row = {"artifact": {"variant": "tiny", "file": onnx_tiny.name, "sha256": artifact_sha256(onnx_tiny)},
           "runtime": {"precision": "fp32"}}
    own = onnx_tiny.with_name(f"eval_{onnx_tiny.name}.json")
    own.write_text(json.dumps({"artifact": {"sha256": row["artifact"]["sha256"]}, "results": {"model": {"samples": 4}},
                               "headline": {"name": "keypoint AP (synthetic test)", "value": 12.5}}))
    assert report._eval_of(row) == (12.5, "keypoint AP (synthetic test)", 4)
    stale = {**row, "artifact": {**row["artifact"], "sha256": "another export"}}
    assert report._eval_of(stale) is None  # an evaluation of an earlier file under the same name is not used


def test_artifacts_that_cannot_run_here_are_refused_in_one_line(tmp_path, capsys):
    from export.evaluate import main

    qnn = tmp_path / "meshpose_xs_qnn_SM8650.tflite"
    qnn.write_bytes(b"x")
    qnn.with_name(qnn.name + ".contract.json").write_text(json.dumps(  # a SoC build says so in its contract
        {"variant": "xs", "checkpoint": {}, "target": {"vendor": "qualcomm", "soc": "SM8650"}}))
    assert run_main(lambda: main([str(qnn)])) == 2
    assert "SoC builds run on their NPU" in capsys.readouterr().err
