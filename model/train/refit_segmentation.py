"""`python -m model.train.refit_segmentation`: refit the segmentation head of a checkpoint, nothing else.

The segmentation head is one 1x1 convolution (2 classes) on the VertexPose branch's features; it serves the
DensePose metrics (mask IoU, GPSm) and the deployed graph drops it. A fine-tune with frames that hold no
person trains it towards background (model card, stage 5), and on people it then loses mask IoU. Refitting
it alone, on features of the frozen network, recovers that without moving any deployed output: every other
tensor of the checkpoint is copied bit for bit (checked before writing).

Samples are drawn as training draws them (augmented, with the given share of frames that hold no person);
the features are computed once and cached in fp16, then the convolution is fitted by Adam on the same
cross-entropy as training (model.train.losses.segmentation_ce, on segmentation_target's classes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from model.checkpoint import file_sha256
from model.cli import InputError, run_main
from model.train.head_fit import load_frozen, moved_tensors, save_fit, train_only
from model.train.losses import segmentation_target


def cache_features(net: torch.nn.Module, dataset, indices: np.ndarray, batch: int = 16,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The segmentation head's input features (N, C, h, w) in fp16 and its targets (N, h, w) for `indices`."""
    store: dict[str, torch.Tensor] = {}
    hook = net.vertexpose.segmentation.register_forward_pre_hook(lambda _m, a: store.__setitem__("x", a[0]))
    feats, targets = [], []
    t0 = time.perf_counter()
    try:
        with torch.no_grad():
            for k in range(0, len(indices), batch):
                b = dataset.batch([int(i) for i in indices[k:k + batch]], epoch=0, seed=seed, augment=True)
                net(b["image"])
                feats.append(store["x"].half())
                targets.append(segmentation_target(b["mask"]))
                if (k // batch) % 16 == 0:
                    print(f">> features {min(k + batch, len(indices))}/{len(indices)} "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        hook.remove()
    return torch.cat(feats), torch.cat(targets)


def mean_loss(conv: torch.nn.Module, feats: torch.Tensor, targets: torch.Tensor, chunk: int = 64) -> float:
    """Cross-entropy of `conv` over all cached samples."""
    total = 0.0
    with torch.no_grad():
        for k in range(0, len(feats), chunk):
            logits = conv(feats[k:k + chunk].float())
            total += float(F.cross_entropy(logits, targets[k:k + chunk], reduction="sum"))
    return total / targets.numel()


def fit(conv: torch.nn.Module, feats: torch.Tensor, targets: torch.Tensor, epochs: int, lr: float,
        batch: int = 32, seed: int = 0) -> list[float]:
    """Adam on the cached features; returns the mean loss before training and after each epoch."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(conv.parameters(), lr=lr)
    history = [mean_loss(conv, feats, targets)]
    for _ in range(epochs):
        order = torch.randperm(len(feats), generator=g)
        for k in range(0, len(feats), batch):
            j = order[k:k + batch]
            loss = F.cross_entropy(conv(feats[j].float()), targets[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
        history.append(mean_loss(conv, feats, targets))
        print(f">> epoch {len(history) - 1}/{epochs}: loss {history[-1]:.5f}", flush=True)
    return history


def refit_segmentation(ckpt: Path, data: Path, out: Path, samples: int, epochs: int, lr: float,
                       negative_probability: float, seed: int = 0) -> dict:
    """Refit the segmentation head of `ckpt` on `samples` renders of `data`; write `out`; return the record."""
    from model.train.dataset import MeshPoseDataset

    net, info, template = load_frozen(ckpt)
    if net.vertexpose.segmentation is None:
        raise InputError(f"{ckpt}: variant {info.variant} has no segmentation head")
    dataset = MeshPoseDataset(data, template, negative_probability=negative_probability)
    if samples > len(dataset):
        raise InputError(f"{data} holds {len(dataset)} samples, {samples} asked")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    indices = np.random.default_rng(seed).choice(len(dataset), samples, replace=False)
    feats, targets = cache_features(net, dataset, indices, seed=seed)
    conv = net.vertexpose.segmentation
    train_only(net, conv)
    history = fit(conv, feats, targets, epochs, lr, seed=seed)
    moved = moved_tensors(net, before)
    if not moved or any(not k.startswith("vertexpose.segmentation.") for k in moved):
        raise RuntimeError(f"the refit changed {moved}: only vertexpose.segmentation.* may change")
    record = {"source_sha256": file_sha256(ckpt), "data": str(data), "samples": samples, "epochs": epochs,
              "lr": lr, "negative_probability": negative_probability, "seed": seed,
              "loss_before": round(history[0], 6), "loss_after": round(history[-1], 6)}
    save_fit(net, out, info, template, "refit_segmentation", record)
    return record


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m model.train.refit_segmentation", description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", type=Path, required=True, help="safetensors checkpoint to start from")
    p.add_argument("--data", type=Path, default=Path("data/synth8k/train"), help="a rendered training split")
    p.add_argument("--out", type=Path, required=True, help="where to write the refitted checkpoint")
    p.add_argument("--samples", type=int, default=2048)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--negative-probability", type=float, default=0.1,
                   help="share of samples replaced by frames with no person (their target is all background)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.samples < 1 or args.epochs < 1 or not 0 <= args.negative_probability < 1:
        raise InputError("--samples and --epochs must be positive and --negative-probability in [0, 1)")
    record = refit_segmentation(args.ckpt, args.data, args.out, args.samples, args.epochs, args.lr,
                                args.negative_probability, args.seed)
    print(f"wrote {args.out}: segmentation loss {record['loss_before']:.5f} -> {record['loss_after']:.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
