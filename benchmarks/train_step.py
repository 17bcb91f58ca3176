"""`python -m benchmarks.train_step` (make bench-train-step): the time of one training step, and of a batch.

One training step (forward, the paper's losses, backward) of a variant on this host, with the argsoftmax
gradient in closed form (what training uses) and through plain autograd, interleaved so both see the same
machine load, on the CPU or a GPU (`--device`). Prints the median seconds of each and their ratio, and the median time
one process takes to build a batch (decode, augment), so that `--workers` can be sized to keep the step fed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from model.cli import run_main


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from model.build import create_model
    from model.network.argsoftmax import SpatialArgSoftmax
    from model.template import load_template
    from model.train.config import get_config
    from model.train.dataset import MeshPoseDataset
    from model.train.device import DEVICE_HELP, describe, move_batch, resolve_device
    from model.train.loop import compute_losses, loss_constants

    p = argparse.ArgumentParser(prog="python -m benchmarks.train_step", description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="xs")
    p.add_argument("--data", type=Path, default=Path("data/synthetic/train"))
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help=DEVICE_HELP)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    template = load_template()
    try:
        device = resolve_device(args.device)
        data = MeshPoseDataset(args.data, template)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    net = create_model(args.variant, template).train().to(device)
    layers = [m for m in net.modules() if isinstance(m, SpatialArgSoftmax)]
    build_times = []
    for run in range(args.runs):
        t0 = time.perf_counter()
        cpu_batch = data.batch([(run * args.batch_size + i) % len(data) for i in range(args.batch_size)], 0, 0)
        build_times.append(time.perf_counter() - t0)
    batch = move_batch(cpu_batch, device)
    image = batch["image"]
    consts = loss_constants(template, device=device)
    cfg, height = get_config(args.variant), net.input_hw[0]
    times: dict[str, list[float]] = {"closed-form": [], "autograd": []}
    for run in range(args.runs + 1):  # the first round warms up
        for name, seconds in times.items():
            for layer in layers:  # eval mode makes the layer take plain autograd
                layer.training = name == "closed-form"
            t0 = time.perf_counter()
            loss, _ = compute_losses(net(image), batch, consts, cfg, height)
            net.zero_grad(set_to_none=True)
            loss.backward()
            if device.type == "cuda":  # kernels run asynchronously: wait for the step's
                torch.cuda.synchronize(device)
            if run:
                seconds.append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"{args.variant}, batch {args.batch_size}, on {describe(device)}, {args.runs} runs each:")
    for name, m in med.items():
        print(f"  {name:12s} median {m:.3f} s per step")
    print(f"  closed-form gradient is {med['autograd'] / med['closed-form']:.2f}x faster")
    build = float(np.median(build_times))
    print(f"  building a batch (one process): median {build:.3f} s; about {math.ceil(build / med['closed-form'])} "
          "batch worker(s) (--workers) keep a closed-form step fed")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
