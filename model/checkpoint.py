"""Checkpoints as safetensors with a JSON-able header (variant, template identity).

safetensors holds raw tensors only, so loading an untrusted file executes no code.
A checkpoint made for another variant or another template is refused with a message
that says which. A checkpoint may carry its template (`template/<array>` tensors plus the
template header): imported weights whose template is not shipped (the authors' release)
then travel as one file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from model.atomic import atomic_path

CHECKPOINT_FORMAT = "meshpose-checkpoint"
CHECKPOINT_FORMAT_VERSION = "1"
TEMPLATE_PREFIX = "template/"
TEMPLATE_META_KEY = "template_meta"
# The hash of every tensor (name, dtype, shape, bytes) in the header: a file whose weights were damaged
# after it was written is refused by name instead of loading and giving NaNs or silently wrong meshes.
WEIGHTS_HASH_KEY = "weights_sha256"
# How the lift head reads the heatmap vertices (model/network/heads/lift.py), where not "plain": the weights
# were trained for one reading, so it travels with them; a file without the key reads them plainly.
LIFT_XY_READING_KEY = "lift_heatmap_xy"
# Every metadata key save_checkpoint writes itself; anything else came in through its `extra`.
HEADER_KEYS = frozenset({"format", "format_version", "variant", "template_name", "template_version",
                         "template_sha256", "trained", "created_utc", WEIGHTS_HASH_KEY, TEMPLATE_META_KEY,
                         LIFT_XY_READING_KEY})


class CheckpointError(ValueError):
    """A checkpoint that cannot be used with the requested model."""


@dataclass(frozen=True)
class CheckpointInfo:
    """Header of a checkpoint file."""

    path: Path
    sha256: str
    variant: str
    template_name: str
    template_version: str
    template_sha256: str
    trained: bool
    metadata: dict[str, str]


TRUST_PREFIX = "vertexpose.trust."  # the heatmap trust head (model/network/heads/trust.py), optional in a file


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors in name order: each name, dtype, shape and raw bytes."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(f"{name}|{t.dtype}|{list(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _refuse_pickle(path: Path) -> None:
    """Name a PyTorch pickle (torch.save) for what it is: such files can run code when loaded."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head[8:9] == b"{":  # safetensors: a little-endian u64 header length, then the JSON header
        return
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        kind = "a zip archive (torch.save's format)" if head.startswith(b"PK") else "a Python pickle"
        raise CheckpointError(
            f"{path} is {kind}, not safetensors: pickles can execute code when loaded, so they are refused. "
            f"Convert it where you trust it (torch.load(..., weights_only=True), then safetensors' save_file), "
            f"or for the authors' release use `make import-paper`")


def extra_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """A checkpoint's metadata beyond its header (training step, licence, records of later edits): what to
    pass as save_checkpoint's `extra` when rewriting that checkpoint with changed weights."""
    return {k: v for k, v in metadata.items() if k not in HEADER_KEYS}


def save_checkpoint(
    model: torch.nn.Module,
    path: str | os.PathLike,
    *,
    variant: str,
    template,
    trained: bool,
    extra: dict[str, str] | None = None,
    embed_template: bool = False,
) -> Path:
    """Write the model's state dict atomically (temp file, then rename) with its identity header.

    embed_template: also store the template's arrays and header in the file (for templates that
    are not shipped, e.g. the authors' release); `read_embedded_template` gives it back.
    `extra` may not name a header key: the header says what the file is and is written from the arguments
    (rewriting a checkpoint: pass `extra_metadata(info.metadata)`).
    """
    clash = sorted(HEADER_KEYS & set(extra or {}))
    if clash:
        raise ValueError(f"extra metadata may not set header keys {clash}: they are written from the arguments")
    path = Path(path)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "variant": variant,
        "template_name": template.name,
        "template_version": str(template.version),
        "template_sha256": template.sha256,
        "trained": json.dumps(bool(trained)),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    reading = getattr(getattr(model, "lift", None), "heatmap_xy_reading", "plain")
    if reading != "plain":
        meta[LIFT_XY_READING_KEY] = reading
    meta.update(extra or {})
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta[WEIGHTS_HASH_KEY] = weights_sha256(tensors)  # the network's tensors; the template has its own hash
    if embed_template:
        from model.template.asset import template_arrays_of

        meta[TEMPLATE_META_KEY] = json.dumps(template.metadata, sort_keys=True)
        for key, arr in template_arrays_of(template).items():
            tensors[TEMPLATE_PREFIX + key] = torch.from_numpy(np.array(arr, copy=True))
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=meta)
    return path


def read_checkpoint_info(path: str | os.PathLike) -> CheckpointInfo:
    """Read and validate a checkpoint's header without loading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    _refuse_pickle(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a safetensors checkpoint: {exc}") from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a MeshPose checkpoint (no format header)")
    if meta.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {meta.get('format_version')!r}; "
            f"this code reads version {CHECKPOINT_FORMAT_VERSION}"
        )
    missing = [k for k in ("variant", "template_sha256", "template_name", "template_version") if k not in meta]
    if missing:
        raise CheckpointError(f"{path} lacks header fields {missing}")
    return CheckpointInfo(
        path=path,
        sha256=file_sha256(path),
        variant=meta["variant"],
        template_name=meta["template_name"],
        template_version=meta["template_version"],
        template_sha256=meta["template_sha256"],
        trained=json.loads(meta.get("trained", "false")),
        metadata=meta,
    )


def load_network_tensors(info: CheckpointInfo) -> dict[str, torch.Tensor]:
    """The network's tensors of a checkpoint, verified against the weights hash in its header."""
    try:
        state = {k: v for k, v in load_file(str(info.path)).items() if not k.startswith(TEMPLATE_PREFIX)}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{info.path}: its tensors cannot be read ({exc}): the file is damaged") from None
    recorded = info.metadata.get(WEIGHTS_HASH_KEY)
    if recorded is None:
        raise CheckpointError(f"{info.path} records no {WEIGHTS_HASH_KEY}, so its weights cannot be verified; "
                              f"re-save it with this version (python -m model.tools.rehash_checkpoint {info.path})")
    if weights_sha256(state) != recorded:
        raise CheckpointError(f"{info.path}: its weights do not match the hash recorded when it was written "
                              f"({recorded[:12]}): the file is damaged; fetch or export it again")
    return state


def load_checkpoint(model: torch.nn.Module, path: str | os.PathLike, *, variant: str, template) -> CheckpointInfo:
    """Load weights into `model` after checking that the file was made for this variant and template."""
    info = read_checkpoint_info(path)
    if info.variant != variant:
        raise CheckpointError(
            f"checkpoint {info.path} was trained for variant {info.variant!r}, not {variant!r}; "
            f"pass VARIANT={info.variant} or another checkpoint"
        )
    if info.template_sha256 != template.sha256:
        raise CheckpointError(
            f"checkpoint {info.path} was made for template {info.template_name} v{info.template_version} "
            f"(sha256 {info.template_sha256[:12]}), but the loaded template is {template.name} "
            f"v{template.version} (sha256 {template.sha256[:12]})"
        )
    state = load_network_tensors(info)
    _attach_present_trust_head(model, state)
    _set_lift_xy_reading(model, info)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"checkpoint {info.path} does not fit the {variant} network: "
            f"missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}"
        )
    return info


def _attach_present_trust_head(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """A checkpoint that carries a heatmap trust head (model/train/fit_trust.py) gets one built to its shape;
    one without runs Eq. 5 weighted by visibility alone, as it was trained."""
    vertexpose = getattr(model, "vertexpose", None)
    if vertexpose is None:  # not a MeshPose network
        return
    hidden = state.get(TRUST_PREFIX + "context.weight")
    if hidden is None:
        vertexpose.trust = None
    elif vertexpose.trust is None or vertexpose.trust.context.out_channels != hidden.shape[0]:
        vertexpose.attach_trust(hidden=hidden.shape[0])


def _set_lift_xy_reading(model: torch.nn.Module, info: CheckpointInfo) -> None:
    """Make the lift read the heatmap vertices the way the file's weights were trained to."""
    reading = info.metadata.get(LIFT_XY_READING_KEY, "plain")
    lift = getattr(model, "lift", None)
    if not hasattr(lift, "heatmap_xy_reading"):  # not a MeshPose network, or the release's lift
        if reading != "plain":
            raise CheckpointError(f"{info.path} has a lift that reads the heatmap vertices ({reading!r}); "
                                  "this network's lift does not")
        return
    if reading not in lift.heatmap_xy_readings:  # the network layer's list (checkpoints sit below it)
        raise CheckpointError(f"{info.path}: unknown {LIFT_XY_READING_KEY} {reading!r}; this code knows "
                              f"{lift.heatmap_xy_readings}")
    if reading == "trust" and model.vertexpose.trust is None:
        raise CheckpointError(f"{info.path}: its lift reads trust-scaled heatmap vertices, and there is no heatmap "
                              "trust head to scale them by (the file carries none, or the network it is loaded "
                              "into has none)")
    lift.heatmap_xy_reading = reading


def load_matching_weights(model: torch.nn.Module, path: str | os.PathLike, *, template,
                          any_template: bool = False) -> tuple[list[str], list[str]]:
    """Warm-start `model` from a checkpoint of a related network (fine-tuning across a head change).

    Copies every tensor whose name and shape match; returns (loaded, left at their initialisation).
    The template must be the same (vertex-indexed tensors would be meaningless otherwise) unless
    `any_template` and the vertex counts differ, so that no vertex-indexed tensor can match in shape.
    """
    info = read_checkpoint_info(path)
    state = load_network_tensors(info)
    theirs = state.get("vertexpose.heatmaps.weight")  # one heatmap per vertex: its rows count V
    other_count = any_template and theirs is not None and theirs.shape[0] != template.num_vertices
    if info.template_sha256 != template.sha256 and not other_count:
        raise CheckpointError(
            f"checkpoint {info.path} was made for template {info.template_name} v{info.template_version}, "
            f"not {template.name} v{template.version}"
        )
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not fits:
        raise CheckpointError(f"no tensor of {info.path} fits this network")
    model.load_state_dict(fits, strict=False)
    _set_lift_xy_reading(model, info)
    return sorted(fits), sorted(k for k in own if k not in fits)


def read_embedded_template(path: str | os.PathLike):
    """The template stored inside a checkpoint (a BodyTemplate), or None when it carries none."""
    from model.template.asset import template_from_arrays

    info = read_checkpoint_info(path)
    if TEMPLATE_META_KEY not in info.metadata:
        return None
    with safe_open(str(info.path), framework="np") as f:
        names = [k for k in f.keys() if k.startswith(TEMPLATE_PREFIX)]  # noqa: SIM118 (not a dict)
        arrays = {k[len(TEMPLATE_PREFIX):]: f.get_tensor(k) for k in names}
    meta = json.loads(info.metadata[TEMPLATE_META_KEY])
    template = template_from_arrays(arrays, meta, f"{info.path} (embedded template)")
    if template.sha256 != info.template_sha256:
        raise CheckpointError(f"{info.path}: its embedded template hashes to {template.sha256[:12]}, "
                              f"the header says {info.template_sha256[:12]}: the file is damaged")
    return template
