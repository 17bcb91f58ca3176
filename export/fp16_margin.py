"""`python -m export.fp16_margin`: how far the fp16 paths move a checkpoint's vertices, golden set and test renders.

It exports nothing. The export gates see the golden set; this tool adds renders the gates never saw (the
synthetic test split) and prints, per fp16 path, the 2D error against PyTorch fp32 on visible vertices
(median, p99, max) and how many inputs have a vertex over the fp16 gate, as a rate with its exact 95 %
interval, with the share of vertices the fp32 reference calls visible (the rows count only those: a
checkpoint that wins by calling fewer vertices visible shows here). The JSON keeps each input's largest
error, for paired comparisons. It is how the fp16 margin of a checkpoint is measured (docs/DESIGN.md §8,
"The fp16 margin at a glance"): run it on two checkpoints, with enough renders that the rates' intervals
can separate them (500, not 64, for rates of a few percent).

Paths: the LiteRT GPU accelerator on lavapipe in fp16 (`gpu`) and in fp16 with fp32 accumulation in its
convolutions and matmuls (`gpu-fp32acc`, LiteRT's `FP16_WITH_FP32_ACCUM`), the graph as two GPU models with the
backbone at fp32 and the heads in fp16 with fp32 accumulation (`gpu-two-part`, export/tflite/two_part.py), the
numpy fp16 simulation of the Core ML program (`coreml`), the ONNX model on Qualcomm's HTP simulator in fp16
(`qnn`: the export's `qnn-htp-fp16-sim` row, seconds per input), and fp16 arithmetic emulated in PyTorch (`torch16`: the
deploy graph run in float16 on the CPU, a quick proxy with no converter in the loop). One reference row is not fp16 at
all: `lsb`, PyTorch fp32 on the same inputs with uniform noise of +-0.5 grey level added (what the
last bit of an 8-bit camera does), which shows how much of an fp16 error the checkpoint's own
sensitivity to its input already explains.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from export.golden import golden_cases, golden_inputs, run_torch
from export.parity import FP16_MAX_PX, VISIBLE, compare_outputs
from model.cli import InputError, read_image, run_main

PATHS = ("gpu", "gpu-fp32acc", "gpu-two-part", "coreml", "qnn", "torch16", "lsb")
# The two LiteRT GPU paths and the GPU precision each runs at (export.tflite.compile_gpu).
GPU_PATH_PRECISIONS = {"gpu": "fp16", "gpu-fp32acc": "fp16-fp32acc"}
LSB_NOISE = 0.5  # grey levels: half of an 8-bit camera's quantisation step, either way


def test_renders(folder: Path, count: int, height: int, width: int) -> tuple[list[str], list[np.ndarray]]:
    """The first `count` images of a rendered split, as (1, 3, H, W) float32 inputs."""
    images = sorted((folder / "images").glob("*.png"))[:count]
    if len(images) < count:
        raise InputError(f"{folder}/images has {len(images)} renders, {count} asked: "
                         "render the test split with `python -m model.data.generate --splits test`")
    out = []
    for p in images:
        img = read_image(p)
        if img.shape[:2] != (height, width):
            raise InputError(f"{p} is {img.shape[1]}x{img.shape[0]}, the model takes {width}x{height}")
        out.append(img.astype(np.float32).transpose(2, 0, 1)[None].copy())
    return [p.stem for p in images], out


def per_input_max(reference: list[dict], outputs: list[dict]) -> list[float]:
    """Largest 2D error on visible vertices of each input (0 where none is visible, as the gates count it)."""
    out = []
    for ref, cand in zip(reference, outputs):
        d = np.linalg.norm(np.asarray(cand["vertices"], np.float64)[0, :, :2] - ref["vertices"][0, :, :2], axis=-1)
        vis = ref["visibility"][0] >= VISIBLE
        out.append(float(d[vis].max()) if vis.any() else 0.0)
    return out


def rate_over_gate(over: int, inputs: int) -> tuple[float, float, float]:
    """Share of inputs over the gate, with its exact (Clopper-Pearson) 95 % interval.

    A maximum over 64 renders is one draw of a rare event: 2 of 64 and 0 of 64 are both common for a file
    that puts 3 % of its inputs over. The rate and its interval say what a set of that size can tell apart.
    """
    if inputs < 1:
        raise ValueError("a rate needs at least one input")
    from scipy.stats import binomtest

    ci = binomtest(over, inputs).proportion_ci(confidence_level=0.95, method="exact")
    return over / inputs, float(ci.low), float(ci.high)


def visible_share(outputs: list[dict]) -> float:
    """Fraction of all vertices of all inputs that the outputs call visible (the vertices parity counts)."""
    vis = np.concatenate([np.asarray(o["visibility"]).reshape(-1) for o in outputs])
    return float((vis >= VISIBLE).mean())


class Fp16Runners:
    """The fp16 paths of one checkpoint, converted once into a scratch folder; a context manager that
    releases the compiled GPU models on exit."""

    def __init__(self, variant: str, ckpt: str | None, paths: tuple[str, ...], scratch: Path) -> None:
        from model.build import build_deploy_model

        self.model = build_deploy_model(variant, ckpt)
        self.name = self.model.input_name
        self.runners = {}
        self._compiled: list = []  # GPU models to release in close()
        example = self.model.example_input()
        gpu_paths = [p for p in GPU_PATH_PRECISIONS if p in paths]
        if gpu_paths:
            from export import tflite as tfl

            tfl_path = tfl.convert_tflite(self.model, example, scratch / "model.tflite", precision="fp32")
            for path in gpu_paths:
                # Compiled once (its shaders take seconds on lavapipe); released by close().
                gpu = tfl.compile_gpu(tfl_path, GPU_PATH_PRECISIONS[path])
                self._compiled.append(gpu)
                self.runners[path] = lambda x, gpu=gpu: gpu.run({self.name: x})
        if "gpu-two-part" in paths:
            from export.tflite.two_part import TwoPartGpu, convert_two_part

            two_part = TwoPartGpu(*convert_two_part(self.model, example, scratch / "two_part"))
            self._compiled.append(two_part)
            self.runners["gpu-two-part"] = lambda x: two_part.run({self.name: x})
        if "coreml" in paths:
            from export import coreml as cm
            from export.contract import build_contract

            mod = build_deploy_model(variant, ckpt, normalize_in_graph=False)
            contract = build_contract(mod, mod.template, fmt="coreml", artifact="m.mlpackage", precision="fp16",
                                      input_dtype="image", normalization_baked_in=True)
            pkg = cm.convert_coreml(mod, example, scratch / "model.mlpackage", contract=contract)
            self.runners["coreml"] = lambda x: cm.run_mil_fp16(pkg, {self.name: x})
        if "qnn" in paths:
            from export.onnx.convert import export_onnx
            from export.qnn.htp import htp_session, run_htp
            from export.qnn.pipeline import PARITY_SOC

            sim = htp_session(export_onnx(self.model, example, scratch / "model.onnx"), PARITY_SOC, fp16=True)
            self.runners["qnn"] = lambda x: run_htp(sim, {self.name: x})
        if "torch16" in paths:
            half = build_deploy_model(variant, ckpt).half()
            names = self.model.output_names

            def run_half(x: np.ndarray) -> dict[str, np.ndarray]:
                with torch.no_grad():
                    outs = half(torch.from_numpy(x).half())
                return {n: t.float().numpy() for n, t in zip(names, outs)}

            self.runners["torch16"] = run_half
        if "lsb" in paths:
            rng = np.random.default_rng(0)  # the same draws for every checkpoint compared

            def run_lsb(x: np.ndarray) -> dict[str, np.ndarray]:
                noise = rng.uniform(-LSB_NOISE, LSB_NOISE, x.shape).astype(np.float32)
                return run_torch(self.model, np.clip(x + noise, 0.0, 255.0))

            self.runners["lsb"] = run_lsb

    def close(self) -> None:
        """Release the compiled GPU models (the runners of the GPU paths stop working)."""
        for gpu in self._compiled:
            gpu.close()
        self._compiled.clear()

    def __enter__(self) -> Fp16Runners:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def input_sets(height: int, width: int, renders: Path | None, count: int,
               golden: int | None = None) -> dict[str, tuple[list[str], list[np.ndarray]]]:
    """The input sets the fp16 tools measure on: the golden set (its first `golden` cases; all by default, none
    for 0) and, when `renders` is given and `count` > 0, the first `count` renders of that split, as (names,
    inputs)."""
    sets = {}
    if golden != 0:
        sets["golden"] = ([c.name for c in golden_cases(golden)], golden_inputs(height, width, golden))
    if renders is not None and count:
        sets["test"] = test_renders(renders, count, height, width)
    return sets


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """The options every fp16 tool takes: which network, and which inputs (the golden set plus fresh renders)."""
    p.add_argument("--variant", default="xs")
    p.add_argument("--ckpt", default=None, help="safetensors checkpoint (default: the shipped one)")
    p.add_argument("--renders", type=Path, default=Path("data/synthetic/test"),
                   help="a rendered split (default: the synthetic test split)")
    p.add_argument("--count", type=int, default=64, help="fresh renders to add to the golden set (0: none)")
    p.add_argument("--golden", type=int, default=None, help="golden cases to use (default: all; 0: none, renders only)")


def check_input_arguments(args: argparse.Namespace) -> None:
    """Refuse, before any conversion, input options that leave nothing to measure or cannot be met."""
    from export.golden import golden_cases

    if args.count < 0 or (args.golden is not None and args.golden < 0):
        raise InputError("--count and --golden take a number of inputs, 0 or more")
    if args.count == 0 and args.golden == 0:
        raise InputError("--count 0 and --golden 0 leave nothing to measure")
    if args.golden:
        try:  # the golden set's own bound, asked now rather than after the conversion
            golden_cases(args.golden)
        except ValueError as exc:
            raise InputError(f"--golden {args.golden}: {exc}") from None


def measure(variant: str, ckpt: str | None, renders: Path | None, count: int, paths: tuple[str, ...],
            golden: int | None = None) -> dict:
    """Per path and input set: median / p99 / max 2D error and the inputs over the fp16 gate."""
    if ckpt is None:
        from export.session import resolve_checkpoint

        ckpt = resolve_checkpoint(variant, None)
    with tempfile.TemporaryDirectory() as tmp, Fp16Runners(variant, ckpt, paths, Path(tmp)) as runners:
        h, w = runners.model.net.input_hw
        sets = input_sets(h, w, renders, count, golden)
        result: dict = {"variant": variant, "checkpoint": ckpt or "shipped", "sets": {}}
        for set_name, (names, inputs) in sets.items():
            reference = [run_torch(runners.model, x) for x in inputs]
            share = visible_share(reference)
            print(f"{set_name:6s} {len(inputs)} inputs, {100 * share:.1f} % of vertices visible (fp32)", flush=True)
            rows = {"visible_share": share}
            for path, run in runners.runners.items():
                t0 = time.perf_counter()
                outs = [{k: np.asarray(v) for k, v in run(x).items()} for x in inputs]
                row = compare_outputs(path, "fp16", reference, outs)
                worst = per_input_max(reference, outs)
                over = [n for n, e in zip(names, worst) if e > FP16_MAX_PX]
                rate, low, high = rate_over_gate(len(over), len(inputs))
                rows[path] = {"median_px": row.err2d_median_px, "p99_px": row.err2d_p99_px,
                              "max_px": row.err2d_max_px, "worst_input": names[int(np.argmax(worst))],
                              "inputs_over_gate": over, "inputs": len(inputs),
                              "rate_over_gate": rate, "rate_ci95": [low, high],
                              "input_max_px": dict(zip(names, worst)),
                              "seconds": round(time.perf_counter() - t0, 1)}
                print(f"{set_name:6s} {path:8s} median {row.err2d_median_px:.4f}  p99 {row.err2d_p99_px:.4f}  "
                      f"max {row.err2d_max_px:.4f} px ({names[int(np.argmax(worst))]})  "
                      f"over {FP16_MAX_PX} px: {len(over)}/{len(inputs)} "
                      f"({100 * rate:.1f} %, 95 % interval {100 * low:.1f}-{100 * high:.1f} %)", flush=True)
            result["sets"][set_name] = rows
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m export.fp16_margin", description=__doc__.splitlines()[0])
    add_input_arguments(p)
    p.add_argument("--paths", default="gpu,coreml", help=f"comma-separated, of {', '.join(PATHS)}")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    check_input_arguments(args)
    paths = tuple(s for s in args.paths.split(",") if s)
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise InputError(f"unknown path(s) {sorted(unknown)}; choose from {', '.join(PATHS)}")
    result = measure(args.variant, args.ckpt, args.renders if args.count else None, args.count, paths, args.golden)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
