"""What the tools that fit one head on a frozen network share (`refit_segmentation`, `fit_trust`, `refit_lift`):
load the checkpoint frozen, train only the head (on cached samples: `fit_on_cache`), prove nothing else moved,
and write the file with a record of the fit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from model.checkpoint import CheckpointInfo, extra_metadata, read_checkpoint_info, save_checkpoint


def load_frozen(ckpt: Path):
    """(network in eval mode, checkpoint info, template) of `ckpt`; batch norm statistics stay the file's."""
    from model.build import create_model
    from model.checkpoint import load_checkpoint
    from model.template import load_template

    info = read_checkpoint_info(ckpt)
    template = load_template()
    net = create_model(info.variant, template)
    load_checkpoint(net, ckpt, variant=info.variant, template=template)
    return net.eval(), info, template


def train_only(net: torch.nn.Module, head: torch.nn.Module) -> None:
    """Gradients for `head`'s parameters and no other."""
    for p in net.parameters():
        p.requires_grad_(False)
    for p in head.parameters():
        p.requires_grad_(True)


def moved_tensors(net: torch.nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    """Names of the tensors of `before` whose values in `net` differ from it."""
    state = net.state_dict()
    return [k for k, v in before.items() if not torch.equal(state[k], v)]


def save_fit(net: torch.nn.Module, out: Path, info: CheckpointInfo, template, key: str, record: dict) -> None:
    """Write `net` to `out` with the source's metadata and `record` under `key`."""
    extra = extra_metadata(info.metadata)
    extra[key] = json.dumps(record)
    save_checkpoint(net, out, variant=info.variant, template=template, trained=True, extra=extra)


def fit_on_cache(parameters: Iterable[torch.nn.Parameter], n: int, batch_loss: Callable[[torch.Tensor], torch.Tensor],
                 epochs: int, lr: float, batch: int = 32, seed: int = 0) -> list[float]:
    """Adam with a one-cycle learning rate over `n` cached samples, `batch_loss(indices)` the loss of a batch;
    returns the mean loss of each epoch."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(parameters, lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * -(-n // batch), pct_start=0.1)
    history = []
    for epoch in range(epochs):
        order, total = torch.randperm(n, generator=g), 0.0
        for k in range(0, n, batch):
            idx = order[k:k + batch]
            loss = batch_loss(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / n)
        print(f">> epoch {epoch + 1}/{epochs}: loss {history[-1]:.5f}", flush=True)
    return history
