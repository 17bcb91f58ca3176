"""Where training runs: the `--device` choice, batches moved there, and the process group's backend.

`auto` takes this process's GPU when CUDA is available (under torchrun, the one of its LOCAL_RANK) and the CPU
otherwise, and the run's first line says which; `cuda` or `cuda:N` on a machine without CUDA is an error,
never a silent run on the CPU. Batches are built on the CPU (the dataset's numpy augmentation and the seeded
noise generators stay on the CPU, so a resumed run draws the same numbers whatever the device) and moved
once per step.
"""

from __future__ import annotations

import os

import torch

DEVICE_HELP = "auto (a GPU when CUDA is available, else the CPU), cpu, cuda or cuda:N"


class DeviceError(ValueError):
    """A device that does not exist here, or one spelled in a way torch does not know."""


def resolve_device(spec: str) -> torch.device:
    """The torch device for `spec` (DEVICE_HELP); under torchrun, `auto` and `cuda` take LOCAL_RANK's GPU."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec != "cuda" and not spec.startswith("cuda:"):
        raise DeviceError(f"unknown device {spec!r}; choose {DEVICE_HELP}")
    if not torch.cuda.is_available():
        raise DeviceError(f"--device {spec}: this torch ({torch.__version__}) sees no CUDA device; "
                          "use --device cpu, or install a CUDA build of torch on a machine with a GPU")
    try:
        device = torch.device(spec if spec != "cuda" else f"cuda:{local_rank}")
    except RuntimeError as exc:
        raise DeviceError(f"unknown device {spec!r}; choose {DEVICE_HELP}") from exc
    if device.index is None or device.index >= torch.cuda.device_count():
        raise DeviceError(f"--device {spec}: there are {torch.cuda.device_count()} CUDA device(s) here")
    return device


def describe(device: torch.device) -> str:
    """A short human name, e.g. 'cuda:0 (NVIDIA H200)' or 'cpu (2 thread(s))'."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} thread(s))"


def process_group_backend(device: torch.device) -> str:
    """NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device.type == "cuda" else "gloo"


def move_batch(batch: dict, device: torch.device) -> dict:
    """The batch's tensors (nested dicts too: distillation mixes two kinds of sample) on `device`."""
    if device.type == "cpu":
        return batch
    return {k: move_batch(v, device) if isinstance(v, dict) else v.to(device, non_blocking=True)
            for k, v in batch.items()}
