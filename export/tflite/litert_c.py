"""LiteRT's C API (the ai-edge-litert wheel's `libLiteRt.so`) through ctypes, for GPU runs at any precision.

The wheel's Python `GpuOptions` has one precision switch, `enforce_f32`; LiteRT's C API (and the Kotlin
`CompiledModel.GpuOptions.Precision` an Android app sets) has a third: fp16 storage and arithmetic with
fp32 accumulation in CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV and BATCH_MATMUL
(`kLiteRtDelegatePrecisionFp16WithFp32Accum`, LiteRT 2.2+). This module compiles a .tflite for the GPU
accelerator with that precision, given to the runtime as its `gpu_options` TOML (`precision = N`), and runs
it with host-memory tensor buffers. It is the same runtime and accelerator library as the Python API:
`tests/test_litert_c.py` checks that its fp16 run gives the Python API's bits.
"""

from __future__ import annotations

import contextlib
import ctypes as C
from pathlib import Path

import numpy as np

# LiteRtDelegatePrecision (litert/c/litert_common.h).
GPU_PRECISIONS = {"fp16": 1, "fp32": 2, "fp16-fp32acc": 3}
_GPU_ACCELERATOR = 2  # kLiteRtHwAcceleratorGpu
_ENV_RUNTIME_LIBRARY_DIR = 22  # kLiteRtEnvOptionTagRuntimeLibraryDir: where the GPU accelerator library is
_ANY_STRING = 8  # kLiteRtAnyTypeString
_LOCK_READ = 0  # kLiteRtTensorBufferLockModeRead
_HOST_ALIGNMENT = 64  # LITERT_HOST_MEMORY_BUFFER_ALIGNMENT
_TENSOR_TYPE_BYTES = 128  # LiteRtRankedTensorType is 72 bytes with gcc/clang; room to spare
_MAX_RANK = 8


class LiteRtError(RuntimeError):
    """A LiteRT C API call returned an error status."""


class _Runtime:
    """The loaded library and one environment (it registers the GPU accelerator once per process)."""

    def __init__(self) -> None:
        import ai_edge_litert

        from export.tflite.gpu import vulkan_environment

        vulkan_environment()
        self.folder = Path(ai_edge_litert.__file__).parent
        self.lib = C.CDLL(str(self.folder / "libLiteRt.so"), mode=C.RTLD_GLOBAL)
        self.libc = C.CDLL(None)
        self.libc.strdup.restype = C.c_void_p
        self.libc.strdup.argtypes = [C.c_char_p]
        # LiteRtEnvOption {int32 tag; LiteRtAny {int32 type; union {...; const char*}}}: 24 bytes.
        self._dir = C.create_string_buffer(str(self.folder).encode())
        option = (C.c_byte * 24)()
        C.memmove(C.addressof(option), C.byref(C.c_int32(_ENV_RUNTIME_LIBRARY_DIR)), 4)
        C.memmove(C.addressof(option) + 8, C.byref(C.c_int32(_ANY_STRING)), 4)
        C.memmove(C.addressof(option) + 16, C.byref(C.c_void_p(C.addressof(self._dir))), 8)
        self.env = C.c_void_p()
        self.check(self.lib.LiteRtCreateEnvironment(1, option, C.byref(self.env)), "LiteRtCreateEnvironment")

    @staticmethod
    def check(status: int, call: str) -> None:
        if status != 0:
            raise LiteRtError(f"{call} failed with LiteRtStatus {status}")


_RUNTIME: _Runtime | None = None


def _runtime() -> _Runtime:
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = _Runtime()
    return _RUNTIME


class GpuModel:
    """A .tflite compiled once for the GPU accelerator at `precision` (a GPU_PRECISIONS key); `run` takes and
    returns float32 arrays by signature name. A graph the GPU cannot take whole fails to compile or reports
    `fully_accelerated` False: there is no CPU fallback."""

    def __init__(self, path: Path, precision: str) -> None:
        if precision not in GPU_PRECISIONS:
            raise ValueError(f"GPU precision {precision!r}: use one of {', '.join(GPU_PRECISIONS)}")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no .tflite at {path}")
        self.precision = precision
        rt = self._rt = _runtime()
        lib, check = rt.lib, rt.check
        self.model, self.options, opaque = C.c_void_p(), C.c_void_p(), C.c_void_p()
        options = self.options  # the caller owns the options; kept until close(), which frees them
        check(lib.LiteRtCreateModelFromFile(rt.env, str(path).encode(), C.byref(self.model)),
              "LiteRtCreateModelFromFile")
        check(lib.LiteRtCreateOptions(C.byref(options)), "LiteRtCreateOptions")
        check(lib.LiteRtSetOptionsHardwareAccelerators(options, _GPU_ACCELERATOR),
              "LiteRtSetOptionsHardwareAccelerators")
        # The runtime owns the payload and frees it with libc's free.
        payload = rt.libc.strdup(f"precision = {GPU_PRECISIONS[precision]}\n".encode())
        free = C.cast(rt.libc.free, C.c_void_p)
        check(lib.LiteRtCreateOpaqueOptions(b"gpu_options", C.c_void_p(payload), free, C.byref(opaque)),
              "LiteRtCreateOpaqueOptions")
        check(lib.LiteRtAddOpaqueOptions(options, opaque), "LiteRtAddOpaqueOptions")
        self.compiled = C.c_void_p()
        check(lib.LiteRtCreateCompiledModel(rt.env, self.model, options, C.byref(self.compiled)),
              f"LiteRtCreateCompiledModel (GPU, {precision})")
        full = C.c_bool()
        check(lib.LiteRtCompiledModelIsFullyAccelerated(self.compiled, C.byref(full)), "IsFullyAccelerated")
        self.fully_accelerated = bool(full.value)
        signature = C.c_void_p()
        check(lib.LiteRtGetModelSignature(self.model, C.c_size_t(0), C.byref(signature)), "LiteRtGetModelSignature")
        self.inputs = self._tensors(signature, "Input")
        self.outputs = self._tensors(signature, "Output")

    def _tensors(self, signature: C.c_void_p, kind: str) -> list[tuple[str, C.Array, tuple[int, ...]]]:
        """(name, LiteRtRankedTensorType bytes, shape) of each signature input or output."""
        lib, check = self._rt.lib, self._rt.check
        count = C.c_size_t()
        check(getattr(lib, f"LiteRtGetNumSignature{kind}s")(signature, C.byref(count)), f"{kind} count")
        tensors = []
        for i in range(count.value):
            name, tensor = C.c_char_p(), C.c_void_p()
            check(getattr(lib, f"LiteRtGetSignature{kind}Name")(signature, C.c_size_t(i), C.byref(name)), "name")
            check(getattr(lib, f"LiteRtGetSignature{kind}TensorByIndex")(signature, C.c_size_t(i), C.byref(tensor)),
                  "tensor")
            ttype = (C.c_byte * _TENSOR_TYPE_BYTES)()
            check(lib.LiteRtGetRankedTensorType(tensor, ttype), "LiteRtGetRankedTensorType")
            raw = bytes(ttype)
            # {int32 element_type; LiteRtLayout {rank:7, has_strides:1 in 4 bytes; int32 dims[8]; ...}}
            element_type, rank = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:8], "little") & 0x7F
            if element_type != 1 or rank > _MAX_RANK:  # kLiteRtElementTypeFloat32
                raise LiteRtError(f"{kind.lower()} {name.value!r}: element type {element_type}, rank {rank}; "
                                  "only float32 tensors are supported")
            shape = tuple(int(d) for d in np.frombuffer(raw[8:8 + 4 * rank], dtype=np.int32))
            tensors.append((name.value.decode(), ttype, shape))
        return tensors

    def _buffer(self, ttype: C.Array, shape: tuple[int, ...], keep: list,
                data: np.ndarray | None = None) -> tuple[C.c_void_p, int]:
        """A host-memory tensor buffer (64-byte aligned, owned by `keep`), filled from `data` if given."""
        size = int(np.prod(shape)) * 4
        memory = (C.c_byte * (size + _HOST_ALIGNMENT))()
        keep.append(memory)
        address = -(-C.addressof(memory) // _HOST_ALIGNMENT) * _HOST_ALIGNMENT
        if data is not None:
            array = np.ascontiguousarray(data, dtype=np.float32)
            if array.shape != shape:
                raise ValueError(f"input of shape {array.shape}, the model takes {shape}")
            C.memmove(address, array.ctypes.data, size)
        buffer = C.c_void_p()
        status = self._rt.lib.LiteRtCreateTensorBufferFromHostMemory(
            ttype, C.c_void_p(address), C.c_size_t(size), None, C.byref(buffer))
        self._rt.check(status, "LiteRtCreateTensorBufferFromHostMemory")
        return buffer, size

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One run: inputs by signature name -> outputs by signature name."""
        lib, check = self._rt.lib, self._rt.check
        missing = [name for name, _, _ in self.inputs if name not in inputs]
        if missing:
            raise ValueError(f"missing inputs {missing}")
        keep: list = []
        in_buffers = [self._buffer(t, s, keep, inputs[n])[0] for n, t, s in self.inputs]
        out_buffers = [self._buffer(t, s, keep) for _, t, s in self.outputs]
        try:
            check(lib.LiteRtRunCompiledModel(
                self.compiled, C.c_size_t(0), C.c_size_t(len(in_buffers)), (C.c_void_p * len(in_buffers))(*in_buffers),
                C.c_size_t(len(out_buffers)), (C.c_void_p * len(out_buffers))(*(b for b, _ in out_buffers))),
                "LiteRtRunCompiledModel")
            outputs = {}
            for (name, _, shape), (buffer, size) in zip(self.outputs, out_buffers):
                host = C.c_void_p()
                check(lib.LiteRtLockTensorBuffer(buffer, C.byref(host), _LOCK_READ), "LiteRtLockTensorBuffer")
                data = (C.c_byte * size).from_address(host.value)
                outputs[name] = np.frombuffer(data, np.float32).reshape(shape).copy()
                check(lib.LiteRtUnlockTensorBuffer(buffer), "LiteRtUnlockTensorBuffer")
            return outputs
        finally:
            for buffer in in_buffers + [b for b, _ in out_buffers]:
                lib.LiteRtDestroyTensorBuffer(buffer)

    def close(self) -> None:
        """Release the compiled model, its options and the model."""
        if getattr(self, "compiled", None):
            self._rt.lib.LiteRtDestroyCompiledModel(self.compiled)
            self.compiled = C.c_void_p()
        if getattr(self, "options", None):
            self._rt.lib.LiteRtDestroyOptions(self.options)
            self.options = C.c_void_p()
        if getattr(self, "model", None):
            self._rt.lib.LiteRtDestroyModel(self.model)
            self.model = C.c_void_p()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter teardown may have unloaded ctypes already
            self.close()
