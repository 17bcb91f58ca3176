"""fp16 range audit: run the PyTorch deploy model with activations recorded on golden inputs.

Flags (a) any module output whose magnitude nears the fp16 limit (65504), and (b) any
softmax whose fp16 evaluation would underflow to a one-hot (sub-cell precision lost) or
whose beta-scaled logits overflow. The report names the layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from model.network.argsoftmax import ArgSoftmax1D, SpatialArgSoftmax

FP16_MAX = 65504.0
NEAR_LIMIT = 0.25 * FP16_MAX  # a quarter of the range: one add or mul away from overflow
FP16_EXP_UNDERFLOW = -17.3  # exp(x) < 2^-25 rounds to 0 in fp16 below this


@dataclass
class AuditEntry:
    """Range statistics of one recorded tensor."""

    layer: str
    kind: str  # activation | softmax
    max_abs: float
    underflow_fraction: float | None = None
    max_peak_probability: float | None = None
    flag: str | None = None


def _softmax_stats(name: str, logits: torch.Tensor) -> AuditEntry:
    x = logits.double().reshape(-1, logits.shape[-1])
    shifted = x - x.max(dim=-1, keepdim=True).values
    under = (shifted < FP16_EXP_UNDERFLOW).double().mean().item()
    peak = torch.softmax(x, dim=-1).max(dim=-1).values.max().item()
    entry = AuditEntry(name, "softmax", float(x.abs().max()), under, peak)
    if entry.max_abs > FP16_MAX:
        entry.flag = "beta-scaled logits overflow fp16"
    elif peak > 0.999:
        entry.flag = "softmax collapses to one-hot in fp16 (sub-cell precision lost)"
    return entry


def audit_fp16_ranges(model: torch.nn.Module, inputs: list[np.ndarray]) -> list[AuditEntry]:
    """Run `model` on `inputs` and return one entry per leaf layer / softmax, worst case over inputs."""
    entries: dict[str, AuditEntry] = {}
    hooks = []

    def keep(entry: AuditEntry) -> None:
        old = entries.get(entry.layer)
        if old is None or entry.max_abs > old.max_abs or (entry.flag and not old.flag):
            entries[entry.layer] = entry

    def on_output(name):
        def hook(_mod, _inp, out):
            if isinstance(out, torch.Tensor):
                m = float(out.detach().abs().max())
                keep(AuditEntry(name, "activation", m, flag="near fp16 limit" if m > NEAR_LIMIT else None))

        return hook

    def on_softmax_input(name, beta):
        def hook(_mod, inp):
            keep(_softmax_stats(name + " (softmax)", inp[0].detach() * beta))

        return hook

    for name, mod in model.named_modules():
        if isinstance(mod, SpatialArgSoftmax):
            hooks.append(mod.register_forward_pre_hook(on_softmax_input(name, mod.beta)))
        elif isinstance(mod, ArgSoftmax1D):
            hooks.append(mod.register_forward_pre_hook(on_softmax_input(name, 1.0)))
        if not list(mod.children()):
            hooks.append(mod.register_forward_hook(on_output(name)))
    try:
        with torch.no_grad():
            for image in inputs:
                model(torch.from_numpy(np.asarray(image, dtype=np.float32)))
    finally:
        for h in hooks:
            h.remove()
    return sorted(entries.values(), key=lambda e: -e.max_abs)


def audit_summary(entries: list[AuditEntry]) -> dict:
    """JSON-able summary: flagged layers and the largest magnitudes."""
    return {
        "fp16_max": FP16_MAX,
        "near_limit_threshold": NEAR_LIMIT,
        "flagged": [asdict(e) for e in entries if e.flag],
        "largest": [asdict(e) for e in entries[:5]],
        "softmax": [asdict(e) for e in entries if e.kind == "softmax"],
    }
