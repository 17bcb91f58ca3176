"""Core ML exporter on the tiny variant: package spec and metadata, ANE residency gate, numpy fp16 parity.

Tolerances (vertices and joints are in crop pixels of the 128x96 tiny input):
- fp16 simulation vs PyTorch fp32: 0.25 px. One fp16 rounding of a coordinate near 100 px is up to
  0.03 px (spacing 0.0625 in [64, 128)); about fifty fp16 layers compound that, and the argsoftmax
  keeps it small (measured max 0.06 px here, 0.09 px on xs), so 0.25 px leaves 4x headroom while
  still catching a broken kernel or a lost scale (those move coordinates by whole pixels).
  Visibility is a probability: 2e-3, about four fp16 steps near 1 (spacing 4.9e-4).
- fp32-storage run of the same program vs PyTorch: 0.05 px; only the weights' fp16 rounding differs.
- Kernels converted at fp32 precision vs PyTorch: 1e-4 relative, float32 arithmetic only.
"""

import json
import logging
import platform

import numpy as np
import pytest
import torch

from export.contract import build_contract
from export.coreml import (
    PlatformNotSupported,
    UnsupportedMilOp,
    check_ane_residency,
    convert_coreml,
    load_mil_program,
    run_coreml_macos,
    run_mil,
    run_mil_fp16,
)
from export.coreml.mil_numpy import run_program

OUTPUTS = ("vertices", "visibility", "joints")
PX_TOL_FP16 = 0.25
VIS_TOL_FP16 = 2e-3


@pytest.fixture(scope="module")
def tiny_models(template):
    from model.build import build_deploy_model

    plain = build_deploy_model("tiny", normalize_in_graph=False, template=template)
    ref = build_deploy_model("tiny", normalize_in_graph=True, template=template)
    return plain, ref


@pytest.fixture(scope="module")
def contract(tiny_models, template):
    return build_contract(tiny_models[0], template, fmt="coreml", artifact="meshpose_tiny.mlpackage",
                          precision="fp16", input_dtype="image", normalization_baked_in=True)


@pytest.fixture(scope="module")
def package(tmp_path_factory, tiny_models, contract):
    model = tiny_models[0]
    out = tmp_path_factory.mktemp("coreml") / "meshpose_tiny.mlpackage"
    return convert_coreml(model, model.example_input(), out, contract=contract)


@pytest.fixture(scope="module")
def pixels(tiny_models):
    """Two RGB crops in [0, 255]: random pixels and a smooth gradient (a more image-like input)."""
    shape = tiny_models[1].input_shape
    noise = torch.rand(shape, generator=torch.Generator().manual_seed(1)) * 255.0
    ramp = torch.linspace(0, 255, shape[2] * shape[3]).reshape(1, 1, shape[2], shape[3]).expand(shape).clone()
    ramp[:, 1] = 255.0 - ramp[:, 1]
    return [noise, ramp]


def _torch_outputs(ref, x):
    with torch.no_grad():
        return dict(zip(OUTPUTS, (o.numpy() for o in ref(x))))


# -- conversion -------------------------------------------------------------------------------

def test_package_has_image_input_named_outputs_and_metadata(package, contract, tiny_models):
    program, spec = load_mil_program(package)
    assert spec.WhichOneof("Type") == "mlProgram" and spec.specificationVersion >= 8  # iOS 17 = spec 8
    (inp,) = spec.description.input
    img = inp.type.imageType
    assert inp.name == "image" and inp.type.WhichOneof("Type") == "imageType"
    assert (img.height, img.width) == tuple(tiny_models[0].input_shape[2:])
    assert img.ColorSpace.Name(img.colorSpace) == "RGB"
    assert [o.name for o in spec.description.output] == list(OUTPUTS)
    assert inp.shortDescription and all(o.shortDescription for o in spec.description.output)
    meta = spec.description.metadata
    assert meta.author and meta.license and meta.versionString and "UNTRAINED" in meta.shortDescription
    assert json.loads(meta.userDefined["meshpose.contract"]) == contract
    # The ImageType centres the image (bias -127.5, exact in fp16 for 8-bit values; scale 1 adds no op) as the
    # program's first op, then the cast to fp16; the 1/127.5 is in the stem's weights (fp16 rewrites).
    ops = [op for op in program.functions["main"].operations if op.op_type != "const"]
    assert [op.op_type for op in ops[:3]] == ["add", "cast", "conv"]
    assert np.allclose(ops[0].inputs["y"].val, -127.5)
    from coremltools.converters.mil.mil import types

    conv_dtypes = {types.builtin_to_string(op.outputs[0].dtype) for op in ops if op.op_type == "conv"}
    assert conv_dtypes == {"fp16"}


def test_conversion_is_atomic_and_overwrites(package, tiny_models, contract):
    model = tiny_models[0]
    again = convert_coreml(model, model.example_input(), package, contract=contract)
    assert again == package and (package / "Manifest.json").exists()
    assert sorted(p.name for p in package.parent.iterdir()) == [package.name]  # no temp dirs left behind


def test_conversion_rejects_bad_input(tmp_path, tiny_deploy, tiny_models, contract):
    with pytest.raises(ValueError, match="normalize_in_graph=False"):
        convert_coreml(tiny_deploy, tiny_deploy.example_input(), tmp_path / "a.mlpackage", contract=contract)
    model = tiny_models[0]
    with pytest.raises(ValueError, match="unknown compression"):
        convert_coreml(model, model.example_input(), tmp_path / "a.mlpackage", contract=contract, compress="int3")
    with pytest.raises(ValueError, match=r"\.mlpackage"):
        convert_coreml(model, model.example_input(), tmp_path / "a.mlmodel", contract=contract)
    with pytest.raises(FileNotFoundError):
        convert_coreml(model, model.example_input(), tmp_path / "no" / "a.mlpackage", contract=contract)


# -- residency gate ---------------------------------------------------------------------------

@pytest.mark.skipif(platform.system() == "Darwin", reason="Linux behaviour: compute plan skipped")
def test_residency_passes_on_the_tiny_model(package, caplog):
    with caplog.at_level(logging.WARNING):
        report = check_ane_residency(package)
    assert report.ok and report.offending == []
    assert report.compute_plan == "skipped: requires macOS 14.4+"
    assert any("skipped: requires macOS 14.4+" in r.getMessage() for r in caplog.records)  # said, not silent
    assert report.op_histogram["conv"] > 0 and report.op_histogram["softmax"] > 0
    assert report.num_ops == sum(n for t, n in report.op_histogram.items() if t != "const")


class _IndexSelect(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("idx", torch.tensor([0, 2]))

    def forward(self, x):
        return torch.index_select(x, 1, self.idx)


class _GridSample(torch.nn.Module):
    def forward(self, x):
        grid = torch.tanh(x[:, :2].permute(0, 2, 3, 1))
        return torch.nn.functional.grid_sample(x, grid, align_corners=False)


class _TopK(torch.nn.Module):
    def forward(self, x):
        return torch.topk(x.reshape(1, 3, 64), k=4, dim=-1).values


class _Rank5(torch.nn.Module):
    def forward(self, x):
        y = x.reshape(1, 3, 2, 4, 8)
        y = torch.relu(y - y.mean(dim=2, keepdim=True))
        return y.reshape(1, 3, 8, 8)


def _convert_plain(module, path, shape=(1, 3, 8, 8), precision=None):
    import coremltools as ct

    prog = torch.export.export(module.eval(), (torch.rand(shape),)).run_decompositions({})
    ml = ct.convert(prog, inputs=[ct.TensorType(name="x", shape=shape)], convert_to="mlprogram",
                    minimum_deployment_target=ct.target.iOS17,
                    compute_precision=precision or ct.precision.FLOAT16)
    ml.save(str(path))
    return path


@pytest.mark.parametrize("module, op_type, reason", [
    (_IndexSelect(), "gather", "gather"),
    (_GridSample(), "resample", "grid_sample"),
    (_TopK(), "topk", "topk"),
    (_Rank5(), None, "rank-5"),
], ids=["gather", "grid_sample", "topk", "rank5"])
def test_residency_fails_and_names_the_op(tmp_path, module, op_type, reason):
    report = check_ane_residency(_convert_plain(module, tmp_path / "bad.mlpackage"))
    assert not report.ok
    hits = [o for o in report.offending if reason in o.why and (op_type is None or o.op_type == op_type)]
    assert hits, report.offending
    assert all(o.name and str(o).startswith(f"{o.op_type} {o.name}: ") for o in hits)


def test_residency_rejects_a_missing_package(tmp_path):
    with pytest.raises(FileNotFoundError):
        check_ane_residency(tmp_path / "none.mlpackage")


# -- numpy fp16 execution ---------------------------------------------------------------------

def test_fp16_simulation_matches_pytorch(package, tiny_models, pixels):
    for x in pixels:
        want = _torch_outputs(tiny_models[1], x)
        got = run_mil_fp16(package, {"image": x.numpy()})
        assert set(got) == set(OUTPUTS)
        for name in OUTPUTS:
            assert got[name].shape == want[name].shape and got[name].dtype == np.float32
        assert np.abs(got["vertices"] - want["vertices"]).max() < PX_TOL_FP16
        assert np.abs(got["joints"] - want["joints"]).max() < PX_TOL_FP16
        assert np.abs(got["visibility"] - want["visibility"]).max() < VIS_TOL_FP16


def test_fp16_storage_is_real_and_close_to_fp32_storage(package, tiny_models, pixels):
    x = pixels[0]
    want = _torch_outputs(tiny_models[1], x)
    f16 = run_mil_fp16(package, {"image": x.numpy()})
    f32 = run_mil(package, {"image": x.numpy()}, storage="fp32")
    assert np.abs(f32["vertices"] - want["vertices"]).max() < 0.05
    diff = np.abs(f16["vertices"] - f32["vertices"])
    assert diff.max() < PX_TOL_FP16 and np.abs(f16["joints"] - f32["joints"]).max() < PX_TOL_FP16
    assert diff.max() > 0  # fp16 rounding did happen: the two runs are not the same computation


def test_fp16_simulation_rejects_bad_input(package, pixels):
    x = pixels[0].numpy()
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        run_mil_fp16(package, {"image": x / 127.5 - 1.0})
    with pytest.raises(KeyError, match="image"):
        run_mil_fp16(package, {"img": x})
    with pytest.raises(ValueError, match="shape"):
        run_mil_fp16(package, {"image": x[:, :, :64]})


class _MoreOps(torch.nn.Module):
    """Ops the deploy graph does not use, for the executor's other kernels and value_inference path."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.grouped = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
        self.bn = torch.nn.BatchNorm2d(4).eval()
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1, 1)
            self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        y = self.bn(x * 2.0 + 1.0)  # not after a conv, so it stays a batch_norm op
        a = self.grouped(torch.tanh(y))
        b = torch.nn.functional.max_pool2d(y, 3, stride=2, padding=1)
        c = torch.nn.functional.avg_pool2d(y, 3, stride=2, padding=1, count_include_pad=False)
        d = torch.nn.functional.leaky_relu(a[:, :4] - b + c, 0.1)
        return torch.cat([d, torch.exp(-d.abs())], dim=1)


def test_kernels_match_pytorch_in_fp32(tmp_path):
    import coremltools as ct

    module, x = _MoreOps().eval(), torch.randn(1, 4, 10, 12, generator=torch.Generator().manual_seed(4))
    path = _convert_plain(module, tmp_path / "more.mlpackage", shape=(1, 4, 10, 12), precision=ct.precision.FLOAT32)
    program, _ = load_mil_program(path)
    types = {op.op_type for op in program.functions["main"].operations}
    assert {"batch_norm", "conv", "max_pool", "avg_pool", "tanh", "leaky_relu", "exp"} <= types, types
    (got,) = run_program(program, {"x": x.numpy()}, storage="fp32").values()
    with torch.no_grad():
        want = module(x).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_sums_do_not_depend_on_the_order_they_are_added_in():
    """Convolution and matmul outputs are bit-identical whatever order the channels are summed in: the BLAS
    kernel's order differs by CPU, and with float32 sums the same W8A8 export calibrated to other scales on
    another host (golden p99 1.28 against 1.51 px)."""
    from export.coreml.mil_numpy import KERNELS

    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 64, 9, 7)).astype(np.float16)  # fp16 storage, as the executor feeds kernels
    w = rng.standard_normal((8, 64, 3, 3)).astype(np.float16)
    perm = rng.permutation(64)
    conv = lambda a, b: np.asarray(KERNELS["conv"](x=a, weight=b, pad_type="same"), np.float32)  # noqa: E731
    assert np.array_equal(conv(x, w), conv(x[:, perm], w[:, perm]))
    a, b = x.reshape(64, -1).T.copy(), w.reshape(8, -1)[:, :64].T.copy()  # (63, 64) @ (64, 8)
    matmul = lambda p, q: np.asarray(KERNELS["matmul"](x=p, y=q), np.float32)  # noqa: E731
    assert np.array_equal(matmul(a, b), matmul(a[:, perm], b[perm]))
    linear = lambda p, q: np.asarray(KERNELS["linear"](x=p, weight=q), np.float32)  # noqa: E731
    assert np.array_equal(linear(a, b.T), linear(a[:, perm], b.T[:, perm]))


def test_same_padding_with_stride_matches_pytorch():
    """MIL "same" pads to ceil(in / stride) outputs, the extra row/column at the end (asymmetric here)."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 2, 4, 4)).astype(np.float32)
    x = rng.standard_normal((1, 2, 7, 9)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=x.shape)], opset_version=ct.target.iOS17)
    def prog(x):
        y = mb.conv(x=x, weight=w, strides=[2, 2], pad_type="same", name="c")
        return mb.max_pool(x=y, kernel_sizes=[2, 2], strides=[2, 2], pad_type="same", name="p")

    (got,) = run_program(prog, {"x": x}, storage="fp32").values()
    y = torch.nn.functional.conv2d(torch.nn.functional.pad(torch.from_numpy(x), (1, 2, 1, 2)), torch.from_numpy(w),
                                   stride=2)
    want = torch.nn.functional.max_pool2d(y, 2, stride=2, ceil_mode=True)  # same = ceil for an even kernel
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)


def test_unknown_op_raises_naming_it():
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 2, 4, 4))], opset_version=ct.target.iOS17)
    def prog(x):
        w = np.ones((2, 2, 2, 2), dtype=np.float32)
        return mb.conv_transpose(x=x, weight=w, strides=[2, 2], name="deconv")

    with pytest.raises(UnsupportedMilOp, match=r"conv_transpose.*deconv"):
        run_program(prog, {"x": np.zeros((1, 2, 4, 4), np.float32)})
    with pytest.raises(ValueError, match="storage"):
        run_program(prog, {"x": np.zeros((1, 2, 4, 4), np.float32)}, storage="bf16")


@pytest.mark.skipif(platform.system() == "Darwin", reason="checks the Linux refusal")
def test_core_ml_predictions_refuse_off_macos(package, pixels):
    with pytest.raises(PlatformNotSupported, match="macOS"):
        run_coreml_macos(package, {"image": pixels[0].numpy()}, "CPU_AND_NE")


@pytest.mark.skipif(platform.system() != "Darwin", reason="Core ML predictions need macOS")
def test_core_ml_predictions_match_on_macos(package, tiny_models, pixels):  # pragma: no cover - not run on Linux
    want = _torch_outputs(tiny_models[1], pixels[1])
    for units in ("CPU_ONLY", "CPU_AND_NE"):
        got = run_coreml_macos(package, {"image": pixels[1].numpy()}, units)
        assert np.abs(got["vertices"] - want["vertices"]).max() < PX_TOL_FP16


# -- compressed variant -----------------------------------------------------------------------

@pytest.mark.parametrize("compress", ["palettize8", pytest.param("linear8", marks=pytest.mark.slow)])
def test_compressed_variant_stays_on_ane_and_close(tmp_path, tiny_models, contract, pixels, compress):
    model = tiny_models[0]
    path = convert_coreml(model, model.example_input(), tmp_path / f"c_{compress}.mlpackage",
                          contract=contract, compress=compress)
    report = check_ane_residency(path)
    assert report.ok, report.offending
    program, _ = load_mil_program(path)
    compressed = [op.name for op in program.functions["main"].operations if op.op_type.startswith("constexpr_")]
    assert compressed  # weights really are compressed, and only the trained ones ("p_" from torch.export):
    assert all(name.startswith("p_") for name in compressed)  # the landmarker and seam average stay exact
    want = _torch_outputs(tiny_models[1], pixels[0])
    got = run_mil_fp16(path, {"image": pixels[0].numpy()})
    # 8-bit weights add their own error on top of fp16; 1 px is the report-only bound for it.
    assert np.abs(got["vertices"] - want["vertices"]).max() < 1.0


# -- W8A8 (int8 activations) -------------------------------------------------------------------

def test_mil_quantize_and_dequantize_kernels_round_trip():
    from export.coreml.mil_numpy import KERNELS

    x = np.linspace(-3.0, 3.0, 101, dtype=np.float32).reshape(1, 1, 101)
    scale = np.float32(3.0 / 127)
    q = KERNELS["quantize"](input=x, scale=scale, zero_point=None, axis=None, output_dtype=np.asarray("int8"))
    assert q.dtype == np.int8 and q.min() == -127 and q.max() == 127
    back = KERNELS["dequantize"](input=q, scale=scale)
    assert np.abs(back - x).max() <= scale / 2 + 1e-6
    # saturation, and a per-axis uint8 case with zero points
    big = KERNELS["quantize"](input=np.float32([[20.0, -20.0]]), scale=np.float32(0.1), output_dtype="int8")
    assert big.tolist() == [[127, -128]]
    y = np.float32([[0.0, 1.0], [2.0, 3.0]])
    q2 = KERNELS["quantize"](input=y, scale=np.float32([0.1, 1.0]), zero_point=np.uint8([10, 0]), axis=1,
                             output_dtype="uint8")
    assert q2.dtype == np.uint8 and q2.tolist() == [[10, 1], [30, 3]]


def test_w8a8_quantizes_the_backbone_only_stays_on_ane_and_is_close(tmp_path, tiny_models, contract, pixels):
    from export.coreml.w8a8 import is_relu6_clip, quantized_fx_nodes

    model = tiny_models[0]
    with pytest.raises(ValueError, match="calibration"):
        convert_coreml(model, model.example_input(), tmp_path / "none.mlpackage", contract=contract, compress="w8a8")
    calibration = [p.numpy() for p in pixels]
    path = convert_coreml(model, model.example_input(), tmp_path / "w8a8.mlpackage", contract=contract,
                          compress="w8a8", calibration=calibration)
    assert check_ane_residency(path).ok
    program, _ = load_mil_program(path)
    ops = program.functions["main"].operations
    quantizes = [op for op in ops if op.op_type == "quantize"]
    assert quantizes and all(c.op_type == "dequantize" for q in quantizes for c in q.outputs[0].child_ops)
    # the values quantised to int8 are made by backbone ops; no head or tail op's output is ever int8
    producers = {q.inputs["input"].op.name.removesuffix("_cast_fp16") for q in quantizes if q.inputs["input"].op}
    fx = quantized_fx_nodes(model, model.example_input())
    exported = torch.export.export(model.eval(), (model.example_input(),)).run_decompositions({})

    def inside(prefixes: tuple[str, ...]) -> set[str]:
        return {n.name for n in exported.graph.nodes
                if any(p.startswith(prefixes) for p, _ in (n.meta.get("nn_module_stack") or {}).values())}

    head, late = inside(("net.lift", "net.vertexpose")), inside(("net.backbone.blocks.4",))
    assert head and late and not head & fx and late & fx
    assert producers & fx and not producers & head, sorted(producers & head)[:5]
    assert any(op.op_type.startswith("constexpr_") for op in ops)  # int8 weights as well
    # ReLU6 follows its convolution unquantised (clip(0, 6) rewritten as relu6, so the pair comes after it),
    # and activations have zero points: a ReLU6 output's [0, max] range starts at the lowest level
    relu6s = [op for op in ops if op.op_type == "relu6"]
    assert relu6s and not [op for op in ops if op.op_type == "clip" and is_relu6_clip(op)]
    assert all(op.x.op.op_type in ("conv", "linear") for op in relu6s), sorted({op.x.op.op_type for op in relu6s})
    after_relu6 = [q for q in quantizes if q.inputs["input"].op is not None and q.inputs["input"].op.op_type == "relu6"]
    assert after_relu6 and all(q.inputs["output_dtype"].val == "uint8" for q in after_relu6)  # int8 at zero point -128
    assert any(q.inputs.get("zero_point") is not None for q in quantizes)  # the signed tensors' grids are not centred
    # only convolutions read int8, and every sum of the int8 region reads fp16: a linear tensor (a projection's
    # output, a residual stream) is rounded for the convolution that reads it, never for the sum it flows on to
    readers = [c for q in quantizes for dq in q.outputs[0].child_ops for c in dq.outputs[0].child_ops]
    assert readers and {c.op_type for c in readers} == {"conv"}, sorted({c.op_type for c in readers})
    sums = [op for op in ops if op.op_type == "add" and op.name.removesuffix("_cast_fp16") in fx]
    assert sums and not [op for op in sums for v in (op.x, op.y) if v.op is not None and v.op.op_type == "dequantize"]
    # the float parts keep fp16 weights: no int8 weight feeds a head's op
    int8_weight_users = {c.name.removesuffix("_cast_fp16") for op in ops if op.op_type.startswith("constexpr_")
                         for c in op.outputs[0].child_ops}
    assert int8_weight_users and not int8_weight_users & head and int8_weight_users <= fx
    want = _torch_outputs(tiny_models[1], pixels[1])
    got = run_mil_fp16(path, {"image": pixels[1].numpy()})
    assert np.isfinite(got["vertices"]).all()
    assert np.median(np.linalg.norm(got["vertices"][0, :, :2] - want["vertices"][0, :, :2], axis=-1)) < 2.0


def test_perturbed_ranges_are_seeded_bounded_and_draw_zero_is_the_export():
    from export.coreml.w8a8_spread import perturbed_ranges

    ranges = {f"v{i}": {"rmin": -1.0 - i, "rmax": 2.0 + i} for i in range(50)}
    assert perturbed_ranges(ranges, 1e-3, 0) == ranges and perturbed_ranges(ranges, 0.0, 3) == ranges
    a, b, c = (perturbed_ranges(ranges, 1e-3, s) for s in (1, 1, 2))
    assert a == b and a != c
    factors = np.array([a[n][k] / ranges[n][k] for n in ranges for k in ("rmin", "rmax")])
    assert np.all(np.abs(factors - 1) <= 1e-3) and np.std(factors) > 1e-4  # every range moves, within rel
    with pytest.raises(ValueError, match="rel"):
        perturbed_ranges(ranges, -1.0, 1)


def test_w8a8_spread_draw_zero_is_the_exported_package_and_draws_move_it(tmp_path, tiny_models, contract, pixels):
    from export.coreml.w8a8_spread import summary, w8a8_spread
    from export.golden import run_torch
    from export.parity import compare_outputs

    model, reference = tiny_models
    calibration = inputs = [p.numpy() for p in pixels]
    path = convert_coreml(model, model.example_input(), tmp_path / "export.mlpackage", contract=contract,
                          compress="w8a8", calibration=calibration)
    want = compare_outputs("export", "int8", [run_torch(reference, x) for x in inputs],
                           [run_mil_fp16(path, {"image": x}) for x in inputs])
    seen = []
    rows = w8a8_spread(model, reference, calibration, inputs, ["noise", "ramp"], [1], draws=3, rel=0.02,
                       scratch=tmp_path, log=seen.append)
    assert len(rows) == 3 and len(seen) == 3 and all(r.gate == "int8" and r.core_inputs == 1 for r in rows)
    # draw 0 converts from ranges measured on a saved fp16 package: the export's own package, to the bit
    assert (rows[0].err2d_median_px, rows[0].err2d_max_px) == (want.err2d_median_px, want.err2d_max_px)
    # 2 % moves of every range change the int8 grids, so the other draws' outputs move (median and max together:
    # a draw can leave the tiny model's largest error where it was, as one did to the last bit)
    figures = [(r.err2d_median_px, r.err2d_max_px) for r in rows]
    assert all(f != (want.err2d_median_px, want.err2d_max_px) for f in figures[1:]), figures
    s = summary(rows)
    assert s["draws"] == 3 and s["p99_min_px"] <= s["p99_median_px"] <= s["p99_max_px"]
    assert s["failing"] == sum(not r.passed for r in rows)
