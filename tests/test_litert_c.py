"""The LiteRT C API runner (`export.tflite.litert_c`): the same bits as the Python API where both can run,
and the fp32-accumulation precision reaching the GPU accelerator (lavapipe here)."""

import numpy as np
import pytest
import torch

from export.tflite import compile_gpu, convert_tflite, run_gpu
from export.tflite.convert import SIGNATURE
from export.tflite.litert_c import GPU_PRECISIONS, GpuModel


def _python_api_run(path, x: np.ndarray, precision: str) -> np.ndarray:
    """One run through the wheel's Python API (`CompiledModel`, which has fp16 and fp32 but no fp32
    accumulation): the reference the C API runner must match bit for bit."""
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator
    from ai_edge_litert.options import GpuOptions, Options

    options = Options(hardware_accelerators=HardwareAccelerator.GPU,
                      gpu_options=GpuOptions(enforce_f32=precision == "fp32"))
    model = CompiledModel.from_file(str(path), options=options)
    assert model.is_fully_accelerated()
    index = model.get_signature_index(SIGNATURE)
    inputs, outputs = model.create_input_buffers(index), model.create_output_buffers(index)
    inputs[0].write(np.ascontiguousarray(x, dtype=np.float32))
    model.run_by_index(index, inputs, outputs)
    shape = tuple(model.get_output_tensor_details(SIGNATURE)["total"]["shape"])
    return outputs[0].read(int(np.prod(shape)), np.float32).reshape(shape)


class _LongSum(torch.nn.Module):
    """A 1x1 convolution summing 1,024 small positive terms per output: fp16 accumulation rounds every
    addition to the running sum's spacing (2^-13 near 0.25, the size of a term), fp32 accumulation does not."""

    input_name = "image"
    output_names = ("total",)

    def __init__(self, channels: int = 1024) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, 4, 1, bias=False)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.conv.weight.copy_(torch.rand(4, channels, 1, 1, generator=generator) / channels)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor]:
        return (self.conv(image),)


@pytest.fixture(scope="module")
def long_sum(tmp_path_factory):
    model = _LongSum().eval()
    x = torch.ones(1, 1024, 2, 2)
    with torch.no_grad():
        reference = model.double()(x.double())[0].numpy()
    model.float()
    return convert_tflite(model, x, tmp_path_factory.mktemp("litert_c") / "sum.tflite"), x.numpy(), reference


def test_c_api_fp16_and_fp32_runs_give_the_python_api_bits(long_sum):
    path, x, _ = long_sum
    for precision in ("fp16", "fp32"):
        model = GpuModel(path, precision)
        assert model.fully_accelerated and [n for n, _, _ in model.inputs] == ["image"]
        ours = model.run({"image": x})["total"]
        theirs = _python_api_run(path, x, precision)
        assert ours.shape == theirs.shape == (1, 4, 2, 2)
        np.testing.assert_array_equal(ours, theirs)
        model.close()


def test_fp32_accumulation_reaches_the_gpu(long_sum):
    # Measured on lavapipe: fp16 0.00046, fp16-fp32acc 0.000065 (under the 0.00024 of storing 0.5 in fp16),
    # fp32 3e-8. An option the accelerator ignored would give the fp16 figure.
    path, x, reference = long_sum
    error = {p: float(np.abs(run_gpu(path, {"image": x}, precision=p).outputs["total"] - reference).max())
             for p in ("fp16", "fp16-fp32acc", "fp32")}
    assert error["fp32"] < 1e-6, error
    assert error["fp16-fp32acc"] <= 2.5e-4 < error["fp16"], error
    assert error["fp16-fp32acc"] < error["fp16"] / 3, error


def test_bad_requests_are_refused_with_their_reason(long_sum, tmp_path):
    path, x, _ = long_sum
    with pytest.raises(ValueError, match="fp16-fp32acc"):
        GpuModel(path, "bf16")
    with pytest.raises(ValueError, match="fp16-fp32acc"):
        run_gpu(path, {"image": x}, precision="int4")
    with pytest.raises(FileNotFoundError, match=r"no \.tflite"):
        GpuModel(tmp_path / "missing.tflite", "fp16")
    model = GpuModel(path, "fp16-fp32acc")
    with pytest.raises(ValueError, match="missing inputs"):
        model.run({})
    with pytest.raises(ValueError, match="shape"):
        model.run({"image": x[:, :10]})
    assert set(GPU_PRECISIONS) == {"fp16", "fp32", "fp16-fp32acc"}


def test_a_compiled_model_gives_a_fresh_compile_bits_on_every_input(long_sum):
    path, x, _ = long_sum
    inputs = [x * scale for scale in (1.0, 0.3, 2.5)]
    model = compile_gpu(path, "fp16")
    try:
        reused = [model.run({"image": v})["total"] for v in inputs]
    finally:
        model.close()
    for v, ours in zip(inputs, reused):
        np.testing.assert_array_equal(ours, run_gpu(path, {"image": v}).outputs["total"])
    assert not np.array_equal(reused[0], reused[1])

