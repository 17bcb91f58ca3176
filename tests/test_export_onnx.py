"""ONNX exporter on the tiny variant: dynamo export, onnx.checker, contract names, ORT parity."""

import numpy as np
import pytest
import torch

from export.onnx.convert import export_onnx, run_onnxruntime

NAMES = ("vertices", "visibility", "joints")


@pytest.fixture(scope="module")
def onnx_path(tiny_deploy, tmp_path_factory):
    example = torch.rand(tiny_deploy.input_shape) * 255
    return export_onnx(tiny_deploy, example, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def test_checker_passes_and_names_match_contract(onnx_path, tiny_deploy):
    import onnx

    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["image"]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert tuple(dims) == tuple(tiny_deploy.input_shape)
    assert [o.name for o in model.graph.output] == list(NAMES)


def test_onnxruntime_matches_pytorch(onnx_path, tiny_deploy):
    image = (np.random.default_rng(3).random(tiny_deploy.input_shape) * 255).astype(np.float32)
    with torch.no_grad():
        ref = dict(zip(NAMES, (t.numpy() for t in tiny_deploy(torch.from_numpy(image)))))
    got = run_onnxruntime(onnx_path, {"image": image})
    assert set(got) == set(NAMES)
    for name in NAMES:
        assert got[name].shape == ref[name].shape, name
        err = np.abs(got[name] - ref[name]).max() / max(np.abs(ref[name]).max(), 1e-6)
        assert err <= 1e-4, f"{name}: relative error {err:.2e}"


def test_missing_input_is_a_clear_error(onnx_path):
    with pytest.raises(ValueError, match="image"):
        run_onnxruntime(onnx_path, {"img": np.zeros((1, 3, 128, 96), np.float32)})
