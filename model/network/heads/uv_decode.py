"""Eq. 2 of the paper: per-pixel DensePose (part, U, V) from the vertex heatmaps.

Training and evaluation only (it gathers by data-dependent indices, which the deploy
graph must not). Three strategies, for the paper's ablation:
  barycentric     - face with the largest summed vertex posterior, barycentric UV (the paper's);
  closest         - the single most probable vertex's part and UV;
  global_average  - posterior-weighted average UV over all vertices of the most probable part.
"""

from __future__ import annotations

import numpy as np
import torch

UV_DECODE_METHODS = ("barycentric", "closest", "global_average")


def uv_decode(
    heatmaps: torch.Tensor,
    faces: np.ndarray | torch.Tensor,
    face_parts: np.ndarray | torch.Tensor,
    vertex_parts: np.ndarray | torch.Tensor,
    uv: np.ndarray | torch.Tensor,
    method: str = "barycentric",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode heatmap logits (B, V, h, w) into part labels (B, h, w) in 1..24 and UV (B, h, w, 2).

    The per-pixel posterior over vertices is the softmax over the vertex axis (not the spatial one).
    """
    if method not in UV_DECODE_METHODS:
        raise ValueError(f"unknown UV decoding {method!r}; choose one of {UV_DECODE_METHODS}")
    dev = heatmaps.device
    faces_t = torch.tensor(np.asarray(faces), dtype=torch.long, device=dev)
    fparts = torch.tensor(np.asarray(face_parts), dtype=torch.long, device=dev)
    vparts = torch.tensor(np.asarray(vertex_parts), dtype=torch.long, device=dev)
    uv_t = torch.tensor(np.asarray(uv), dtype=heatmaps.dtype, device=dev)
    q = torch.softmax(heatmaps, dim=1).permute(0, 2, 3, 1)  # (B, h, w, V)
    if method == "barycentric":
        face_q = q[..., faces_t]  # (B, h, w, F, 3)
        best = face_q.sum(dim=-1).argmax(dim=-1)  # (B, h, w)
        wq = torch.gather(face_q, 3, best[..., None, None].expand(*best.shape, 1, 3)).squeeze(3)
        lam = wq / wq.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        corner_uv = uv_t[faces_t[best]]  # (B, h, w, 3, 2)
        return fparts[best], (lam[..., None] * corner_uv).sum(dim=-2)
    if method == "closest":
        best = q.argmax(dim=-1)
        return vparts[best], uv_t[best]
    num_parts = int(vparts.max().item())
    onehot = torch.nn.functional.one_hot(vparts - 1, num_parts).to(q.dtype)  # (V, P)
    part = (q @ onehot).argmax(dim=-1)  # (B, h, w) in 0..P-1
    mask = onehot.T[part]  # (B, h, w, V): vertices of the chosen part
    wq = q * mask
    wq = wq / wq.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    return part + 1, wq @ uv_t
