"""`python -m benchmarks.argsoftmax`: compare the fused argsoftmax formulations on this CPU.

For each mode it prints the median latency of the layer on xs-sized heatmaps (V=518,
64x48) in float32, and its error in float16 against a float64 reference, in pixels of
the 256x192 input. The default mode of model/network/argsoftmax.py is chosen from this table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from model.network.argsoftmax import ARGSOFTMAX_MODES, SpatialArgSoftmax, naive_argsoftmax


def _peaked_heatmaps(v: int, h: int, w: int, seed: int) -> torch.Tensor:
    """Gaussian blobs at random sub-pixel positions plus noise: realistic trained-heatmap logits."""
    g = torch.Generator().manual_seed(seed)
    cy = torch.rand(v, 1, 1, generator=g) * (h - 1)
    cx = torch.rand(v, 1, 1, generator=g) * (w - 1)
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    blob = -((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * 1.5**2)
    return (blob + 0.05 * torch.randn(v, h, w, generator=g)).unsqueeze(0)


def time_layer(layer: torch.nn.Module, x: torch.Tensor, runs: int) -> float:
    """Median milliseconds of `runs` calls after 5 warm-up calls."""
    times = []
    with torch.no_grad():
        for _ in range(5):
            layer(x)
        for _ in range(runs):
            t0 = time.perf_counter()
            layer(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vertices", type=int, default=518)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=48)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    v, h, w = args.vertices, args.height, args.width
    x = _peaked_heatmaps(v, h, w, seed=0)
    ref = naive_argsoftmax(x, 10.0)
    half_px = torch.tensor([w * args.stride / 2.0, h * args.stride / 2.0], dtype=torch.float64)
    print(f"argsoftmax on (1, {v}, {h}, {w}), beta=10, torch {torch.__version__}, threads={torch.get_num_threads()}")
    print("| mode | fp32 median ms | fp16 median err px | fp16 max err px |")
    print("|---|---|---|---|")
    for mode in ARGSOFTMAX_MODES:
        layer = SpatialArgSoftmax(h, w, beta=10.0, mode=mode)
        ms = time_layer(layer, x, args.runs)
        with torch.no_grad():
            out16 = layer.half()(x.half()).double()
        err = ((out16 - ref) * half_px).norm(dim=-1)
        print(f"| {mode} | {ms:.3f} | {err.median().item():.4f} | {err.max().item():.4f} |")


if __name__ == "__main__":
    main()
