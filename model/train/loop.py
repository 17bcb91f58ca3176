"""`python -m model.train` (make train): the training loop.

AdamW with linear warm-up then cosine decay; progress lines with the loss groups; metrics
appended to <out>/metrics.jsonl; every `save_every` steps an atomic safetensors training state
(weights, optimiser moments, step, config) and the shippable checkpoint
<out>/meshpose_<variant>.safetensors. `--resume` continues bit-for-bit: the data order and the
augmentation are functions of (seed, epoch, index), and the training state holds the rest.
Runs on the CPU or a GPU (`--device`, model/train/device.py), with batches built ahead by worker
processes where asked (`--workers`, model/train/batches.py), and on several processes with torchrun
(gloo on CPU, nccl on GPUs): each rank takes its slice of every global batch and DDP averages the
gradients. Resuming is bit-for-bit on the CPU; on a GPU it is as exact as its kernels are deterministic.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, safe_open, save_file

from model.atomic import atomic_path
from model.build import create_model
from model.checkpoint import LIFT_XY_READING_KEY, TRUST_PREFIX, save_checkpoint
from model.train import losses as L
from model.train.batches import step_batches
from model.train.config import (
    FP16_NOISE,
    INPUT_NOISE,
    LOGIT_MARGIN,
    LOSS_GROUPS,
    SPREAD_FREE,
    TRUST_SPREAD,
    TRUST_TAU,
    TRUST_UPWEIGHT,
    TrainConfig,
    get_config,
    loss_group_weights,
    parse_loss_weights,
)
from model.train.dataset import MeshPoseDataset
from model.train.device import DEVICE_HELP, describe, move_batch, process_group_backend, resolve_device
from model.train.int8_emulation import Int8Emulation
from model.train.perturb import activation_noise

STATE_FILE = "train_state.safetensors"
CPU = torch.device("cpu")
Perturbation = Callable[[torch.Generator, int], contextlib.AbstractContextManager]


def log(msg: str) -> None:
    """Progress on stderr (rank 0 only)."""
    if int(os.environ.get("RANK", "0")) == 0:
        print(msg, file=sys.stderr, flush=True)


def lr_factor(step: int, warmup: int, total: int, floor: float = 0.05) -> float:
    """Linear warm-up, then cosine decay to `floor` of the base learning rate."""
    if step < warmup:
        return (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


def compute_losses(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], consts: dict[str, torch.Tensor],
                   cfg: TrainConfig, height: int) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the paper's losses; pixel losses are scaled to a 256-pixel-high crop."""
    wts = cfg.losses
    px = 256.0 / height
    gt = batch["vertices"]
    # Frames with no person (negatives) train visibility, mask and segmentation only: their mesh has no target.
    person = (batch["has_person"] > 0.5 if "has_person" in batch
              else torch.ones(len(gt), dtype=torch.bool, device=gt.device))
    per_vertex = person[:, None].to(gt.dtype).expand(gt.shape[:2])

    def regressed() -> torch.Tensor:  # the lift head's own xyz, depth made root-relative like the output's
        reg = out["xyz_regressed"]
        return torch.cat([reg[..., :2], reg[..., 2:] - reg[..., 2:].mean(dim=1, keepdim=True)], dim=-1)

    def perturbed_distance(key: str) -> torch.Tensor:  # pixels between the image's and its perturbed copy's `key`
        return px * L.vertex_l2(out[key][..., :2], out[f"{key}_perturbed"][..., :2], batch["visibility"])

    terms = {
        "barycentric_ce": lambda: L.barycentric_cross_entropy(out["heatmaps"], batch["dp_points"],
                                                              batch["dp_face_vertices"], batch["dp_bary"],
                                                              batch["dp_valid"]),
        "uv_consistency": lambda: px * L.uv_consistency(out["xy_heatmap"], batch["dp_points"],
                                                        batch["dp_face_vertices"], batch["dp_bary"],
                                                        batch["dp_valid"]),
        "visibility": lambda: L.visibility_bce(out["visibility_logit"], batch["visibility"],
                                               torch.ones_like(batch["visibility"])),
        # Stride 8: the (B, h, w, V) splat tensor dominates the step time at stride 4.
        "silhouette": lambda: L.soft_silhouette_loss(out["vertices"][..., :2], out["visibility"], batch["mask"],
                                                     sigma_px=8.0 / px, stride=8),
        "vertices": lambda: px * L.vertex_l2(out["vertices"], gt, per_vertex),
        "regression": lambda: px * L.vertex_l2(regressed(), gt, per_vertex),
        "heatmap_vertices": lambda: px * L.vertex_l2(out["xy_heatmap"], gt[..., :2], batch["visibility"]),
        "edges": lambda: px * L.edge_length_loss(out["vertices"][person], gt[person], consts["edges"])
        if person.any() else out["vertices"].sum() * 0.0,
        "normals": lambda: L.normal_cosine_loss(out["vertices"][person], gt[person], consts["faces"])
        if person.any() else out["vertices"].sum() * 0.0,
        "joints_2d": lambda: px * L.joint_loss(out["vertices"], batch["keypoints"], consts["landmarker"],
                                               (batch["keypoints"][..., 2] > 0).float()),
        "segmentation": lambda: L.segmentation_ce(out["segmentation"], batch["mask"]),
        "logit_range": lambda: L.logit_range(out["heatmaps"] * consts["beta"], LOGIT_MARGIN),
        # Visible vertices only: the fusion takes their position from the heatmap; an occluded vertex's map
        # has no evidence to be sharp about. Both consistency terms are the distance to one perturbed copy (it
        # carries the input noise, the activation noise, or both, as their weights ask).
        "input_consistency": lambda: perturbed_distance("vertices"),
        "fp16_consistency": lambda: perturbed_distance("vertices"),
        "fp16_heatmap_consistency": lambda: perturbed_distance("xy_heatmap"),
        "int8_heatmap_consistency": lambda: perturbed_distance("xy_heatmap"),
        "heatmap_spread": lambda: L.heatmap_spread(out["heatmaps"] * consts["beta"], SPREAD_FREE,
                                                   batch["visibility"]),
        "heatmap_trust": lambda: L.heatmap_trust(out["heatmap_trust"], out["heatmaps"] * consts["beta"],
                                                 batch["visibility"], TRUST_TAU, TRUST_UPWEIGHT, TRUST_SPREAD),
    }
    # Terms with weight zero (loss-group ablations) are neither computed nor logged.
    values = {k: f() for k, f in terms.items() if getattr(wts, k) != 0.0}
    total = sum(getattr(wts, k) * v for k, v in values.items())
    # One copy to the host for all terms (on a GPU each float() would wait for the device separately).
    logged = torch.stack([v.detach().float() for v in values.values()]).tolist() if values else []
    return total, dict(zip(values, logged))


def loss_constants(template, beta: float = 10.0, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """The constants compute_losses needs, on `device`: the template's edges, faces and COCO landmarker, and
    the argsoftmax's beta (logit_range measures softmax arguments)."""
    return {
        "edges": torch.tensor(np.asarray(template.edges), dtype=torch.long, device=device),
        "faces": torch.tensor(np.asarray(template.faces), dtype=torch.long, device=device),
        "landmarker": torch.tensor(np.asarray(template.coco17), device=device),
        "beta": torch.tensor(beta, device=device),
    }


def _save_state(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int, cfg: TrainConfig,
                template) -> None:
    """Weights + optimiser moments + step in ONE safetensors file, written atomically (consistent on a kill)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    osd = opt.state_dict()
    for pid, st in osd["state"].items():
        for k, v in st.items():
            tensors[f"optim.{pid}.{k}"] = (v.cpu() if torch.is_tensor(v) else torch.tensor(v)).contiguous()
    meta = {"step": str(step), "config": json.dumps(asdict(cfg)), "param_groups": json.dumps(osd["param_groups"]),
            "template_sha256": template.sha256, "variant": cfg.variant,
            LIFT_XY_READING_KEY: getattr(model.lift, "heatmap_xy_reading", "plain")}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=meta)


def _load_state(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, template) -> int:
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    if meta.get("template_sha256") != template.sha256:
        raise ValueError(f"{path} was trained on another template; start a new run instead of --resume")
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if hasattr(model.lift, "heatmap_xy_reading"):  # the reading the weights were trained for (older states: plain)
        model.lift.heatmap_xy_reading = meta.get(LIFT_XY_READING_KEY, "plain")
    state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, name = k.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    return int(meta["step"])


def init_distributed(device: torch.device) -> tuple[int, int]:
    """(world size, rank) from torchrun's environment; joins the process group when there are several
    (NCCL when training on GPUs, gloo on CPUs)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1:
        torch.distributed.init_process_group(process_group_backend(device))
    return world, int(os.environ.get("RANK", "0"))


def place_model(net: torch.nn.Module, device: torch.device, world: int) -> torch.nn.Module:
    """Move `net` to `device` (channels-last: oneDNN's depthwise convolutions train about 1.4x faster in it
    on a CPU; on a GPU that is unmeasured) and wrap it in DDP when there are several processes; returns what
    to call (`net` itself, or its DDP wrapper)."""
    net.to(device=device, memory_format=torch.channels_last)
    if world == 1:
        return net
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(net, device_ids=ids, output_device=device.index if ids else None)


def warm_start(net: torch.nn.Module, init: Path, partial: bool, variant: str, template,
               any_template: bool = False, keep_trust: bool = False) -> None:
    """Start a new run from a checkpoint's weights: all of them, or (partial) those whose name and shape
    fit (`any_template`: also from a checkpoint on a template of another vertex count). `keep_trust`: the
    run trains the heatmap trust head attached to `net` (from the file's, where it has one that fits);
    otherwise a head the file carries is left out."""
    own_trust = net.vertexpose.trust
    if keep_trust and own_trust is None:
        raise ValueError("keep_trust needs the run's heatmap trust head attached before warm_start")
    fresh: list[str] = []
    if partial:
        from model.checkpoint import load_matching_weights

        copied, fresh = load_matching_weights(net, init, template=template, any_template=any_template)
        log(f"initialised {len(copied)} tensors from {init}; {len(fresh)} keep their initialisation: "
            + ", ".join(fresh))
    else:
        from model.checkpoint import load_checkpoint

        info = load_checkpoint(net, init, variant=variant, template=template)
        log(f"initialised from {init} (sha256 {info.sha256[:12]})")
    loaded = net.vertexpose.trust
    if keep_trust:
        # The run trains its own head, attached before the optimiser saw the parameters, so that module stays.
        # load_checkpoint loaded a file's head of the same width into it, and built a new one for another width.
        from_file = not any(k.startswith(TRUST_PREFIX) for k in fresh) if partial else loaded is own_trust
        net.vertexpose.trust = own_trust
        log("heatmap trust head trained in this run, " + (f"from {init}'s" if from_file else
            "fresh" + (f" ({init}'s has another width)" if loaded is not None and not from_file else "")))
    elif loaded is not None:
        if getattr(net.lift, "heatmap_xy_reading", "plain") == "trust":
            raise ValueError(f"{init}'s lift reads trust-scaled heatmap vertices, so its trust head must train "
                             "with it: pass --loss-weight heatmap_trust=W")
        # Fitted to the features of the network it came with; training moves them, and the vertex loss would
        # pull the trust towards the nearer branch rather than towards the maps fp16 cannot move.
        net.vertexpose.trust = None
        log(f"{init}'s heatmap trust head is left out of this run: fit one to the result with "
            "python -m model.train.fit_trust, or train one with it (--loss-weight heatmap_trust=W)")


def trim_metrics(path: Path, step: int, rank: int) -> Path:
    """Drop metrics lines past a resumed step (they will be redone); returns the path."""
    if rank == 0 and path.exists():
        kept = [ln for ln in path.read_text().splitlines() if json.loads(ln)["step"] <= step]
        path.write_text("".join(ln + "\n" for ln in kept))
    return path


def run_steps(net: torch.nn.Module, opt: torch.optim.Optimizer, cfg, step: int, total: int, steps_per_epoch: int,
              next_batch: Callable[[int, int], dict], loss_of: Callable[[dict], tuple[torch.Tensor, dict[str, float]]],
              save: Callable[[int], None], metrics_path: Path, before_step: Callable[[int], None] | None = None,
              device: torch.device = CPU, workers: int = 0) -> int:
    """The optimisation loop shared by training and distillation: from `step` to `total`, warm-up +
    cosine learning rate, gradient clipping, progress and metrics.jsonl lines every `cfg.log_every`
    steps, `save(step)` every `cfg.save_every` (rank 0). Batches must be a function of (epoch, index
    in the epoch) and the seed, so that a resumed run repeats the same steps bit for bit; they are built
    on the CPU (by `workers` processes when > 0) and handed to `loss_of` on `device`."""
    rank = int(os.environ.get("RANK", "0"))
    t0, first_step = time.perf_counter(), step
    batches = step_batches(next_batch, step, total, steps_per_epoch, workers, pin_memory=device.type == "cuda")
    for batch in batches:
        epoch = step // steps_per_epoch
        batch = move_batch(batch, device)
        for group in opt.param_groups:
            group["lr"] = cfg.lr * lr_factor(step, cfg.warmup_steps, total)
        if before_step is not None:
            before_step(step)
        loss, parts = loss_of(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        step += 1
        if rank == 0 and (step % cfg.log_every == 0 or step == total):
            rec = {"step": step, "epoch": epoch, "lr": opt.param_groups[0]["lr"], "loss": float(loss.detach()), **parts}
            with metrics_path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            rate = (step - first_step) / max(1e-9, time.perf_counter() - t0)
            eta_min = (total - step) / max(rate, 1e-9) / 60
            log(f"step {step}/{total} epoch {epoch} loss {float(loss.detach()):.4f} "
                + " ".join(f"{k}={v:.3f}" for k, v in parts.items()) + f" ({rate:.2f} steps/s, {eta_min:.0f} min left)")
        if rank == 0 and (step % cfg.save_every == 0 or step == total):
            save(step)
    return step


def forward_with_copy(model: Callable[[torch.Tensor], dict[str, torch.Tensor]], image: torch.Tensor,
                      input_noise: bool, perturbation: Perturbation | None,
                      gen: torch.Generator) -> dict[str, torch.Tensor]:
    """The model's outputs for `image`; with a `perturbation` (activation noise or int8 rounding on the copy's
    rows) and/or `input_noise` (camera noise on the copy's pixels, drawn from `gen`), also those of a
    perturbed copy as "vertices_perturbed" and "xy_heatmap_perturbed", for the consistency terms."""
    if perturbation is None and not input_noise:
        return model(image.contiguous(memory_format=torch.channels_last))
    # The image and its copy in ONE forward pass: two passes before one backward would reduce each
    # parameter's gradient twice under DistributedDataParallel.
    copy = image
    if input_noise:  # drawn on the CPU generator, so a run draws the same noise on any device
        noise = torch.rand(image.shape, generator=gen, device=gen.device).to(image.device)
        copy = (image + (noise * 2 - 1) * INPUT_NOISE).clamp(0, 255)
    n = len(image)
    pair = torch.cat([image, copy]).contiguous(memory_format=torch.channels_last)
    with perturbation(gen, n) if perturbation is not None else contextlib.nullcontext():
        both = model(pair)
    out = {k: v[:n] for k, v in both.items()}
    out.update({f"{key}_perturbed": both[key][n:] for key in ("vertices", "xy_heatmap")})
    return out


def train(cfg: TrainConfig, data_dir: Path, out_dir: Path, resume: bool = False, init: Path | None = None,
          init_partial: bool = False, device: str = "auto", workers: int = 0) -> Path:
    """Run (or resume) training; returns the path of the shippable checkpoint.

    `device`: model/train/device.py's choices (`auto` takes a GPU when there is one); `workers`: processes
    that build the next batches while a step trains (the same batches either way).

    `init`: a shippable checkpoint whose weights start a new run (fine-tuning: fresh optimiser and
    schedule); ignored when `resume` finds a training state, which already holds the weights.
    `init_partial`: `init` may come from a related network (another head): tensors whose name and
    shape match are copied, the others keep their initialisation and are listed.
    """
    from model.template import load_template

    if cfg.losses.int8_heatmap_consistency > 0 and (cfg.losses.fp16_consistency > 0
                                                    or cfg.losses.fp16_heatmap_consistency > 0):
        raise ValueError("int8_heatmap_consistency and the fp16 consistency terms share one perturbed copy: "
                         "give one kind a weight")
    if workers < 0:
        raise ValueError(f"workers must be >= 0, not {workers}")
    where = resolve_device(device)
    world, rank = init_distributed(where)
    torch.manual_seed(cfg.seed)
    template = load_template()
    net = create_model(cfg.variant, template).train()
    if cfg.losses.heatmap_trust > 0:  # before the optimiser and any wrapper see the parameters
        net.vertexpose.attach_trust()
    height = net.input_hw[0]
    model = place_model(net, where, world)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    data = MeshPoseDataset(data_dir / "train", template, flip_probability=cfg.flip_probability,
                           colour_jitter=cfg.colour_jitter, scale_jitter=cfg.scale_jitter,
                           rotation_deg=cfg.rotation_deg, extreme_probability=cfg.extreme_probability,
                           negative_probability=cfg.negative_probability)
    global_batch = cfg.batch_size * world
    steps_per_epoch = len(data) // global_batch
    if steps_per_epoch == 0:
        raise ValueError(f"{len(data)} samples are fewer than one global batch of {global_batch}")
    total = cfg.max_steps or steps_per_epoch * cfg.epochs
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / STATE_FILE
    step = _load_state(state_path, net, opt, template) if resume and state_path.is_file() else 0
    if resume and step == 0:
        log(f"--resume: no training state in {out_dir}; starting from step 0")
    if init is not None and step == 0:
        warm_start(net, init, init_partial, cfg.variant, template, keep_trust=cfg.losses.heatmap_trust > 0)
    consts = loss_constants(template, net.vertexpose.argsoftmax.beta, where)
    metrics_path = trim_metrics(out_dir / "metrics.jsonl", step, rank)
    log(f">> training {cfg.variant} on {describe(where)}: {len(data)} samples, {world} process(es), global batch "
        f"{global_batch}, {total} steps ({steps_per_epoch}/epoch), starting at step {step}"
        + (f", {workers} batch worker(s)" if workers else ""))
    net.vertexpose.logit_noise = cfg.heatmap_logit_noise
    net.vertexpose.feature_noise = cfg.feature_noise
    ckpt_path = out_dir / f"meshpose_{cfg.variant}.safetensors"

    def next_batch(epoch: int, k: int) -> dict[str, torch.Tensor]:
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(data))
        start = k * global_batch + rank * cfg.batch_size
        return data.batch(order[start : start + cfg.batch_size].tolist(), epoch, cfg.seed)

    step_now = [step]  # the step before_step was last called for (seeds the consistency noise)

    def before_step(step: int) -> None:
        step_now[0] = step
        # A generator per (seed, step, rank): --resume stays exact.
        if cfg.heatmap_logit_noise > 0 or cfg.feature_noise > 0:
            net.vertexpose.noise_generator = torch.Generator().manual_seed((cfg.seed * 1_000_003 + step) * 64 + rank)

    fp16_noise = cfg.losses.fp16_consistency > 0 or cfg.losses.fp16_heatmap_consistency > 0
    int8 = Int8Emulation(net) if cfg.losses.int8_heatmap_consistency > 0 else None

    def perturbation(gen: torch.Generator, n: int) -> contextlib.AbstractContextManager:
        if int8 is not None:
            return int8.rows(n)
        return activation_noise(net, n, cfg.activation_noise, gen) if fp16_noise else contextlib.nullcontext()

    perturbed = cfg.losses.input_consistency > 0 or fp16_noise or int8 is not None

    def loss_of(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        gen = torch.Generator().manual_seed((cfg.seed * 1_000_003 + step_now[0]) * 64 + 32 + rank)
        out = forward_with_copy(model, batch["image"], cfg.losses.input_consistency > 0,
                                perturbation if perturbed else None, gen)
        return compute_losses(out, batch, consts, cfg, height)

    def save(step: int) -> None:
        _save_state(state_path, net, opt, step, cfg, template)
        save_checkpoint(net, ckpt_path, variant=cfg.variant, template=template, trained=True,
                        extra={"step": str(step), "train_config": json.dumps(asdict(cfg)),
                               "data": str(data_dir), "init": str(init) if init else ""})
        if cfg.keep_every and step % cfg.keep_every == 0:
            with atomic_path(out_dir / f"step{step}.safetensors") as tmp:
                shutil.copyfile(ckpt_path, tmp)

    run_steps(net, opt, cfg, step, total, steps_per_epoch, next_batch, loss_of, save, metrics_path,
              before_step=before_step, device=where, workers=workers)
    if world > 1:
        torch.distributed.destroy_process_group()
    return ckpt_path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="xs")
    p.add_argument("--data", type=Path, default=Path("data/synthetic"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--save-every", type=int, default=None)
    p.add_argument("--keep-every", type=int, default=None, metavar="N",
                   help="also keep step<N>.safetensors every N steps (a multiple of --save-every), to measure later")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    p.add_argument("--device", default="auto", help=f"where to train: {DEVICE_HELP}")
    p.add_argument("--workers", type=int, default=0,
                   help="processes that build the next batches while a step trains (0: none; the batches are "
                        "the same either way)")
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--init-partial", action="store_true",
                   help="--init from a related network: copy the tensors that fit, initialise the rest")
    p.add_argument("--loss-group", default=None, choices=list(LOSS_GROUPS),
                   help="train with this group of the paper's losses only (ablation); default: all")
    p.add_argument("--loss-weight", action="append", default=[], metavar="NAME=VALUE",
                   help="override one loss weight (repeatable), e.g. heatmap_vertices=0.05")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--warmup-steps", type=int, default=None)
    p.add_argument("--heatmap-logit-noise", type=float, default=None, metavar="STD",
                   help="train with Gaussian noise of this std on the argsoftmax logits (fp16 experiment)")
    p.add_argument("--feature-noise", type=float, default=None, metavar="STD",
                   help="train with relative Gaussian noise of this std on the heatmap head's input features "
                        "(fp16-like error, proportional to each activation)")
    p.add_argument("--activation-noise", type=float, default=None, metavar="REL",
                   help=f"relative half-width of the fp16 consistency terms' noise on every layer's output "
                        f"(default {FP16_NOISE:.5f}: four fp16 unit roundoffs)")
    p.add_argument("--extreme-probability", type=float, default=None, metavar="P",
                   help="share of samples seen as a camera at its limits (dark, over-exposed, blurred, far)")
    p.add_argument("--negative-probability", type=float, default=None, metavar="P",
                   help="share of samples replaced by a frame with no person (all vertices invisible)")
    args = p.parse_args(argv)
    cfg = get_config(args.variant).with_overrides(max_steps=args.max_steps, epochs=args.epochs,
                                                  batch_size=args.batch_size, save_every=args.save_every,
                                                  keep_every=args.keep_every, lr=args.lr,
                                                  warmup_steps=args.warmup_steps,
                                                  heatmap_logit_noise=args.heatmap_logit_noise,
                                                  feature_noise=args.feature_noise,
                                                  activation_noise=args.activation_noise,
                                                  extreme_probability=args.extreme_probability,
                                                  negative_probability=args.negative_probability)
    if cfg.heatmap_logit_noise < 0 or cfg.feature_noise < 0 or cfg.activation_noise < 0:
        p.error("--heatmap-logit-noise, --feature-noise and --activation-noise must be >= 0")
    if cfg.keep_every < 0 or (cfg.keep_every and cfg.keep_every % cfg.save_every):
        p.error(f"--keep-every must be a multiple of --save-every ({cfg.save_every}), or 0")
    if not (0 <= cfg.extreme_probability <= 1 and 0 <= cfg.negative_probability <= 1):
        p.error("--extreme-probability and --negative-probability must be in [0, 1]")
    try:
        cfg = replace(cfg, losses=parse_loss_weights(args.loss_weight, cfg.losses))
    except ValueError as exc:
        p.error(str(exc))
    if args.loss_group:
        cfg = replace(cfg, losses=loss_group_weights(args.loss_group, cfg.losses))
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        path = train(cfg, args.data, args.out or Path("runs") / args.variant, resume=args.resume,
                     init=args.init, init_partial=args.init_partial, device=args.device, workers=args.workers)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log(f"wrote {path}")
    return 0
