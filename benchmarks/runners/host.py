"""Host runner (this machine): PyTorch eager, ONNX Runtime, TFLite XNNPACK (fp32, fp16 weights,
int8) and the TFLite GPU path on the software Vulkan device (functional only, never a phone
figure); batch-1 latency, batched throughput, end-to-end per-frame time beside model-only
time, and a roofline ratio against this CPU's measured fp32 matmul peak.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.runners import BenchError
from benchmarks.runners.common import artifact_info, base_result, sustained, time_calls
from benchmarks.stats import fps_from_p50, summarize_ms, sustained_trend
from model.pipeline.crop import Crop, crop_from_box
from model.pipeline.decode import decode_outputs

FRAME_WH = (1280, 720)  # camera frame for the end-to-end measurement
THROUGHPUT_BATCH = 8


def log(msg: str) -> None:
    """Progress on stderr."""
    print(f">> {msg}", file=sys.stderr, flush=True)


def measure_matmul_peak_gflops(threads: int, n: int = 1024, runs: int = 10) -> float:
    """fp32 GEMM throughput of this CPU at `threads` threads (median of `runs`), in GFLOP/s."""
    torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    _, samples = time_calls(lambda: torch.mm(a, b), warmup=3, runs=runs)
    return 2 * n**3 / (np.median(samples) / 1e3) / 1e9


class FramePipeline:
    """Camera frame (uint8 RGBA, the layout phone cameras deliver) -> model input (crop + bilinear
    resize, model/pipeline's sampling convention) -> raw outputs -> decoded mesh."""

    def __init__(self, in_w: int, in_h: int, nhwc: bool = False) -> None:
        import cv2

        cv2.setNumThreads(1)
        self.cv2 = cv2
        self.in_w, self.in_h, self.nhwc = in_w, in_h, nhwc
        fw, fh = FRAME_WH
        rng = np.random.default_rng(0)
        self.frame = rng.integers(0, 255, size=(fh, fw, 4), dtype=np.uint8)
        self.crop: Crop = crop_from_box([fw * 0.4, fh * 0.1, fw * 0.6, fh * 0.95], in_w, in_h)

    def affine(self) -> np.ndarray:
        """Input pixel (u, v) samples the frame at (x0 + s (u + 0.5), y0 + s (v + 0.5)) in centre-at-0.5
        coordinates, i.e. at index x0 + s u + (s - 1) / 2 in OpenCV's centre-at-integer indices."""
        c = self.crop
        off = 0.5 * c.scale - 0.5
        return np.array([[c.scale, 0.0, c.x0 + off], [0.0, c.scale, c.y0 + off]])

    def preprocess(self) -> np.ndarray:
        """Crop and resize with OpenCV's warpAffine (SIMD); outside the frame is 0."""
        cv2 = self.cv2
        img = cv2.warpAffine(self.frame, self.affine(), (self.in_w, self.in_h),
                             flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)
        x = img[None, :, :, :3].astype(np.float32)
        return x if self.nhwc else np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def decode(self, out: dict[str, np.ndarray]):
        """Raw outputs -> frame-space mesh (model/pipeline)."""
        joints = out["joints"][0] if "joints" in out else np.zeros((0, 3))  # a template without a landmarker
        return decode_outputs(out["vertices"][0], out["visibility"][0], joints, self.crop, self.in_w, self.in_h)


class HostRunner:
    """Runs every host runtime on the exported artifacts of one variant."""

    def __init__(self, device: dict, variant: str, artifacts: Path, threads: int = 2) -> None:
        self.device, self.variant, self.threads = device, variant, threads
        self.dir = artifacts / variant
        if not (self.dir / f"meshpose_{variant}.tflite").is_file():
            raise BenchError(f"no exported model in {self.dir}; run `make export-tflite export-onnx VARIANT={variant}`")

    def _method(self, warmup: int, runs: int, batch: int = 1, sustained_s: float | None = None) -> dict:
        return {"warmup_runs": warmup, "timed_runs": runs, "batch": batch, "sustained_seconds": sustained_s,
                "cooldown_seconds": None}

    def tflite(self, precision: str, warmup: int, runs: int, sustained_s: float, e2e: bool) -> dict[str, Any]:
        """XNNPACK model-only latency (tensors set once, invoke() timed) and optionally end to end."""
        from ai_edge_litert.interpreter import Interpreter

        from export.tflite.run import _dequantize, _quantize

        name = {"fp32": "", "fp16": "_fp16", "int8": "_int8"}[precision]
        path = self.dir / f"meshpose_{self.variant}{name}.tflite"
        if not path.is_file():
            flag = " INT8=1" if precision == "int8" else ""
            raise BenchError(f"{path} missing; run `make export-tflite VARIANT={self.variant}{flag}`")
        t0 = time.perf_counter()
        interp = Interpreter(model_path=str(path), num_threads=self.threads)
        interp.allocate_tensors()
        load_ms = (time.perf_counter() - t0) * 1e3
        inp = interp.get_input_details()[0]
        outs = interp.get_output_details()
        shape = inp["shape"]
        interp.set_tensor(inp["index"], _quantize(np.full(shape, 127.0, np.float32), inp))
        first, samples = time_calls(interp.invoke, warmup, runs)
        res = base_result(
            self.device,
            {"name": "tflite", "version": _version("ai-edge-litert"), "accelerator": "xnnpack",
             "precision": "fp16-weights" if precision == "fp16" else precision, "threads": self.threads,
             "functional_only": False},
            artifact_info(path, self.variant), self._method(warmup, runs, 1, sustained_s or None), first, load_ms,
            samples, "benchmarks.runners.host",
        )
        if sustained_s:
            fps, stamps = sustained(interp.invoke, sustained_s)
            res["sustained"] = {"seconds": sustained_s, "fps": fps, "trend": sustained_trend(stamps, 1.0)}
        if e2e:
            names = {d["name"]: d for d in outs}
            by_contract = {k: next(d for n, d in names.items() if k in n)
                           for k in ("vertices", "visibility", "joints") if any(k in n for n in names)}
            pipe = FramePipeline(int(shape[3]), int(shape[2]))

            def frame_step():
                interp.set_tensor(inp["index"], _quantize(pipe.preprocess(), inp))
                interp.invoke()
                return pipe.decode({k: _dequantize(interp.get_tensor(d["index"]), d) for k, d in by_contract.items()})

            _, e2e_samples = time_calls(frame_step, warmup, runs)
            s = summarize_ms(e2e_samples)
            res["end_to_end_ms"] = {"p50": s["p50"], "p90": s["p90"], "p99": s["p99"],
                                    "ratio_to_model_p50": s["p50"] / res["timings_ms"]["p50"],
                                    "frame": f"{FRAME_WH[0]}x{FRAME_WH[1]} uint8 RGB"}
        return res

    def tflite_gpu(self, warmup: int, runs: int) -> dict[str, Any]:
        """LiteRT CompiledModel on the GPU accelerator over lavapipe: functional only."""
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator

        from export.tflite.gpu import _vulkan_environment

        path = self.dir / f"meshpose_{self.variant}.tflite"
        _vulkan_environment()
        t0 = time.perf_counter()
        model = CompiledModel.from_file(str(path), hardware_accel=HardwareAccelerator.GPU)
        load_ms = (time.perf_counter() - t0) * 1e3
        ins, outs = model.create_input_buffers(0), model.create_output_buffers(0)
        shape = model.get_input_tensor_details("serving_default")["image"]["shape"]
        ins[0].write(np.full(tuple(shape), 127.0, np.float32))
        n_out = int(np.prod(model.get_output_tensor_details("serving_default")["vertices"]["shape"]))

        def run_and_read():  # reading an output waits for the GPU, so the time covers the whole run
            model.run_by_index(0, ins, outs)
            return outs[0].read(n_out, np.float32)

        first, samples = time_calls(run_and_read, warmup, runs)
        res = base_result(
            self.device,
            {"name": "litert", "version": _version("ai-edge-litert"), "accelerator": "gpu (lavapipe software Vulkan)",
             "precision": "fp16", "threads": None, "functional_only": True},
            artifact_info(path, self.variant), self._method(warmup, runs), first, load_ms, samples,
            "benchmarks.runners.host",
            notes="software Vulkan on the CPU: checks delegation and fp16 numerics; NOT a phone GPU figure",
        )
        res["delegation"] = {"fully_delegated": bool(model.is_fully_accelerated())}
        return res

    def onnxruntime(self, warmup: int, runs: int, batch: int = 1) -> dict[str, Any]:
        """ONNX Runtime CPU EP; batch > 1 exports a batch-N ONNX on the fly (static shapes)."""
        import onnxruntime as ort

        path = self.dir / f"meshpose_{self.variant}.onnx"
        if not path.is_file():
            raise BenchError(f"{path} missing; run `make export-onnx VARIANT={self.variant}`")
        model_path = path if batch == 1 else self._batched_onnx(batch)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        t0 = time.perf_counter()
        sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        load_ms = (time.perf_counter() - t0) * 1e3
        shape = sess.get_inputs()[0].shape
        feed = {"image": np.full(shape, 127.0, np.float32)}
        first, samples = time_calls(lambda: sess.run(None, feed), warmup, runs)
        return base_result(
            self.device,
            {"name": "onnxruntime", "version": ort.__version__, "accelerator": "cpu", "precision": "fp32",
             "threads": self.threads, "functional_only": False},
            artifact_info(path, self.variant), self._method(warmup, runs, batch), first, load_ms, samples,
            "benchmarks.runners.host",
            notes="" if batch == 1 else f"batch-{batch} ONNX exported from the same checkpoint for throughput",
        )

    def _batched_onnx(self, batch: int) -> Path:
        from export.onnx.convert import export_onnx
        from model.build import build_deploy_model

        model = build_deploy_model(self.variant, _ckpt_of(self.dir, self.variant))
        x = torch.rand(batch, *model.input_shape[1:]) * 255
        out = Path(tempfile.mkdtemp()) / f"meshpose_{self.variant}_b{batch}.onnx"
        return export_onnx(model, x, out)

    def pytorch(self, warmup: int, runs: int, batch: int = 1) -> dict[str, Any]:
        """PyTorch eager on the deploy graph (same checkpoint as the artifacts)."""
        from model.build import build_deploy_model

        torch.set_num_threads(self.threads)
        t0 = time.perf_counter()
        model = build_deploy_model(self.variant, _ckpt_of(self.dir, self.variant))
        load_ms = (time.perf_counter() - t0) * 1e3
        x = torch.full((batch, *model.input_shape[1:]), 127.0)
        with torch.inference_mode():
            first, samples = time_calls(lambda: model(x), warmup, runs)
        onnx = self.dir / f"meshpose_{self.variant}.onnx"
        return base_result(
            self.device,
            {"name": "pytorch", "version": torch.__version__, "accelerator": "cpu", "precision": "fp32",
             "threads": self.threads, "functional_only": False},
            artifact_info(onnx, self.variant) if onnx.is_file() else {"file": "deploy graph", "variant": self.variant},
            self._method(warmup, runs, batch), first, load_ms, samples, "benchmarks.runners.host",
        )

    def roofline(self, result: dict[str, Any]) -> None:
        """Attach MACs / latency against the measured fp32 matmul peak (same threads, same run)."""
        from model.build import build_deploy_model
        from model.tools.summary import count_macs

        model = build_deploy_model(self.variant, _ckpt_of(self.dir, self.variant))
        macs = count_macs(model, model.example_input())
        peak = measure_matmul_peak_gflops(self.threads)
        achieved = 2 * macs / (result["timings_ms"]["p50"] / 1e3) / 1e9
        result["roofline"] = {"macs": macs, "achieved_gflops": achieved, "peak_gflops_fp32_matmul": peak,
                              "ratio": achieved / peak, "threads": self.threads}


def _ckpt_of(art_dir: Path, variant: str) -> str | None:
    """The checkpoint the artifacts were exported from, if it is a file here (else untrained)."""
    import json

    contract = art_dir / f"meshpose_{variant}.tflite.contract.json"
    if not contract.is_file():
        return None
    src = json.loads(contract.read_text())["checkpoint"]
    if not src.get("trained"):
        return None
    from model.registry import CHECKPOINT_DIR

    path = CHECKPOINT_DIR / src["source"]
    return str(path) if path.is_file() else None


def _version(pkg: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def run_host(device: dict, variant: str, artifacts: Path, *, runs: int, warmup: int, sustained_s: float,
             quick: bool = False) -> list[dict[str, Any]]:
    """Every host measurement for one variant, side by side in one process."""
    runner = HostRunner(device, variant, artifacts)
    results = []
    log(f"host: TFLite XNNPACK fp32 ({runs} runs, {runner.threads} threads) + end to end")
    fp32 = runner.tflite("fp32", warmup, runs, sustained_s, e2e=True)
    runner.roofline(fp32)
    results.append(fp32)
    for precision in ("fp16", "int8"):
        name = {"fp16": "_fp16", "int8": "_int8"}[precision]
        if (runner.dir / f"meshpose_{variant}{name}.tflite").is_file():
            log(f"host: TFLite XNNPACK {precision}")
            results.append(runner.tflite(precision, warmup, runs, 0, e2e=False))
    log("host: PyTorch eager")
    results.append(runner.pytorch(warmup, max(10, runs // 2)))
    if (runner.dir / f"meshpose_{variant}.onnx").is_file():
        log("host: ONNX Runtime")
        results.append(runner.onnxruntime(warmup, runs))
    if not quick:
        log(f"host: batched throughput (batch {THROUGHPUT_BATCH}): PyTorch, ONNX Runtime")
        results.append(runner.pytorch(2, max(5, runs // 10), THROUGHPUT_BATCH))
        if (runner.dir / f"meshpose_{variant}.onnx").is_file():
            results.append(runner.onnxruntime(2, max(5, runs // 10), THROUGHPUT_BATCH))
    from model.registry import get_variant

    if get_variant(variant).gpu_precision != "fp16":
        log(f"host: LiteRT GPU on lavapipe skipped for {variant}: it runs the GPU in "
            f"{get_variant(variant).gpu_precision}, 15-90 s a run in software Vulkan; the export gates check it")
    elif os.environ.get("MESHPOSE_BENCH_GPU", "1") == "1":
        log("host: LiteRT GPU on lavapipe (functional only)")
        try:
            results.append(runner.tflite_gpu(warmup, max(5, runs // 10)))
        except Exception as exc:  # a missing Vulkan device is reported, the CPU figures stand
            log(f"host: GPU path skipped: {exc}")
    torch_p50 = next(r for r in results if r["runtime"]["name"] == "pytorch")["timings_ms"]["p50"]
    fp32["notes"] = (f"side by side in one run: PyTorch eager p50 {torch_p50:.2f} ms, "
                     f"TFLite XNNPACK p50 {fp32['timings_ms']['p50']:.2f} ms "
                     f"(speed-up {torch_p50 / fp32['timings_ms']['p50']:.2f}x)")
    for r in results:
        r["fps"] = fps_from_p50(r["timings_ms"]["p50"], r["method"]["batch"])
    return results
