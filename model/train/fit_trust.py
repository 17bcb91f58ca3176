"""`python -m model.train.fit_trust`: fit a heatmap trust head onto a checkpoint, nothing else.

The trust head (model/network/heads/trust.py) tells Eq. 5 how far to trust each vertex's heatmap. It is
fitted here on the frozen network, so every other tensor of the checkpoint is copied bit for bit (checked
before writing) and the heatmaps, the regression and the visibility stay what they were. Its target is
exp(-variance / tau): the spread of each fp32 map, in square heatmap cells. Spread maps are where an fp16
accelerator moves the heatmap's expectation by pixels (docs/DESIGN.md §8); the fitted trust reads a map
predicted from the head's features, so it does not move with the map's mass the way the variance does.

Samples are drawn as training draws them (augmented, with a share of camera extremes and of frames with no
person), `passes` augmentations of each; the pooled features, pooled probabilities and targets are cached
once (about 200 KB a sample), then the head is fitted by Adam on a visibility-weighted squared error, with
the few spread maps up-weighted (about 1.5 % of visible vertices).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import file_sha256
from model.cli import InputError, run_main
from model.network.heads.trust import HeatmapTrust
from model.train.config import TRUST_SPREAD as SPREAD_TARGET  # targets below it (variance > tau ln 2): spread maps
from model.train.config import TRUST_TAU, TRUST_UPWEIGHT
from model.train.head_fit import fit_on_cache, load_frozen, moved_tensors, save_fit, train_only
from model.train.losses import trust_error, trust_target


def cache_trust_inputs(net: torch.nn.Module, trust: HeatmapTrust, dataset, indices: np.ndarray, passes: int,
                       tau: float, batch: int = 16, seed: int = 0) -> dict[str, torch.Tensor]:
    """Per sample: pooled features (N, C, h', w'), pooled probabilities (N, V, h', w') in fp16, the target
    exp(-variance / tau) and the predicted visibility (N, V), for `passes` augmentations of `indices`."""
    store: dict[str, torch.Tensor] = {}
    hook = net.vertexpose.heatmaps.register_forward_pre_hook(lambda _m, a: store.__setitem__("x", a[0]))
    parts: dict[str, list[torch.Tensor]] = {"features": [], "probabilities": [], "target": [], "visibility": []}
    total, done, t0 = passes * len(indices), 0, time.perf_counter()
    try:
        with torch.no_grad():
            for epoch in range(passes):
                for k in range(0, len(indices), batch):
                    b = dataset.batch([int(i) for i in indices[k:k + batch]], epoch=epoch, seed=seed, augment=True)
                    out = net(b["image"], with_segmentation=False)
                    prob = net.vertexpose.argsoftmax.probabilities(out["heatmaps"]).reshape(out["heatmaps"].shape)
                    parts["features"].append(trust.pool_features(store["x"]))
                    parts["probabilities"].append(trust.pool_probabilities(prob).half())
                    parts["target"].append(trust_target(prob, tau))
                    parts["visibility"].append(out["visibility"])
                    done += len(b["image"])
                    if (k // batch) % 32 == 0:
                        print(f">> samples {done}/{total} ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        hook.remove()
    return {k: torch.cat(v) for k, v in parts.items()}


def trust_of(trust: HeatmapTrust, cache: dict[str, torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
    """The head's trust (n, V) for cached samples `idx`."""
    return trust.read(cache["probabilities"][idx].float(), trust.trust_map(cache["features"][idx]))


def trust_loss(trust: HeatmapTrust, cache: dict[str, torch.Tensor], idx: torch.Tensor, upweight: float) -> torch.Tensor:
    """Visibility-weighted squared error to the target, spread maps weighted 1 + upweight."""
    return trust_error(trust_of(trust, cache, idx), cache["target"][idx], cache["visibility"][idx], upweight,
                       SPREAD_TARGET)


def trust_summary(trust: HeatmapTrust, cache: dict[str, torch.Tensor], chunk: int = 64) -> dict[str, float]:
    """How the trust separates visible vertices (predicted visibility >= 0.5): the share of spread maps
    (target < 0.5) still trusted above 0.5, and the mean trust of sharp ones (target > 0.9)."""
    with torch.no_grad():
        got = torch.cat([trust_of(trust, cache, torch.arange(k, min(k + chunk, len(cache["target"]))))
                         for k in range(0, len(cache["target"]), chunk)])
    visible = cache["visibility"] >= 0.5
    spread = visible & (cache["target"] < SPREAD_TARGET)
    sharp = visible & (cache["target"] > 0.9)
    return {"spread_maps": int(spread.sum()),
            "spread_trusted_share": float((got[spread] > 0.5).float().mean()) if spread.any() else 0.0,
            "sharp_maps": int(sharp.sum()),
            "sharp_mean_trust": float(got[sharp].mean()) if sharp.any() else 0.0}


def fit(trust: HeatmapTrust, cache: dict[str, torch.Tensor], epochs: int, lr: float, upweight: float,
        batch: int = 32, seed: int = 0) -> list[float]:
    """Adam with a one-cycle learning rate on the cached samples; returns the mean loss of each epoch."""
    return fit_on_cache(trust.parameters(), len(cache["target"]),
                        lambda idx: trust_loss(trust, cache, idx, upweight), epochs, lr, batch, seed)


def fit_trust(ckpt: Path, data: Path, out: Path, samples: int, passes: int, epochs: int, lr: float, tau: float,
              upweight: float, hidden: int = 128, seed: int = 0) -> dict:
    """Fit a trust head onto `ckpt` from `samples` renders of `data`; write `out`; return the record."""
    from model.train.dataset import MeshPoseDataset

    net, info, template = load_frozen(ckpt)
    if net.vertexpose.trust is not None:
        print(f">> {ckpt} already has a heatmap trust head: it is fitted again from its untrained state")
    before = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("vertexpose.trust.")}
    torch.manual_seed(seed)
    trust = net.vertexpose.attach_trust(hidden=hidden)
    dataset = MeshPoseDataset(data, template, scale_jitter=0.1, rotation_deg=10.0, extreme_probability=0.2,
                              negative_probability=0.1)
    if samples > len(dataset):
        raise InputError(f"{data} holds {len(dataset)} samples, {samples} asked")
    indices = np.random.default_rng(seed).choice(len(dataset), samples, replace=False)
    # The features are computed without the trust head: it must not change what it is fitted on.
    net.vertexpose.trust = None
    cache = cache_trust_inputs(net, trust, dataset, indices, passes, tau, seed=seed)
    net.vertexpose.trust = trust
    train_only(net, trust)
    history = fit(trust, cache, epochs, lr, upweight, seed=seed)
    summary = trust_summary(trust, cache)
    moved = moved_tensors(net, before)
    if moved:
        raise RuntimeError(f"the fit changed {moved}: only vertexpose.trust.* may change")
    record = {"source_sha256": file_sha256(ckpt), "data": str(data), "samples": samples, "passes": passes,
              "epochs": epochs, "lr": lr, "tau": tau, "upweight": upweight, "hidden": hidden, "seed": seed,
              "loss_first_epoch": round(history[0], 6), "loss_last_epoch": round(history[-1], 6),
              **{k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}}
    save_fit(net, out, info, template, "fit_trust", record)
    return record


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m model.train.fit_trust", description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", type=Path, required=True, help="safetensors checkpoint to start from")
    p.add_argument("--data", type=Path, default=Path("data/synth8k/train"), help="a rendered training split")
    p.add_argument("--out", type=Path, required=True, help="where to write the checkpoint with the trust head")
    p.add_argument("--samples", type=int, default=4000)
    p.add_argument("--passes", type=int, default=2, help="augmentations of each sample")
    p.add_argument("--epochs", type=int, default=9)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--tau", type=float, default=TRUST_TAU, help="target exp(-variance / tau), variance in square cells")
    p.add_argument("--upweight", type=float, default=TRUST_UPWEIGHT,
                   help=f"extra weight of spread maps (target < {SPREAD_TARGET})")
    p.add_argument("--hidden", type=int, default=128, help="channels of the trust head's 3x3 convolution")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if min(args.samples, args.passes, args.epochs, args.hidden) < 1 or args.tau <= 0 or args.upweight < 0:
        raise InputError("--samples, --passes, --epochs and --hidden must be positive, --tau > 0, --upweight >= 0")
    record = fit_trust(args.ckpt, args.data, args.out, args.samples, args.passes, args.epochs, args.lr, args.tau,
                       args.upweight, args.hidden, args.seed)
    print(f"wrote {args.out}: loss {record['loss_first_epoch']:.5f} (epoch 1) -> {record['loss_last_epoch']:.5f}; "
          f"{record['spread_trusted_share']:.1%} of {record['spread_maps']} spread maps still trusted > 0.5, "
          f"sharp maps' mean trust {record['sharp_mean_trust']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
