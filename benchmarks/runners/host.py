"""Host runner (this machine): PyTorch eager, ONNX Runtime, TFLite XNNPACK (fp32, fp16 weights,
int8) and the TFLite GPU path on the software Vulkan device (functional only, never a phone
figure); batch-1 latency, batched throughput, end-to-end per-frame time beside model-only
time, and a roofline ratio against this CPU's measured fp32 matmul peak.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.interleave import Contender, interleave, speedup
from benchmarks.runners import BenchError
from benchmarks.runners.common import artifact_info, base_result, sustained, time_calls
from benchmarks.stats import fps_from_p50, summarize_ms, sustained_trend
from model.cli import say
from model.pipeline.crop import Crop, crop_from_box
from model.pipeline.decode import decode_outputs

FRAME_WH = (1280, 720)  # camera frame for the end-to-end measurement
THROUGHPUT_BATCH = 8


def log(msg: str) -> None:
    """Progress on the terminal (also while the runtimes' own output goes to the bench log)."""
    say(f">> {msg}")


def measure_matmul_peak_gflops(threads: int, n: int = 1024, runs: int = 10) -> float:
    """fp32 GEMM throughput of this CPU at `threads` threads (median of `runs`), in GFLOP/s."""
    torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    _, samples = time_calls(lambda: torch.mm(a, b), warmup=3, runs=runs)
    return 2 * n**3 / (np.median(samples) / 1e3) / 1e9


def _origin_of(artifact: Path) -> tuple[float, float, float]:
    """The artifact's output origin from the contract beside it (what decoding adds to its vertices)."""
    from export.artifact_run import read_contract
    from export.contract import output_origin

    contract = artifact.with_name(artifact.name + ".contract.json")
    if not contract.is_file():
        raise BenchError(f"{contract} missing: re-export the artifact (its contract says how to decode it)")
    return output_origin(read_contract(artifact))


class FramePipeline:
    """Camera frame (uint8 RGBA, the layout phone cameras deliver) -> model input (crop + bilinear
    resize, model/pipeline's sampling convention) -> raw outputs -> decoded mesh."""

    def __init__(self, in_w: int, in_h: int, nhwc: bool = False,
                 origin: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        import cv2

        cv2.setNumThreads(1)
        self.cv2 = cv2
        self.in_w, self.in_h, self.nhwc, self.origin = in_w, in_h, nhwc, origin
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
        return decode_outputs(out["vertices"][0], out["visibility"][0], joints, self.crop, self.in_w, self.in_h,
                              origin=self.origin)


@dataclass
class Prepared:
    """A runtime loaded and fed, ready to time, with what its result records about it."""

    contender: Contender
    load_ms: float
    runtime: dict[str, Any]
    artifact: dict[str, Any]
    batch: int = 1
    notes: str = ""
    handles: dict[str, Any] = field(default_factory=dict)  # runtime objects the extras need


class HostRunner:
    """Runs every host runtime on the exported artifacts of one variant."""

    def __init__(self, device: dict, variant: str, artifacts: Path, threads: int = 2) -> None:
        self.device, self.variant, self.threads = device, variant, threads
        self.dir = artifacts / variant
        if not (self.dir / f"meshpose_{variant}.tflite").is_file():
            raise BenchError(f"no exported model in {self.dir}; run `make export-tflite export-onnx VARIANT={variant}`")

    def result(self, p: Prepared, warmup: int, sustained_s: float | None = None) -> dict[str, Any]:
        """The schema-shaped result of a prepared runtime from the calls it was timed for."""
        samples = p.contender.samples
        method = {"warmup_runs": warmup, "timed_runs": len(samples), "batch": p.batch,
                  "sustained_seconds": sustained_s or None, "cooldown_seconds": None}
        return base_result(self.device, p.runtime, p.artifact, method, p.contender.first_ms, p.load_ms, samples,
                           "benchmarks.runners.host", notes=p.notes)

    def measure(self, p: Prepared, warmup: int, runs: int) -> dict[str, Any]:
        """Time a prepared runtime on its own (rows that are not compared in rounds)."""
        first, samples = time_calls(p.contender.call, warmup, runs)
        p.contender.first_ms, p.contender.rounds = first, [samples]
        return self.result(p, warmup)

    def prepare_tflite(self, precision: str) -> Prepared:
        """XNNPACK interpreter with its input set once: a call is one invoke()."""
        from ai_edge_litert.interpreter import Interpreter

        from export.tflite.run import _quantize

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
        interp.set_tensor(inp["index"], _quantize(np.full(inp["shape"], 127.0, np.float32), inp))
        label = "fp16-weights" if precision == "fp16" else precision
        return Prepared(Contender(f"TFLite XNNPACK {label}", interp.invoke), load_ms,
                        {"name": "tflite", "version": _version("ai-edge-litert"), "accelerator": "xnnpack",
                         "precision": label, "threads": self.threads, "functional_only": False},
                        artifact_info(path, self.variant),
                        handles={"interp": interp, "input": inp, "origin": _origin_of(path)})

    def prepare_two_part(self) -> Prepared | None:
        """The two-part GPU deployment's files chained on XNNPACK (fp32): a call invokes the backbone, copies its
        feature maps into the heads' inputs by name, as an app on the CPU fallback would, and invokes the heads;
        what the split costs on a CPU against the one file's invoke(). None when the deployment is not exported."""
        from ai_edge_litert.interpreter import Interpreter

        from export.artifact_run import part_paths, read_contract
        from export.tflite.run import SIGNATURE
        from export.tflite.two_part import deployment_name

        path = self.dir / deployment_name(f"meshpose_{self.variant}")
        if not path.with_name(path.name + ".contract.json").is_file():
            return None
        t0 = time.perf_counter()
        interps = []
        for part in part_paths(path, read_contract(path)):
            interp = Interpreter(model_path=str(part), num_threads=self.threads)
            interp.allocate_tensors()
            interps.append(interp)
        load_ms = (time.perf_counter() - t0) * 1e3
        backbone, heads = interps
        # tensor indices by signature name: the backbone's outputs are the heads' inputs (the contract's parts)
        produced = backbone.get_signature_runner(SIGNATURE).get_output_details()
        consumed = heads.get_signature_runner(SIGNATURE).get_input_details()
        hand_off = [(produced[name]["index"], consumed[name]["index"]) for name in consumed]
        image = backbone.get_input_details()[0]
        backbone.set_tensor(image["index"], np.full(image["shape"], 127.0, np.float32))

        def chained():
            backbone.invoke()
            for src, dst in hand_off:
                heads.set_tensor(dst, backbone.get_tensor(src))
            heads.invoke()

        return Prepared(Contender("TFLite XNNPACK two-part fp32", chained), load_ms,
                        {"name": "tflite", "version": _version("ai-edge-litert"), "accelerator": "xnnpack",
                         "precision": "fp32", "threads": self.threads, "functional_only": False},
                        artifact_info(path, self.variant), handles={"split_of_one_file": True},
                        notes="the GPU deployment's two files chained on the CPU (its fallback), maps copied between")

    def end_to_end(self, p: Prepared) -> Contender:
        """One camera frame through a TFLite row: crop and resize, set the input, invoke, decode."""
        from export.tflite.run import _dequantize, _quantize

        interp, inp = p.handles["interp"], p.handles["input"]
        names = {d["name"]: d for d in interp.get_output_details()}
        by_contract = {k: next(d for n, d in names.items() if k in n)
                       for k in ("vertices", "visibility", "joints") if any(k in n for n in names)}
        shape = inp["shape"]
        pipe = FramePipeline(int(shape[3]), int(shape[2]), origin=p.handles["origin"])

        def frame_step():
            interp.set_tensor(inp["index"], _quantize(pipe.preprocess(), inp))
            interp.invoke()
            return pipe.decode({k: _dequantize(interp.get_tensor(d["index"]), d) for k, d in by_contract.items()})

        return Contender(f"{p.contender.name} end to end", frame_step)

    @staticmethod
    def attach_end_to_end(result: dict[str, Any], e2e: Contender, model: Contender) -> None:
        """End-to-end figures of a row, and its ratio to model-only time from the same rounds."""
        s = summarize_ms(e2e.samples)
        ratios = [float(np.median(a) / np.median(b)) for a, b in zip(e2e.rounds, model.rounds)]
        result["end_to_end_ms"] = {"p50": s["p50"], "p90": s["p90"], "p99": s["p99"],
                                   "ratio_to_model_p50": float(np.median(ratios)),
                                   "frame": f"{FRAME_WH[0]}x{FRAME_WH[1]} uint8 RGB"}

    def sustained_fps(self, p: Prepared, result: dict[str, Any], seconds: float) -> None:
        """Back-to-back runs for `seconds`: the FPS trend (throttling on phones; load here)."""
        fps, stamps = sustained(p.contender.call, seconds)
        result["sustained"] = {"seconds": seconds, "fps": fps, "trend": sustained_trend(stamps, 1.0)}
        result["method"]["sustained_seconds"] = seconds

    def tflite_gpu(self, warmup: int, runs: int) -> dict[str, Any]:
        """LiteRT CompiledModel on the GPU accelerator over lavapipe: functional only."""
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator

        from export.tflite.gpu import vulkan_environment

        path = self.dir / f"meshpose_{self.variant}.tflite"
        vulkan_environment()
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

        p = Prepared(Contender("LiteRT GPU (lavapipe)", run_and_read), load_ms,
                     {"name": "litert", "version": _version("ai-edge-litert"),
                      "accelerator": "gpu (lavapipe software Vulkan)", "precision": "fp16", "threads": None,
                      "functional_only": True},
                     artifact_info(path, self.variant),
                     notes="software Vulkan on the CPU: checks delegation and fp16 numerics; NOT a phone GPU figure")
        res = self.measure(p, warmup, runs)
        res["delegation"] = {"fully_delegated": bool(model.is_fully_accelerated())}
        return res

    def prepare_onnxruntime(self, batch: int = 1) -> Prepared:
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
        feed = {"image": np.full(sess.get_inputs()[0].shape, 127.0, np.float32)}
        return Prepared(Contender(f"ONNX Runtime CPU b{batch}", lambda: sess.run(None, feed)), load_ms,
                        {"name": "onnxruntime", "version": ort.__version__, "accelerator": "cpu",
                         "precision": "fp32", "threads": self.threads, "functional_only": False},
                        artifact_info(path, self.variant), batch,
                        "" if batch == 1 else f"batch-{batch} ONNX exported from the same checkpoint for throughput")

    def _batched_onnx(self, batch: int) -> Path:
        from export.onnx.convert import export_onnx
        from model.build import build_deploy_model

        model = build_deploy_model(self.variant, _ckpt_of(self.dir, self.variant))
        x = torch.rand(batch, *model.input_shape[1:]) * 255
        out = Path(tempfile.mkdtemp()) / f"meshpose_{self.variant}_b{batch}.onnx"
        return export_onnx(model, x, out)

    def prepare_pytorch(self, batch: int = 1) -> Prepared:
        """PyTorch eager on the deploy graph (same checkpoint as the artifacts), in inference mode."""
        from model.build import build_deploy_model

        torch.set_num_threads(self.threads)
        t0 = time.perf_counter()
        model = build_deploy_model(self.variant, _ckpt_of(self.dir, self.variant))
        load_ms = (time.perf_counter() - t0) * 1e3
        x = torch.full((batch, *model.input_shape[1:]), 127.0)

        def call():
            with torch.inference_mode():
                return model(x)

        onnx = self.dir / f"meshpose_{self.variant}.onnx"
        return Prepared(Contender(f"PyTorch eager b{batch}", call), load_ms,
                        {"name": "pytorch", "version": torch.__version__, "accelerator": "cpu", "precision": "fp32",
                         "threads": self.threads, "functional_only": False},
                        artifact_info(onnx, self.variant) if onnx.is_file() else
                        {"file": "deploy graph", "variant": self.variant}, batch)

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


def rounds_for(runs: int) -> tuple[int, int]:
    """(rounds, calls per round) for about `runs` timed calls per runtime: at least 3 rounds (a spread
    needs them), at most 10, and at least 3 calls a round."""
    rounds = max(3, min(10, runs // 10))
    return rounds, max(3, -(-runs // rounds))


def _cpu_contenders(runner: HostRunner) -> tuple[list[Prepared], Prepared, Contender]:
    """The batch-1 CPU runtimes present (PyTorch among them) and the TFLite fp32 end-to-end step."""
    variant = runner.variant
    cpu = [runner.prepare_tflite("fp32")]
    for precision, suffix in (("fp16", "_fp16"), ("int8", "_int8")):
        if (runner.dir / f"meshpose_{variant}{suffix}.tflite").is_file():
            cpu.append(runner.prepare_tflite(precision))
    two_part = runner.prepare_two_part()
    if two_part is not None:
        cpu.append(two_part)
    torch_row = runner.prepare_pytorch()
    cpu.append(torch_row)
    if (runner.dir / f"meshpose_{variant}.onnx").is_file():
        cpu.append(runner.prepare_onnxruntime())
    return cpu, torch_row, runner.end_to_end(cpu[0])


def rounds_in_fresh_process(device: dict, variant: str, artifacts: str, rounds: int, per_round: int,
                            warmup: int, threads: int) -> dict[str, list[list[float]]]:
    """Interleaved rounds in this (new) process: {runtime name: timed ms per round}. Run through a spawned
    interpreter, so that what one process's state does to a runtime (memory layout, thread placement)
    shows up in the spread instead of as a speed-up."""
    runner = HostRunner(device, variant, Path(artifacts), threads)
    cpu, _, e2e = _cpu_contenders(runner)
    timed = [p.contender for p in cpu] + [e2e]
    interleave(timed, rounds, per_round, warmup)
    return {c.name: c.rounds for c in timed}


def run_host(device: dict, variant: str, artifacts: Path, *, runs: int, warmup: int, sustained_s: float,
             quick: bool = False, processes: int = 3) -> list[dict[str, Any]]:
    """Every host measurement for one variant; the batch-1 CPU runtimes in interleaved rounds spread over
    `processes` processes (this one and fresh ones), their speed-ups over PyTorch as medians of per-round
    ratios with their spread."""
    import multiprocessing

    runner = HostRunner(device, variant, artifacts)
    cpu, torch_row, e2e = _cpu_contenders(runner)
    total_rounds, per_round = rounds_for(runs)
    processes = max(1, min(processes, total_rounds))
    rounds = -(-total_rounds // processes)  # per process
    timed = [p.contender for p in cpu] + [e2e]
    log(f"host: {len(timed)} runtimes interleaved in {rounds * processes} rounds of {per_round} calls over "
        f"{processes} processes ({runner.threads} threads): " + ", ".join(c.name for c in timed))
    interleave(timed, rounds, per_round, warmup, progress=log)
    if processes > 1:
        ctx = multiprocessing.get_context("spawn")
        # one at a time (they must not compete for the cores), a new process per task
        with ctx.Pool(1, maxtasksperchild=1) as pool:
            for k in range(1, processes):
                log(f"host: rounds in fresh process {k + 1}/{processes}")
                more = pool.apply(rounds_in_fresh_process,
                                  (device, variant, str(artifacts), rounds, per_round, warmup, runner.threads))
                for c in timed:
                    c.rounds += more[c.name]
    results = [runner.result(p, warmup) for p in cpu]
    for p, r in zip(cpu, results):
        if p is not torch_row:
            ratio = speedup(p.contender, torch_row.contender)
            r["interleaved"] = ratio.as_dict()
            log(f"host: {ratio}")
        if p.handles.get("split_of_one_file"):  # the split's cost, against the one-file graph (cpu[0])
            split = speedup(p.contender, cpu[0].contender)
            r["notes"] += (f"; {1 / split.median:.3f}x the one-file fp32 time in the same rounds "
                           f"(IQR {1 / split.p75:.3f}-{1 / split.p25:.3f})")
            log(f"host: {split}")
    fp32 = results[0]
    runner.attach_end_to_end(fp32, e2e, cpu[0].contender)
    if sustained_s:
        log(f"host: TFLite XNNPACK fp32 {sustained_s:.0f} s sustained")
        runner.sustained_fps(cpu[0], fp32, sustained_s)
    runner.roofline(fp32)
    if not quick:
        log(f"host: batched throughput (batch {THROUGHPUT_BATCH}): PyTorch, ONNX Runtime")
        batched = [runner.prepare_pytorch(THROUGHPUT_BATCH)]
        if (runner.dir / f"meshpose_{variant}.onnx").is_file():
            batched.append(runner.prepare_onnxruntime(THROUGHPUT_BATCH))
        b_rounds, b_per_round = rounds_for(max(5, runs // 10))
        interleave([p.contender for p in batched], b_rounds, b_per_round, 2, progress=log)
        results += [runner.result(p, 2) for p in batched]
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
    r = fp32["interleaved"]
    fp32["notes"] = (f"interleaved with PyTorch eager in {r['rounds']} rounds: {r['median']:.2f}x faster "
                     f"(IQR {r['iqr'][0]:.2f}-{r['iqr'][1]:.2f})" + ("; NOISY" if r["noisy"] else ""))
    for res in results:
        res["fps"] = fps_from_p50(res["timings_ms"]["p50"], res["method"]["batch"])
    return results
