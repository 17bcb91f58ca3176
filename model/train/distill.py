"""`python -m model.train.distill {label,train}` (make distill): a phone variant learns from a teacher.

No labelled real data reaches this project, so a student that sees real people learns from a
teacher that does (the imported `paper`, or any checkpoint of ours) on the user's own unlabelled
photos or video:

1. `label`: every frame of a folder of images or a video is stored (long side at most
   MAX_FRAME_SIDE) with the teacher's outputs for each person in it, mapped to frame pixels: the
   vertices (x, y and root-relative depth, in frame pixels), the visibility and, where the
   teacher's template has a landmarker, the joints. Person boxes come from a detector when one is
   installed, else the whole frame is the box (said in the labels). Every tenth sample is held out.
   The teacher's template is stored beside the labels: the student is built on it.
2. `train`: the student is cropped from the same frames by its own crop convention, with scale
   and shift jitter and colour jitter drawn from (seed, epoch, index), and learns the teacher's
   vertices (fused and regressed), the heatmap positions of the vertices the teacher sees, the
   visibility (soft targets) and the joints; optionally mixed with synthetic renders, when the
   student's template is the one they were rendered on. Progress, bit-for-bit `--resume` and
   torchrun are those of `make train` (model/train/loop.py). The student's disagreement with the
   teacher on the held-out samples is measured before and after and written to
   <out>/distill_report.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import load_file, save_file

from model.atomic import atomic_path
from model.build import build_deploy_model, create_model
from model.checkpoint import read_checkpoint_info, save_checkpoint
from model.cli import read_image, run_main
from model.pipeline.crop import Crop, crop_from_box, crop_to_frame, frame_to_crop, sample_crop
from model.registry import get_variant, weights_license
from model.train import losses as L
from model.train.device import DEVICE_HELP, describe, move_batch, resolve_device
from model.train.loop import (
    STATE_FILE,
    _load_state,
    _save_state,
    init_distributed,
    log,
    place_model,
    run_steps,
    trim_metrics,
    warm_start,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
MAX_FRAME_SIDE = 1920
HELDOUT_EVERY = 10
LABELS = "labels.safetensors"
INDEX = "labels.json"
TEMPLATE = "template.safetensors"


class DistillError(ValueError):
    """A user-facing failure: the message names the file and what to do."""


@dataclass(frozen=True)
class DistillWeights:
    """Weights of the distillation terms (pixels are scaled to a 256-pixel-high crop)."""

    vertices: float = 0.05
    regression: float = 0.05
    heatmap_vertices: float = 0.1
    visibility: float = 1.0
    joints: float = 0.05


@dataclass(frozen=True)
class DistillConfig:
    """Everything a distillation run depends on (stored in its checkpoint's metadata)."""

    variant: str = "xs"  # the student
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    max_steps: int = 2000
    seed: int = 0
    log_every: int = 10
    save_every: int = 100
    scale_jitter: float = 0.1
    shift_jitter: float = 0.05  # box centre moved by up to this share of the box size
    colour_jitter: float = 0.2
    synthetic_ratio: float = 0.0  # share of each batch taken from synthetic renders (same template only)
    weights: DistillWeights = DistillWeights()


# -- frames -----------------------------------------------------------------------------------------
def read_frames(source: Path, every: int = 1, limit: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(name, RGB uint8 frame) of a folder of images (sorted) or a video (every `every`-th frame)."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DistillError(f"IMAGES={source} holds no image ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for path in files[::every][:limit]:
            yield path.name, read_image(path, "frame")
        return
    if source.suffix.lower() not in VIDEO_SUFFIXES or not source.is_file():
        raise DistillError(f"IMAGES={source} is neither a folder of images nor a video file "
                           f"({', '.join(sorted(VIDEO_SUFFIXES))})")
    import cv2

    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise DistillError(f"{source}: OpenCV cannot open this video")
    index = kept = 0
    try:
        while limit is None or kept < limit:
            ok, bgr = cap.read()
            if not ok:
                break
            if index % every == 0:
                yield f"{source.stem}_{index:06d}", bgr[:, :, ::-1].copy()
                kept += 1
            index += 1
    finally:
        cap.release()
    if kept == 0:
        raise DistillError(f"{source}: no frame could be decoded")


def _fit(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if max(h, w) <= MAX_FRAME_SIDE:
        return frame
    s = MAX_FRAME_SIDE / max(h, w)
    return np.asarray(Image.fromarray(frame).resize((round(w * s), round(h * s)), Image.Resampling.BILINEAR))


def box_finder(max_people: int = 4, use_detector: bool = True):
    """frame -> (person boxes [x0, y0, x1, y1], where they came from): the person detector when `make
    detector` has fetched it (frames where it finds nobody give no sample), else the whole frame."""
    from model.tools.detect import person_detector

    detect = person_detector(max_people) if use_detector else None
    if detect is None:
        if use_detector:
            log("note: no person detector (run `make detector` to fetch it): every whole frame is one person")

        def whole(frame: np.ndarray) -> tuple[list[list[float]], str]:
            h, w = frame.shape[:2]
            return [[0.0, 0.0, float(w), float(h)]], "whole frame (no person detector installed)"

        return whole
    return lambda frame: ([d.box for d in detect(frame)], "person detector (BlazePose, model/tools/detect.py)")


# -- 1. labelling ------------------------------------------------------------------------------------
def label(teacher: Path, source: Path, out_dir: Path, every: int = 1, limit: int | None = None,
          use_detector: bool = True, device: str = "auto") -> Path:
    """Run the teacher on every person of every frame; write frames, labels and the teacher's template.
    `use_detector=False`: every whole frame is one person (frames of a single person, filling it).
    `device`: where the teacher runs (model/train/device.py; the detector stays on the CPU)."""
    from model.template.asset import save_template_arrays, template_arrays_of

    where = resolve_device(device)
    info = read_checkpoint_info(teacher)
    spec = get_variant(info.variant)
    lic = weights_license(spec, info.metadata)
    model = build_deploy_model(info.variant, str(teacher), vertex_origin="corner")  # labels in crop pixels
    model.to(where)
    log(f"labelling with {info.variant} on {describe(where)}")
    h, w = spec.input_hw
    out_dir = Path(out_dir)
    (out_dir / "frames").mkdir(parents=True, exist_ok=True)
    records, verts, vis, joints = [], [], [], []
    box_source = ""
    find_boxes = box_finder(use_detector=use_detector)
    for n, (name, frame) in enumerate(read_frames(source, every, limit)):
        frame = _fit(frame)
        file = f"{n:06d}.png"
        Image.fromarray(frame).save(out_dir / "frames" / file)
        boxes, box_source = find_boxes(frame.astype(np.float32))
        for box in boxes:
            crop = crop_from_box(box, w, h, expand=spec.crop.box_scale)
            x = sample_crop(frame.astype(np.float32), crop, w, h, pad=spec.crop.pad_rgb)
            with torch.no_grad():
                image = torch.from_numpy(x.transpose(2, 0, 1)[None].copy()).to(where)
                out = {k: v.cpu() for k, v in zip(model.output_names, model(image))}
            verts.append(crop_to_frame(out["vertices"][0].double().numpy(), crop).astype(np.float32))
            vis.append(out["visibility"][0].numpy().astype(np.float32))
            if "joints" in out:
                joints.append(crop_to_frame(out["joints"][0].double().numpy(), crop).astype(np.float32))
            records.append({"frame": file, "source": name, "box": box})
        if (n + 1) % 50 == 0:
            log(f"labelled {n + 1} frames ({len(records)} people)")
    if not records:
        raise DistillError(f"IMAGES={source}: the detector found nobody in any frame; nothing to learn from")
    arrays = {"vertices": np.stack(verts), "visibility": np.stack(vis)}
    if joints:
        arrays["joints"] = np.stack(joints)
    with atomic_path(out_dir / LABELS) as tmp:
        save_file(arrays, tmp)
    save_template_arrays(out_dir / TEMPLATE, template_arrays_of(model.template), model.template.metadata)
    index = {
        "teacher": {"file": str(teacher), "sha256": info.sha256, "variant": info.variant,
                    "template": model.template.name, "template_sha256": model.template.sha256,
                    "license": lic.name, "commercial_use": lic.commercial_use, "license_notice": lic.notice},
        "source": str(source), "every": every, "box_source": box_source, "records": records,
        "heldout": list(range(0, len(records), HELDOUT_EVERY)),
    }
    with atomic_path(out_dir / INDEX) as tmp, open(tmp, "w") as f:
        json.dump(index, f, indent=1)
    log(f"labelled {len(records)} people in {len({r['frame'] for r in records})} frames with {info.variant} "
        f"({box_source}); {len(index['heldout'])} held out")
    if not lic.commercial_use:
        log(f"LICENCE: the labels come from {lic.name} weights: {lic.notice}")
    return out_dir


# -- 2. the student's data ----------------------------------------------------------------------------
class DistillDataset:
    """Student crops of the labelled frames with the teacher's outputs mapped into them."""

    def __init__(self, labels_dir: Path, variant: str, cfg: DistillConfig) -> None:
        self.dir = Path(labels_dir)
        for name in (INDEX, LABELS, TEMPLATE):
            if not (self.dir / name).is_file():
                raise DistillError(f"{self.dir / name} is missing: run the labelling first (make distill does)")
        try:
            self.index = json.loads((self.dir / INDEX).read_text())
            self.records = self.index["records"]
        except (json.JSONDecodeError, KeyError) as exc:
            raise DistillError(f"{self.dir / INDEX} is not a labels index: {exc}") from None
        self.labels = load_file(str(self.dir / LABELS))
        self.spec = get_variant(variant)
        self.cfg = cfg
        heldout = set(self.index["heldout"])
        self.train_ids = [i for i in range(len(self.records)) if i not in heldout]
        self.heldout_ids = sorted(heldout)

    def __len__(self) -> int:
        return len(self.records)

    def get(self, i: int, epoch: int, seed: int, augment: bool = True) -> dict[str, torch.Tensor]:
        """One student sample: the crop (3, H, W) in [0, 255] and the teacher's targets in its pixels."""
        rec = self.records[i]
        frame = np.asarray(Image.open(self.dir / "frames" / rec["frame"]).convert("RGB"), np.float32)
        h, w = self.spec.input_hw
        crop = crop_from_box(rec["box"], w, h, expand=self.spec.crop.box_scale)
        rng = np.random.default_rng([seed, epoch, i])
        if augment:
            zoom = 1.0 + self.cfg.scale_jitter * rng.uniform(-1, 1)
            shift = self.cfg.shift_jitter * rng.uniform(-1, 1, size=2) * np.array([w, h]) * crop.scale
            cx, cy = crop.x0 + crop.scale * w / 2 + shift[0], crop.y0 + crop.scale * h / 2 + shift[1]
            s = crop.scale * zoom
            crop = Crop(cx - s * w / 2, cy - s * h / 2, s)
        image = sample_crop(frame, crop, w, h, pad=self.spec.crop.pad_rgb)
        if augment and self.cfg.colour_jitter > 0:
            gain = 1.0 + self.cfg.colour_jitter * rng.uniform(-1, 1, size=3)
            image = np.clip(image * gain.astype(np.float32), 0, 255)
        sample = {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            "vertices": torch.from_numpy(frame_to_crop(self.labels["vertices"][i], crop).astype(np.float32)),
            "visibility": torch.from_numpy(self.labels["visibility"][i]),
        }
        if "joints" in self.labels:
            sample["joints"] = torch.from_numpy(frame_to_crop(self.labels["joints"][i], crop).astype(np.float32))
        return sample

    def batch(self, ids: list[int], epoch: int, seed: int, augment: bool = True) -> dict[str, torch.Tensor]:
        """Stack samples into a batch."""
        items = [self.get(i, epoch, seed, augment) for i in ids]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def distill_losses(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], w: DistillWeights,
                   height: int) -> tuple[torch.Tensor, dict[str, float]]:
    """The student against the teacher's outputs; pixel terms scaled to a 256-pixel-high crop."""
    px = 256.0 / height
    target, vis = batch["vertices"], batch["visibility"]
    reg = out["xyz_regressed"]
    reg = torch.cat([reg[..., :2], reg[..., 2:] - reg[..., 2:].mean(dim=1, keepdim=True)], dim=-1)
    terms = {
        "vertices": lambda: px * L.vertex_l2(out["vertices"], target),
        "regression": lambda: px * L.vertex_l2(reg, target),
        "heatmap_vertices": lambda: px * L.vertex_l2(out["xy_heatmap"], target[..., :2], vis),
        "visibility": lambda: L.visibility_bce(out["visibility_logit"], vis, torch.ones_like(vis)),
    }
    if "joints" in batch and "joints" in out:
        terms["joints"] = lambda: px * L.vertex_l2(out["joints"][..., :2], batch["joints"][..., :2])
    values = {k: f() for k, f in terms.items() if getattr(w, k) != 0.0}
    total = sum(getattr(w, k) * v for k, v in values.items())
    return total, {k: float(v.detach()) for k, v in values.items()}


def disagreement(net: torch.nn.Module, data: DistillDataset, ids: list[int]) -> dict[str, float]:
    """Student vs teacher on un-augmented held-out samples: median over samples of the mean 2D
    distance (student crop pixels) over the vertices the teacher sees, and the mean visibility gap."""
    was_training = net.training
    net.eval()
    dists, gaps = [], []
    device = next(net.parameters()).device
    with torch.no_grad():
        for i in ids:
            s = move_batch(data.get(i, 0, 0, augment=False), device)
            out = net(s["image"][None], with_segmentation=False)
            d = (out["vertices"][0, :, :2] - s["vertices"][:, :2]).norm(dim=-1)
            seen = s["visibility"] >= 0.5
            dists.append(float(d[seen].mean() if seen.any() else d.mean()))
            gaps.append(float((out["visibility"][0] - s["visibility"]).abs().mean()))
    net.train(was_training)
    return {"median_2d_px": float(np.median(dists)), "mean_visibility_gap": float(np.mean(gaps)),
            "samples": len(ids)}


# -- the run ----------------------------------------------------------------------------------------
def distill(cfg: DistillConfig, labels_dir: Path, out_dir: Path, resume: bool = False, init: Path | None = None,
            init_partial: bool = False, synthetic: Path | None = None, device: str = "auto",
            workers: int = 0) -> Path:
    """Train the student on the labels (and renders) on `device` (model/train/device.py), with `workers`
    processes building batches ahead; returns its checkpoint."""
    from model.template import load_template

    if workers < 0:
        raise ValueError(f"workers must be >= 0, not {workers}")
    where = resolve_device(device)
    world, rank = init_distributed(where)
    torch.manual_seed(cfg.seed)
    data = DistillDataset(labels_dir, cfg.variant, cfg)
    template = load_template(Path(labels_dir) / TEMPLATE)
    shipped = load_template()
    syn_data = None
    if cfg.synthetic_ratio > 0:
        if template.sha256 != shipped.sha256:
            raise DistillError(f"the teacher's template {template.name} is not the one the synthetic renders are "
                               "labelled on; distil with --synthetic-ratio 0")
        from model.train.dataset import MeshPoseDataset

        syn_data = MeshPoseDataset(Path(synthetic) / "train", template)
    net = create_model(cfg.variant, template).train()
    height = net.input_hw[0]
    model = place_model(net, where, world)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n_syn = round(cfg.batch_size * cfg.synthetic_ratio)
    n_dist = cfg.batch_size - n_syn
    global_batch = n_dist * world
    steps_per_epoch = len(data.train_ids) // global_batch if global_batch else 0
    if steps_per_epoch == 0:
        raise DistillError(f"{len(data.train_ids)} labelled training samples are fewer than one global batch of "
                           f"{max(global_batch, 1)}; label more frames or lower --batch-size")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / STATE_FILE
    step = _load_state(state_path, net, opt, template) if resume and state_path.is_file() else 0
    if init is not None and step == 0:
        warm_start(net, init, init_partial, cfg.variant, template, any_template=True)
    metrics_path = trim_metrics(out_dir / "metrics.jsonl", step, rank)
    report_path = out_dir / "distill_report.json"
    report = json.loads(report_path.read_text()) if step > 0 and report_path.is_file() else {}
    if rank == 0 and "before" not in report:
        report["before"] = disagreement(net, data, data.heldout_ids)
    log(f">> distilling {data.index['teacher']['variant']} -> {cfg.variant} on {describe(where)}, "
        f"{len(data.train_ids)} labelled samples "
        f"({len(data.heldout_ids)} held out){f' + {n_syn} renders per batch' if n_syn else ''}, {world} process(es), "
        f"{cfg.max_steps} steps, starting at {step}; held-out disagreement {report.get('before')}")
    ckpt_path = out_dir / f"meshpose_{cfg.variant}.safetensors"

    def next_batch(epoch: int, k: int) -> dict:
        order = np.random.default_rng([cfg.seed, epoch]).permutation(data.train_ids)
        start = k * global_batch + rank * n_dist
        batch = {"distill": data.batch(order[start:start + n_dist].tolist(), epoch, cfg.seed)}
        if syn_data is not None:
            pick = np.random.default_rng([cfg.seed, epoch, k, rank, 1]).choice(len(syn_data), n_syn, replace=False)
            batch["synthetic"] = syn_data.batch(pick.tolist(), epoch, cfg.seed)
        return batch

    from model.train.config import TrainConfig
    from model.train.loop import compute_losses, loss_constants

    syn_consts = loss_constants(template, device=where) if syn_data is not None else {}

    def loss_of(batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(batch["distill"]["image"])
        loss, parts = distill_losses(out, batch["distill"], cfg.weights, height)
        if "synthetic" in batch:
            syn = batch["synthetic"]
            syn_loss, syn_parts = compute_losses(model(syn["image"]), syn, syn_consts,
                                                 TrainConfig(variant=cfg.variant), height)
            loss = (n_dist * loss + n_syn * syn_loss) / cfg.batch_size
            parts.update({f"synthetic_{k}": v for k, v in syn_parts.items()})
        return loss, parts

    teacher = data.index["teacher"]
    header = {"teacher": json.dumps(teacher), "labels": str(labels_dir)}
    if not teacher["commercial_use"]:  # learned from non-commercial weights: their terms travel with it
        header.update(license=teacher["license"], commercial_use="false",
                      license_notice=f"distilled from {teacher['variant']} weights under {teacher['license']}; "
                      f"{teacher['license_notice']}")

    def save(step: int) -> None:
        _save_state(state_path, net, opt, step, cfg, template)
        save_checkpoint(net, ckpt_path, variant=cfg.variant, template=template, trained=True,
                        embed_template=template.sha256 != shipped.sha256,
                        extra={"step": str(step), "distill_config": json.dumps(asdict(cfg)), **header})

    run_steps(net, opt, cfg, step, cfg.max_steps, steps_per_epoch, next_batch, loss_of, save, metrics_path,
              device=where, workers=workers)
    if rank == 0:
        report["after"] = disagreement(net, data, data.heldout_ids)
        report.update(teacher=data.index["teacher"], student=cfg.variant, steps=cfg.max_steps,
                      box_source=data.index["box_source"])
        with atomic_path(report_path) as tmp, open(tmp, "w") as f:
            json.dump(report, f, indent=1)
        b, a = report["before"], report["after"]
        log(f"held-out disagreement with the teacher: 2D {b['median_2d_px']:.2f} -> {a['median_2d_px']:.2f} px "
            f"(median of per-sample means over teacher-visible vertices), visibility gap "
            f"{b['mean_visibility_gap']:.3f} -> {a['mean_visibility_gap']:.3f} ({a['samples']} samples)")
    if world > 1:
        torch.distributed.destroy_process_group()
    return ckpt_path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m model.train.distill", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    lab = sub.add_parser("label", help="run the teacher over IMAGES (folder or video)")
    lab.add_argument("--teacher", type=Path, required=True)
    lab.add_argument("--images", type=Path, required=True)
    lab.add_argument("--out", type=Path, required=True)
    lab.add_argument("--every", type=int, default=1, help="video: keep every N-th frame; folder: every N-th image")
    lab.add_argument("--limit", type=int, default=None, help="at most this many frames")
    lab.add_argument("--whole-frames", action="store_true",
                     help="no detector: every frame is one person (single-person footage that fills the frame)")
    lab.add_argument("--device", default="auto", help=f"where the teacher runs: {DEVICE_HELP}")
    tr = sub.add_parser("train", help="train the student on the labels")
    tr.add_argument("--labels", type=Path, required=True)
    tr.add_argument("--student", default="xs")
    tr.add_argument("--out", type=Path, required=True)
    tr.add_argument("--resume", action="store_true")
    tr.add_argument("--init", type=Path, default=None)
    tr.add_argument("--init-partial", action="store_true")
    tr.add_argument("--max-steps", type=int, default=None)
    tr.add_argument("--batch-size", type=int, default=None)
    tr.add_argument("--lr", type=float, default=None)
    tr.add_argument("--save-every", type=int, default=None)
    tr.add_argument("--synthetic", type=Path, default=Path("data/synthetic"))
    tr.add_argument("--synthetic-ratio", type=float, default=0.0)
    tr.add_argument("--threads", type=int, default=None)
    tr.add_argument("--device", default="auto", help=f"where to train: {DEVICE_HELP}")
    tr.add_argument("--workers", type=int, default=0, help="processes that build the next batches (0: none)")
    args = p.parse_args(argv)
    try:
        if args.cmd == "label":
            if args.every < 1:
                p.error("--every must be >= 1")
            label(args.teacher, args.images, args.out, args.every, args.limit, use_detector=not args.whole_frames,
                  device=args.device)
            return 0
        if not 0.0 <= args.synthetic_ratio < 1.0:
            p.error("--synthetic-ratio must be in [0, 1)")
        if args.threads:
            torch.set_num_threads(args.threads)
        cfg = DistillConfig(variant=args.student)
        overrides = {"max_steps": args.max_steps, "batch_size": args.batch_size, "lr": args.lr,
                     "save_every": args.save_every, "synthetic_ratio": args.synthetic_ratio}
        cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
        path = distill(cfg, args.labels, args.out, resume=args.resume, init=args.init,
                       init_partial=args.init_partial, synthetic=args.synthetic, device=args.device,
                       workers=args.workers)
    except (DistillError, FileNotFoundError, KeyError, ValueError) as exc:  # CheckpointError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
