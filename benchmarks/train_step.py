"""`python -m benchmarks.train_step` (make bench-train-step): one training step (forward, the
paper's losses, backward) of a variant on this host, with the argsoftmax gradient in closed form
(what training uses) and through plain autograd, interleaved so both see the same machine load.
Prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import argparse
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
    from model.train.loop import compute_losses, loss_constants

    p = argparse.ArgumentParser(prog="python -m benchmarks.train_step", description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="xs")
    p.add_argument("--data", type=Path, default=Path("data/synthetic/train"))
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    template = load_template()
    net = create_model(args.variant, template).train()
    layers = [m for m in net.modules() if isinstance(m, SpatialArgSoftmax)]
    try:
        data = MeshPoseDataset(args.data, template)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    batch = data.batch(list(range(args.batch_size)), 0, 0)
    consts = loss_constants(template)
    cfg, height = get_config(args.variant), net.input_hw[0]
    times: dict[str, list[float]] = {"closed-form": [], "autograd": []}
    for run in range(args.runs + 1):  # the first round warms up
        for name, seconds in times.items():
            for layer in layers:  # eval mode makes the layer take plain autograd
                layer.training = name == "closed-form"
            t0 = time.perf_counter()
            loss, _ = compute_losses(net(batch["image"]), batch, consts, cfg, height)
            net.zero_grad(set_to_none=True)
            loss.backward()
            if run:
                seconds.append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"{args.variant}, batch {args.batch_size}, {args.threads} thread(s), {args.runs} runs each:")
    for name, m in med.items():
        print(f"  {name:12s} median {m:.3f} s per step")
    print(f"  closed-form gradient is {med['autograd'] / med['closed-form']:.2f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
