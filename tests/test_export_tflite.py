"""TFLite/LiteRT exporter API on the tiny variant: signatures, XNNPACK parity per precision,
and both GPU gates (analyzer + CompiledModel on lavapipe) passing on the model and failing on
ops the delegate does not take."""

import numpy as np
import pytest
import torch

from export.tflite import (
    GpuRefused,
    GpuRunResult,
    analyze_gpu_compat,
    compile_gpu,
    convert_tflite,
    run_gpu,
    run_xnnpack,
)

NAMES = ("vertices", "visibility", "joints")


def _image(model: torch.nn.Module, seed: int) -> np.ndarray:
    # Deterministic RGB noise in [0, 255], the deploy graph's input range.
    rng = np.random.default_rng(seed)
    return (rng.random(model.input_shape) * 255).astype(np.float32)


def _reference(model: torch.nn.Module, image: np.ndarray) -> dict[str, np.ndarray]:
    with torch.no_grad():
        out = model(torch.from_numpy(image))
    return {n: t.numpy() for n, t in zip(NAMES, out)}


def _rel_err(a: np.ndarray, b: np.ndarray, scale: float | None = None) -> float:
    """Largest difference relative to `scale`, or to the reference's largest magnitude."""
    return float(np.abs(a - b).max() / (scale or max(np.abs(b).max(), 1e-6)))


def _scale(model, name: str) -> float | None:
    """Coordinates are emitted about the crop centre (values near 0): relative to half the crop's height,
    the magnitude of crop-pixel coordinates; other outputs relative to their own magnitude."""
    return model.net.input_hw[0] / 2 if name in ("vertices", "joints") else None


@pytest.fixture(scope="module")
def tflite_models(tiny_deploy, tmp_path_factory):
    out = tmp_path_factory.mktemp("tflite")
    example = torch.from_numpy(_image(tiny_deploy, 0))
    calibration = [_image(tiny_deploy, s) for s in range(1, 5)]
    return {
        p: convert_tflite(tiny_deploy, example, out / f"tiny_{p}.tflite", precision=p,
                          calibration=calibration if p == "int8" else None)
        for p in ("fp32", "fp16", "int8")
    }


def test_signature_names_and_shapes(tflite_models, tiny_deploy):
    from ai_edge_litert.interpreter import Interpreter

    ref = _reference(tiny_deploy, _image(tiny_deploy, 7))
    for path in tflite_models.values():
        runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
        inputs = runner.get_input_details()
        outputs = runner.get_output_details()
        assert list(inputs) == ["image"]
        assert tuple(inputs["image"]["shape"]) == tuple(tiny_deploy.input_shape)
        assert sorted(outputs) == sorted(NAMES)
        for name in NAMES:
            assert tuple(outputs[name]["shape"]) == ref[name].shape, name


def test_fp16_weights_halve_the_file(tflite_models):
    fp32, fp16 = (tflite_models[p].stat().st_size for p in ("fp32", "fp16"))
    assert fp16 < 0.7 * fp32


def test_xnnpack_matches_pytorch_per_precision(tflite_models, tiny_deploy):
    image = _image(tiny_deploy, 11)
    ref = _reference(tiny_deploy, image)
    # fp32 is the same arithmetic; fp16 weights round to ~1e-3; int8 is only reported, so it
    # gets a loose bound that still catches a broken graph (wrong scale, swapped outputs).
    bounds = {"fp32": 1e-4, "fp16": 1e-2, "int8": 0.25}
    for precision, path in tflite_models.items():
        got = run_xnnpack(path, {"image": image})
        assert set(got) == set(NAMES)
        for name in NAMES:
            assert got[name].dtype == np.float32
            err = _rel_err(got[name], ref[name], _scale(tiny_deploy, name))
            assert err <= bounds[precision], f"{precision}/{name}: relative error {err:.2e}"


def test_int8_needs_calibration(tiny_deploy, tmp_path):
    example = torch.from_numpy(_image(tiny_deploy, 0))
    with pytest.raises(ValueError, match="calibration"):
        convert_tflite(tiny_deploy, example, tmp_path / "q.tflite", precision="int8")
    with pytest.raises(ValueError, match="calibration got no samples"):
        convert_tflite(tiny_deploy, example, tmp_path / "q.tflite", precision="int8", calibration=[])
    with pytest.raises(ValueError, match="unknown TFLite precision"):
        convert_tflite(tiny_deploy, example, tmp_path / "q.tflite", precision="bf16")
    assert not list(tmp_path.iterdir()), "a failed conversion must leave no file behind"


def test_gpu_gates_pass_and_gpu_outputs_close(tflite_models, tiny_deploy):
    path = tflite_models["fp32"]
    report = analyze_gpu_compat(path)
    assert report.ok, report.incompatible or report.raw[-2000:]
    image = _image(tiny_deploy, 13)
    result = run_gpu(path, {"image": image})
    assert isinstance(result, GpuRunResult) and result.fully_accelerated
    ref = _reference(tiny_deploy, image)
    # lavapipe computes in fp16 like a phone GPU: close, not equal.
    for name in NAMES:
        assert _rel_err(result.outputs[name], ref[name], _scale(tiny_deploy, name)) < 2e-2, name


class _ArgmaxGather(torch.nn.Module):
    """Argmax + gather: ops the LiteRT GPU delegate refuses."""

    input_name = "image"  # converters read the tensor names from the module, like a DeployModel's
    output_names = ("vertices", "visibility", "joints")

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        flat = image.reshape(1, 3, -1)
        idx = flat.argmax(dim=-1, keepdim=True)
        v = torch.gather(flat, 2, idx)
        # Same three outputs as the deploy model so the exporter's signature wrapper applies.
        return v.reshape(1, 1, 3), v.reshape(1, 3), v.reshape(1, 1, 3)


def test_gpu_gates_fail_on_argmax_gather(tmp_path):
    x = torch.rand(1, 3, 8, 8)
    path = convert_tflite(_ArgmaxGather(), x, tmp_path / "bad.tflite")
    report = analyze_gpu_compat(path)
    assert not report.ok and report.incompatible
    assert any("ARG_MAX" in line or "GATHER" in line for line in report.incompatible), report.incompatible
    assert run_gpu(path, {"image": x.numpy()}).fully_accelerated is False
    with pytest.raises(GpuRefused, match=r"bad\.tflite"):
        compile_gpu(path, "fp16-fp32acc")


class _GateSession:
    """What the export's GPU gate reads of an ExportSession: the gated precision, the checks, parity rows."""

    def __init__(self, gpu_precision: str, inputs: list[np.ndarray]) -> None:
        self.gpu_precision, self.inputs, self.checks, self.rows = gpu_precision, inputs, {}, {}

    def parity(self, path, arithmetic, run, nhwc=False, gated=True):
        self.rows[path] = (arithmetic, gated, [run(x) for x in self.inputs])


def test_export_gpu_gate_compiles_each_precision_once_and_gates_one(tflite_models, tiny_deploy, monkeypatch):
    import export.tflite as tfl
    from export.tflite.pipeline import _gpu_gate

    compiled = []
    real = tfl.compile_gpu
    monkeypatch.setattr(tfl, "compile_gpu", lambda path, precision: compiled.append(precision) or real(path, precision))
    inputs = [_image(tiny_deploy, s) for s in (1, 2)]
    session = _GateSession("fp16", inputs)
    _gpu_gate(session, tflite_models["fp32"], "m.tflite", "image", nhwc=False)
    assert compiled == ["fp16", "fp16-fp32acc"]
    assert session.checks == {"m.tflite CompiledModel GPU (software Vulkan)": "pass: fully accelerated (fp16)"}
    arithmetic, gated, outs = session.rows["tflite-gpu-fp16 (lavapipe, functional)"]
    assert (arithmetic, gated) == ("fp16", True)
    assert session.rows["tflite-gpu-fp16-fp32acc (lavapipe, functional)"][:2] == ("fp16", False)
    for x, out in zip(inputs, outs):  # the compiled model's outputs are a fresh run's
        fresh = run_gpu(tflite_models["fp32"], {"image": x}).outputs
        assert all(np.array_equal(out[n], fresh[n]) for n in NAMES)


def test_export_gpu_gate_fails_the_export_when_the_gpu_refuses_the_graph(tmp_path):
    from export.session import ExportError
    from export.tflite.pipeline import _gpu_gate

    x = torch.rand(1, 3, 8, 8)
    path = convert_tflite(_ArgmaxGather(), x, tmp_path / "bad.tflite")
    session = _GateSession("fp16-fp32acc", [x.numpy()])
    with pytest.raises(ExportError, match="not fully accelerated"):
        _gpu_gate(session, path, "bad.tflite", "image", nhwc=False)
    assert session.checks["bad.tflite CompiledModel GPU (software Vulkan)"].startswith("FAIL"), session.checks
    assert session.rows == {}


def test_missing_vulkan_device_is_a_clear_error(tflite_models, tiny_deploy, tmp_path, monkeypatch):
    import export.tflite.gpu as gpu

    monkeypatch.setattr(gpu, "ICD_DIR", tmp_path)  # an empty ICD directory: no lavapipe
    monkeypatch.setattr(gpu.shutil, "which", lambda name: None)
    with pytest.raises(gpu.GpuUnavailable, match="make system-gpu"):
        run_gpu(tflite_models["fp32"], {"image": _image(tiny_deploy, 0)})
