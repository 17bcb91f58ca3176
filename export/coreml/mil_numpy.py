"""Execute a Core ML MIL program op by op in numpy, with fp16 storage like the Neural Engine.

Parity on Linux, where Core ML cannot run: every op computes in float32 from its inputs and
rounds its output to the dtype the program declares (fp16 for the whole converted body),
so fp16 rounding accumulates layer after layer as on the device. Sums (convolution, matmul,
linear, reductions, pooling) accumulate in float64: sums of fp16 products are then exact or
nearly, so the output does not depend on the order the BLAS kernel adds in. In float32 it did,
and OpenBLAS picks its kernel by CPU: the same W8A8 export calibrated to different scales on
two hosts and its golden-set p99 moved from 1.28 to 1.51 px. Compute ops have their own
small kernels below (coremltools has no numpy evaluation for convolution, pooling, batch norm or
upsampling); any other op runs through its own coremltools `value_inference`, fed the run-time
values in float32; compile-time constexpr ops (compressed weights) use their own
materialized_val_inference. An op type with neither raises UnsupportedMilOp naming it, never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class UnsupportedMilOp(RuntimeError):
    """The program has an op this executor has no kernel for."""


def _dtype_of(var) -> str:
    from coremltools.converters.mil.mil import types

    return types.builtin_to_string(var.dtype)


NP_DTYPES = {"fp16": np.float16, "fp32": np.float32, "int32": np.int32, "int8": np.int8, "uint8": np.uint8,
             "bool": np.bool_, "int64": np.int64, "fp64": np.float64}


def _padding(hw, kernel, strides, pad_type, pad) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of MIL's pad_type: valid, custom, or same (output = ceil(in / stride))."""
    if pad_type == "valid":
        return (0, 0, 0, 0)
    if pad_type == "custom":
        return tuple(int(p) for p in pad)
    if pad_type not in ("same", "same_lower"):
        raise UnsupportedMilOp(f"pad_type {pad_type!r}")
    out = []
    for size, k, s in zip(hw, kernel, strides):
        total = max((-(-int(size) // int(s)) - 1) * int(s) + int(k) - int(size), 0)
        small, big = total // 2, total - total // 2
        out += [big, small] if pad_type == "same_lower" else [small, big]
    return tuple(out)


def _conv(x, weight, bias=None, strides=(1, 1), pad_type="valid", pad=(0, 0, 0, 0), dilations=(1, 1), groups=1):
    x = x.astype(np.float64)
    w = weight.astype(np.float64)
    if tuple(dilations) != (1, 1):
        raise UnsupportedMilOp("conv with dilation (also not ANE-friendly)")
    kh, kw = w.shape[2:]
    pad = _padding(x.shape[2:], (kh, kw), strides, pad_type, pad)
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, :: strides[0], :: strides[1]]  # N,C,H,W,kh,kw
    n, c, h, wd = win.shape[:4]
    o = w.shape[0]
    g = int(groups)
    win = win.reshape(n, g, c // g, h, wd, kh, kw)
    wg = w.reshape(g, o // g, c // g, kh, kw)
    out = np.einsum("ngchwij,gocij->ngohw", win, wg, optimize=True).reshape(n, o, h, wd)
    if bias is not None:
        out = out + bias.astype(np.float64).reshape(1, o, 1, 1)
    return out


def _slice_by_index(x, begin, end, stride=None, begin_mask=None, end_mask=None, squeeze_mask=None):
    idx = []
    r = x.ndim
    stride = stride if stride is not None else [1] * r
    for a in range(r):
        b = None if begin_mask is not None and begin_mask[a] else int(begin[a])
        e = None if end_mask is not None and end_mask[a] else int(end[a])
        idx.append(slice(b, e, int(stride[a])))
    out = x[tuple(idx)]
    if squeeze_mask is not None and any(squeeze_mask):
        out = out.squeeze(axis=tuple(i for i, s in enumerate(squeeze_mask) if s))
    return out


def _softmax(x, axis=-1):
    x = x.astype(np.float32)
    e = np.exp(x - x.max(axis=int(axis), keepdims=True)).astype(np.float64)
    return e / e.sum(axis=int(axis), keepdims=True)


def _reduce(fn):
    def k(x, axes=None, keep_dims=False):
        axes = tuple(int(a) for a in axes) if axes is not None else None
        return fn(x.astype(np.float64), axis=axes, keepdims=bool(keep_dims))

    return k


def _upsample(x, scale_factor_height=1, scale_factor_width=1):
    sh, sw = float(scale_factor_height), float(scale_factor_width)
    if sh != int(sh) or sw != int(sw):
        raise UnsupportedMilOp("upsample_nearest_neighbor with a non-integer scale")
    return np.repeat(np.repeat(x, int(sh), axis=2), int(sw), axis=3)


def _pool_windows(x, kernel_sizes, strides, pad_type, pad, fill: float):
    """Sliding windows (N, C, H', W', kh, kw) of a padded NCHW tensor, as MIL's pooling ops define them."""
    kh, kw = (int(k) for k in kernel_sizes)
    pad = _padding(x.shape[2:], (kh, kw), strides, pad_type, pad)
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (int(pad[0]), int(pad[1])), (int(pad[2]), int(pad[3]))),
               constant_values=fill)
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, :: int(strides[0]), :: int(strides[1])], pad


def _max_pool(x, kernel_sizes, strides, pad_type="valid", pad=(0, 0, 0, 0), ceil_mode=False):
    if ceil_mode:
        raise UnsupportedMilOp("max_pool with ceil_mode")
    win, _ = _pool_windows(x, kernel_sizes, strides, pad_type, pad, fill=-np.inf)
    return win.max(axis=(-1, -2))


def _batch_norm(x, mean, variance, gamma=None, beta=None, epsilon=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    out = (x.astype(np.float32) - mean.astype(np.float32).reshape(shape)) / np.sqrt(
        variance.astype(np.float32).reshape(shape) + float(epsilon)
    )
    if gamma is not None:
        out = out * gamma.astype(np.float32).reshape(shape)
    if beta is not None:
        out = out + beta.astype(np.float32).reshape(shape)
    return out


def _matmul(x, y, transpose_x=False, transpose_y=False):
    x, y = x.astype(np.float64), y.astype(np.float64)
    if transpose_x:
        x = np.swapaxes(x, -1, -2)
    if transpose_y:
        y = np.swapaxes(y, -1, -2)
    return np.matmul(x, y)


def _linear(x, weight, bias=None):
    out = x.astype(np.float64) @ weight.astype(np.float64).T
    return out + bias.astype(np.float64) if bias is not None else out


def _avg_pool(x, kernel_sizes, strides, pad_type="valid", pad=(0, 0, 0, 0), exclude_padding_from_average=False,
              ceil_mode=False):
    if ceil_mode:
        raise UnsupportedMilOp("avg_pool with ceil_mode")
    win, used = _pool_windows(x, kernel_sizes, strides, pad_type, pad, fill=0.0)
    total = win.sum(axis=(-1, -2))
    if exclude_padding_from_average and any(used):
        ones, _ = _pool_windows(np.ones_like(x[:1, :1]), kernel_sizes, strides, "custom", used, fill=0.0)
        return total / ones.sum(axis=(-1, -2))
    return total / (int(kernel_sizes[0]) * int(kernel_sizes[1]))


def _broadcast(param, x, axis):
    """A per-tensor (scalar) or per-axis (vector) quantization parameter shaped to broadcast against x."""
    param = np.asarray(param, np.float32)
    if param.ndim == 0 or param.size == 1:
        return param.reshape(())
    shape = [1] * x.ndim
    shape[int(axis)] = param.size
    return param.reshape(shape)


def _quantize(input, scale, zero_point=None, axis=None, output_dtype="int8"):
    """MIL quantize: round(x / scale) + zero_point, saturated to the integer type (round half to even)."""
    kind = {"int8": np.int8, "uint8": np.uint8}[str(output_dtype)]
    q = np.round(input.astype(np.float32) / _broadcast(scale, input, axis))
    if zero_point is not None:
        q = q + _broadcast(zero_point, input, axis)
    info = np.iinfo(kind)
    return np.clip(q, info.min, info.max).astype(kind)


def _dequantize(input, scale, zero_point=None, axis=None):
    """MIL dequantize: scale * (q - zero_point)."""
    q = input.astype(np.float32)
    if zero_point is not None:
        q = q - _broadcast(zero_point, input, axis)
    return q * _broadcast(scale, input, axis)


KERNELS: dict[str, Callable] = {
    "quantize": _quantize,
    "dequantize": _dequantize,
    "conv": _conv,
    "linear": _linear,
    "matmul": _matmul,
    "add": lambda x, y: x.astype(np.float32) + y.astype(np.float32),
    "sub": lambda x, y: x.astype(np.float32) - y.astype(np.float32),
    "mul": lambda x, y: x.astype(np.float32) * y.astype(np.float32),
    "real_div": lambda x, y: x.astype(np.float32) / y.astype(np.float32),
    "clip": lambda x, alpha, beta: np.clip(x, alpha, beta),
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x.astype(np.float32))),
    "softmax": _softmax,
    "reduce_mean": _reduce(np.mean),
    "reduce_sum": _reduce(np.sum),
    "reshape": lambda x, shape: x.reshape(tuple(int(s) for s in shape)),
    "transpose": lambda x, perm: np.transpose(x, tuple(int(p) for p in perm)),
    "concat": lambda values, axis, interleave=False: np.concatenate(values, axis=int(axis)),
    "slice_by_index": _slice_by_index,
    "expand_dims": lambda x, axes: np.expand_dims(x, tuple(int(a) for a in axes)),
    "squeeze": lambda x, axes=None: np.squeeze(x, tuple(int(a) for a in axes) if axes is not None else None),
    "upsample_nearest_neighbor": _upsample,
    "avg_pool": _avg_pool,
    "max_pool": _max_pool,
    "batch_norm": _batch_norm,
    "silu": lambda x: x.astype(np.float32) / (1.0 + np.exp(-x.astype(np.float32))),
    "cast": lambda x, dtype: x.astype(NP_DTYPES[str(dtype)]),
}


def _value_inference(op, env: dict[str, object]) -> tuple:
    """Run an op through coremltools' own numpy `value_inference`, on this run's values.

    value_inference reads `var.val` of the op's inputs; for the duration of the call the
    non-constant inputs get this run's values (floats widened to float32, so the op computes
    in fp32 and only its output is rounded, like the kernels above), then are restored.
    """
    from coremltools.converters.mil.mil.operation import Operation

    if type(op).value_inference is Operation.value_inference:
        raise UnsupportedMilOp(f"no numpy kernel for MIL op {op.op_type!r} ({op.name}) and coremltools "
                               "has no value_inference for it")
    saved = []
    try:
        for var in op.inputs.values():
            for v in var if isinstance(var, (list, tuple)) else [var]:
                if v.val is not None and (v.op is None or v.op.op_type == "const"):
                    continue
                val = np.asarray(env[v.name])
                if np.issubdtype(val.dtype, np.floating):
                    val = val.astype(np.float32)
                saved.append((v, v._sym_val))
                sym = v.sym_type()
                sym.val = val
                v._sym_val = sym
        out = op.value_inference()
    except NotImplementedError as exc:
        raise UnsupportedMilOp(f"MIL op {op.op_type!r} ({op.name}): {exc}") from exc
    finally:
        for v, old in reversed(saved):
            v._sym_val = old
    if out is None:
        raise UnsupportedMilOp(f"MIL op {op.op_type!r} ({op.name}): value_inference gave no value")
    return tuple(out) if len(op.outputs) > 1 else (out,)


def _const_value(op) -> np.ndarray:
    val = op.outputs[0].val
    return val if isinstance(val, (str, bool)) else np.asarray(val)


def run_program(program, inputs: dict[str, np.ndarray], storage: str = "declared",
                observe: Callable[[str, np.ndarray], None] | None = None) -> dict[str, np.ndarray]:
    """Run `program`'s main function. storage="declared" rounds each op output to its declared dtype
    (fp16 in a converted fp16 program); storage="fp32" keeps every float in float32 (a reference run;
    the weights stay the fp16 values the program stores). `observe(name, value)` sees every input and
    every run-time op output (int8 activation calibration records their ranges through it)."""
    if storage not in ("declared", "fp32"):
        raise ValueError(f"storage must be 'declared' or 'fp32', not {storage!r}")
    func = program.functions["main"]
    env: dict[str, object] = {}
    for name, var in func.inputs.items():
        if name not in inputs:
            raise KeyError(f"missing input {name!r}; the program takes {list(func.inputs)}")
        arr = np.asarray(inputs[name], dtype=np.float32)
        if tuple(arr.shape) != tuple(var.shape):
            raise ValueError(f"input {name} has shape {arr.shape}, the program takes {tuple(var.shape)}")
        env[name] = arr
        if observe is not None:
            observe(name, arr)
    for op in func.operations:
        if op.op_type == "const":
            env[op.outputs[0].name] = _const_value(op)
            continue
        if op.op_type.startswith("constexpr_"):
            # Compressed weights (palettised / quantised): the op's own materialized_val_inference
            # decompresses them, exactly as Core ML does at load time.
            env[op.outputs[0].name] = np.asarray(op.materialized_val_inference())
            continue
        kernel = KERNELS.get(op.op_type)
        if kernel is not None:
            kwargs = {}
            for key, var in op.inputs.items():
                kwargs[key] = [env[v.name] for v in var] if isinstance(var, (list, tuple)) else env[var.name]
            results = (kernel(**kwargs),)
        else:
            results = _value_inference(op, env)
        if len(results) != len(op.outputs):
            raise UnsupportedMilOp(f"MIL op {op.op_type!r} ({op.name}) gave {len(results)} outputs, "
                                   f"expected {len(op.outputs)}")
        for out_var, result in zip(op.outputs, results):
            dt = _dtype_of(out_var)
            if storage == "fp32" and dt in ("fp16", "fp32"):
                dt = "fp32"
            if dt not in NP_DTYPES:
                raise UnsupportedMilOp(f"MIL op {op.op_type!r} ({op.name}) outputs dtype {dt}")
            env[out_var.name] = np.asarray(result).astype(NP_DTYPES[dt])
            if observe is not None:
                observe(out_var.name, env[out_var.name])
    return {v.name: np.asarray(env[v.name], dtype=np.float32) for v in func.outputs}


def run_mil(mlpackage: Path, inputs: dict[str, np.ndarray], storage: str = "declared") -> dict[str, np.ndarray]:
    """Load a saved .mlpackage's MIL program and run it (see run_program)."""
    from export.coreml.convert import load_mil_program

    program, _ = load_mil_program(Path(mlpackage))
    return run_program(program, inputs, storage)


def run_mil_fp16(mlpackage: Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """fp16-storage execution; `image` is float32 NCHW RGB in [0, 255] (the ImageType's pixels).

    The ImageType's scale and bias are ops of the converted program (Core ML's image
    pre-processing), so they run here exactly as on the device, before the cast to fp16.
    """
    image = inputs.get("image")
    if image is not None:
        image = np.asarray(image)
        if not np.all(np.isfinite(image)) or image.min() < 0 or image.max() > 255:
            raise ValueError("image must be RGB pixel values in [0, 255] (the ImageType's pixels, not normalised)")
    return run_mil(mlpackage, inputs, storage="declared")
