"""The PyTorch port of the BlazePose person detector: exact rewrites, weight import, parity with the .tflite,
op policy, fetch errors; the full detector export behind -m slow."""

import json

import numpy as np
import pytest
import torch

from model.network.blazepose_detector import BilinearUp2x, BlazePoseDetector, ConvUnit, depth_to_space
from tests.detector_support import detector_files


def test_depth_to_space_is_tensorflows():
    x = torch.randn(1, 4 * 5, 3, 4)
    nhwc = x.permute(0, 2, 3, 1)  # TF DepthToSpace (DCR): out[h*2+i, w*2+j, c] = in[h, w, (i*2+j)*C + c]
    tf = nhwc.reshape(1, 3, 4, 2, 2, 5).permute(0, 1, 3, 2, 4, 5).reshape(1, 6, 8, 5).permute(0, 3, 1, 2)
    assert torch.equal(depth_to_space(x), tf)


def test_bilinear_matmul_is_the_half_pixel_resize():
    x = torch.randn(1, 6, 7, 7)
    ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(BilinearUp2x(7)(x), ref, atol=1e-5, rtol=0)


def test_detector_shapes_and_tflite_order():
    net = BlazePoseDetector().eval()
    with torch.no_grad():
        boxes, logits = net(torch.zeros(1, 3, 224, 224))
    assert boxes.shape == (1, 2254, 12) and logits.shape == (1, 2254, 1)
    units = net.tflite_order()
    assert len(units) == 73 == len({id(u) for u in units})  # 45 convolutions + 28 depthwise, each once
    assert {id(m) for m in net.modules() if isinstance(m, ConvUnit)} == {id(u) for u in units}


def test_import_refuses_a_layer_that_differs():
    from model.tools.blazepose_import import ConvOp, TFLiteImportError, _assign

    unit = ConvUnit(3, 24, 3, 2, relu6=True)
    op = ConvOp(3, "CONV_2D", np.zeros((24, 3, 3, 3), np.float32), np.zeros(24, np.float32), 2, "VALID", 1, "NONE")
    with pytest.raises(TFLiteImportError, match="activation NONE"):
        _assign(unit, op, "stem")
    op.activation, op.explicit_pad = "RELU6", 0
    with pytest.raises(TFLiteImportError, match="pad VALID"):
        _assign(unit, op, "stem")
    op.explicit_pad = 1
    _assign(unit, op, "stem")  # now the same layer
    assert torch.count_nonzero(unit.conv.weight) == 0


def test_fetch_failures_are_one_line(tmp_path, monkeypatch):
    import subprocess

    from model.detector.spec import SOURCE
    from model.tools import detector_fetch as fetch

    class Failed:
        returncode = 1
        stdout = ""
        stderr = "Looking in indexes\nERROR: Could not find a version that satisfies the requirement mediapipe\n"

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(fetch.FetchError, match=r"could not download mediapipe==0\.10\.14") as exc:
        fetch.ensure_wheel(tmp_path)
    assert "\n" not in str(exc.value) and "Could not find a version" in str(exc.value)
    (tmp_path / SOURCE.wheel).write_bytes(b"not the wheel")
    with pytest.raises(fetch.FetchError, match="expected a807328339e7"):
        fetch.ensure_wheel(tmp_path)


def test_weights_loader_refuses_other_files(tmp_path):
    from safetensors.torch import save_file

    from model.checkpoint import CheckpointError
    from model.network.blazepose_detector import load_detector_weights

    with pytest.raises(CheckpointError, match="make detector"):
        load_detector_weights(BlazePoseDetector(), tmp_path / "missing.safetensors")
    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a blazepose-detector-weights"):
        load_detector_weights(BlazePoseDetector(), tmp_path / "other.safetensors")


def test_port_matches_the_tflite_on_real_and_synthetic_inputs():
    from ai_edge_litert.interpreter import Interpreter

    from export.detector.session import golden_detector_inputs
    from model.detector.build import build_detector
    from model.pipeline.detector import scores

    tflite, weights = detector_files()
    model = build_detector(weights)
    interp = Interpreter(model_path=str(tflite), num_threads=2)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]["index"]
    out = {d["name"]: d["index"] for d in interp.get_output_details()}
    for name, x in zip(*golden_detector_inputs()):
        interp.set_tensor(inp, (x.transpose(0, 2, 3, 1) / 127.5 - 1.0).astype(np.float32))  # the original's [-1, 1]
        interp.invoke()
        ref_boxes, ref_logits = interp.get_tensor(out["Identity"])[0], interp.get_tensor(out["Identity_1"])[0, :, 0]
        with torch.no_grad():
            boxes, logits = (t[0].numpy() for t in model(torch.from_numpy(x)))
        err, lerr = np.abs(boxes - ref_boxes), np.abs(logits[:, 0] - ref_logits)
        cand = scores(ref_logits) >= 0.1
        # measured: all anchors <= 1.6e-3 px (<= 6.3e-6 of the output range), candidates <= 2.9e-4 px;
        # logits <= 5.5e-4, candidates' <= 7.2e-6
        assert err.max() <= 5e-3 and err.max() <= 2e-5 * np.abs(ref_boxes).max(), name
        assert err[cand].max(initial=0.0) <= 1e-3 and lerr.max() <= 2e-3 and lerr[cand].max(initial=0.0) <= 1e-4, name


def test_detector_deploy_graph_obeys_the_op_policy():
    from export.op_policy import check_module
    from model.detector.build import build_detector

    _, weights = detector_files()
    for kw in ({}, {"normalize_in_graph": False}):  # the TFLite/ONNX graph and the Core ML one
        model = build_detector(weights, **kw)
        assert check_module(model, model.example_input()) == [], kw


def test_detector_contract_validates():
    from export.contract import ContractError
    from export.detector.contract import anchors_payload, build_detector_contract, validate_detector_contract
    from model.detector.build import build_detector

    _, weights = detector_files()
    contract = build_detector_contract(build_detector(weights), fmt="tflite", artifact="x.tflite", precision="fp32",
                                       nhwc=True)
    assert contract["input"]["shape"] == [1, 224, 224, 3] and contract["anchors"]["count"] == 2254
    assert anchors_payload()["count"] == 2254
    contract["outputs"][1]["shape"] = [1, 100, 1]
    with pytest.raises(ContractError, match="2254 anchors"):
        validate_detector_contract(contract)


def test_detector_report_keeps_earlier_rows_of_the_same_weights_only():
    from export.detector.cli import merge_old_detector_report
    from export.detector.parity import DetectorParity

    def row(path: str, weights: str | None) -> DetectorParity:
        return DetectorParity(path, "fp32", 3, 0.0, 0.0, 0.0, 0.0, 1, 1, 0.0, 0.0, "fp32", True,
                              provenance=None if weights is None else {"weights_sha256": weights, "tools": {}})

    w, other = "a" * 64, "b" * 64
    old = {"weights_sha256": w, "checks": {"old check": "pass"},
           "paths": [row("tflite-xnnpack", w).to_dict(), row("coreml-fp16-numpy-sim", other).to_dict(),
                     row("tflite-gpu-fp16", None).to_dict(), row("onnxruntime-cpu", w).to_dict()]}
    paths, checks = merge_old_detector_report(old, w, [row("onnxruntime-cpu", w)], {"new check": "pass"})
    assert sorted(paths) == ["onnxruntime-cpu", "tflite-xnnpack"]  # other weights and no provenance dropped
    assert checks == {"old check": "pass", "new check": "pass"}
    paths, checks = merge_old_detector_report({**old, "weights_sha256": other}, w, [], {})
    assert checks == {}  # the old report's checks were of other weights
    assert merge_old_detector_report(old, None, [], {}) == ({}, {})  # unknown weights: nothing old is trusted


@pytest.mark.slow
def test_detector_export_all_formats(tmp_path):
    from export.detector.cli import main
    from export.detector.contract import validate_detector_contract

    _, weights = detector_files()
    assert main(["all", "--weights", str(weights), "--out", str(tmp_path)]) == 0
    out = tmp_path / "detector"
    report = json.loads((out / "parity.json").read_text())
    assert {r["path"] for r in report["paths"]} >= {"onnxruntime-cpu", "tflite-xnnpack", "coreml-fp16-numpy-sim",
                                                    "tflite-gpu-fp16 (lavapipe, functional)"}
    assert all(r["passed"] for r in report["paths"] if r["passed"] is not None)
    assert all(r["provenance"]["weights_sha256"] == report["weights_sha256"] for r in report["paths"])
    for artifact in ("blazepose_detector.onnx", "blazepose_detector.tflite", "blazepose_detector.mlpackage"):
        assert (out / artifact).exists()
        validate_detector_contract(json.loads((out / f"{artifact}.contract.json").read_text()))
    assert "Apache License" in (out / "LICENSE.mediapipe").read_text()
