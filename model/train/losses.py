"""The paper's losses, each a small function (docs/DESIGN.md §2).

Shapes: B batch, V template vertices, P annotated DensePose points per sample, F faces,
h x w heatmap cells at stride 4 of the input. Point and vertex coordinates are crop pixels.
Every loss takes a `valid`/`weight` mask so that partial annotations (real DensePose-COCO)
and padding contribute nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from model.network.heads.trust import heatmap_variance

HEATMAP_STRIDE = 4


def _masked_mean(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    w = weight.to(x.dtype)
    return (x * w).sum() / w.sum().clamp_min(1.0)


def _point_cells(points: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Flat heatmap cell index (B, P) of each point (crop pixels)."""
    col = (points[..., 0] / HEATMAP_STRIDE).floor().long().clamp(0, w - 1)
    row = (points[..., 1] / HEATMAP_STRIDE).floor().long().clamp(0, h - 1)
    return row * w + col


def barycentric_cross_entropy(heatmaps: torch.Tensor, points: torch.Tensor, face_vertices: torch.Tensor,
                              bary: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Eq. 3: at each annotated pixel, -sum_{v in f} lambda_v log q_v, q = softmax over vertices of
    the heatmap logits at that pixel. heatmaps (B,V,h,w), points (B,P,2), face_vertices (B,P,3) long,
    bary (B,P,3), valid (B,P)."""
    b, v, h, w = heatmaps.shape
    cells = _point_cells(points, h, w)  # (B, P)
    logits = heatmaps.reshape(b, v, h * w).gather(2, cells[:, None, :].expand(b, v, cells.shape[1]))  # (B,V,P)
    logq = torch.log_softmax(logits, dim=1).transpose(1, 2)  # (B, P, V)
    picked = logq.gather(2, face_vertices)  # (B, P, 3)
    return _masked_mean(-(bary * picked).sum(-1), valid)


def uv_consistency(xy_heatmap: torch.Tensor, points: torch.Tensor, face_vertices: torch.Tensor,
                   bary: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Eq. 4: || x - sum_{v in f} lambda_v x_v || between an annotated pixel and the barycentric
    combination of its face's argsoftmax vertex positions. xy_heatmap (B,V,2)."""
    corners = torch.gather(xy_heatmap, 1, face_vertices.reshape(face_vertices.shape[0], -1, 1).expand(-1, -1, 2))
    corners = corners.reshape(*face_vertices.shape, 2)  # (B, P, 3, 2)
    recon = (bary[..., None] * corners).sum(-2)
    return _masked_mean((recon - points).norm(dim=-1), valid)


def visibility_bce(vis_logit: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """BCE on per-vertex visibility; `weight` 0 where the rules give no label (partial visibility:
    vertices of annotated triangles are visible, vertices outside the crop invisible, others unknown)."""
    loss = F.binary_cross_entropy_with_logits(vis_logit, target.to(vis_logit.dtype), reduction="none")
    return _masked_mean(loss, weight)


def partial_visibility_labels(num_vertices: int, face_vertices: torch.Tensor, valid: torch.Tensor,
                              vertices_2d: torch.Tensor | None, height: int, width: int) -> tuple[torch.Tensor, ...]:
    """(target, weight) from DensePose annotations alone: annotated triangles' vertices are visible;
    vertices whose ground truth falls outside the crop are invisible; the rest are unlabelled."""
    b = face_vertices.shape[0]
    target = torch.zeros(b, num_vertices, device=face_vertices.device)
    weight = torch.zeros_like(target)
    fv = face_vertices.masked_fill(~valid.bool()[..., None], 0).reshape(b, -1)
    hit = torch.zeros_like(target).scatter_add_(1, fv, valid.float().repeat_interleave(3, dim=1))
    target[hit > 0] = 1.0
    weight[hit > 0] = 1.0
    if vertices_2d is not None:
        x, y = vertices_2d[..., 0], vertices_2d[..., 1]
        outside = (x < 0) | (x >= width) | (y < 0) | (y >= height)
        target[outside] = 0.0
        weight[outside] = 1.0
    return target, weight


def soft_silhouette_loss(xy: torch.Tensor, visibility: torch.Tensor, mask: torch.Tensor,
                         sigma_px: float = 6.0, stride: int = HEATMAP_STRIDE) -> torch.Tensor:
    """Differentiable silhouette of per-vertex visibility: each vertex splats a Gaussian weighted by
    its visibility probability; S = 1 - prod(1 - v_i g_i) on a stride-4 grid, BCE against the
    instance mask (B, H, W) pooled to the grid."""
    _, hh, ww = mask.shape
    h, w = hh // stride, ww // stride
    ys = (torch.arange(h, device=xy.device, dtype=xy.dtype) + 0.5) * stride
    xs = (torch.arange(w, device=xy.device, dtype=xy.dtype) + 0.5) * stride
    gy = (ys[None, :, None] - xy[..., 1][:, None, :]) ** 2  # (B, h, V)
    gx = (xs[None, :, None] - xy[..., 0][:, None, :]) ** 2  # (B, w, V)
    g = torch.exp(-(gy[:, :, None, :] + gx[:, None, :, :]) / (2 * sigma_px**2))  # (B, h, w, V)
    s = 1 - torch.exp(torch.log1p(-(visibility[:, None, None, :] * g).clamp(max=1 - 1e-6)).sum(-1))
    target = F.avg_pool2d(mask[:, None].float(), stride)[:, 0]
    return F.binary_cross_entropy(s.clamp(1e-6, 1 - 1e-6), target)


def vertex_l2(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean Euclidean distance between predicted and ground-truth vertices (B, V, 3)."""
    d = (pred - gt).norm(dim=-1)
    return _masked_mean(d, weight if weight is not None else torch.ones_like(d))


def edge_length_loss(pred: torch.Tensor, gt: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Mean |len_pred(e) - len_gt(e)| over template edges (E, 2)."""
    lp = (pred[:, edges[:, 0]] - pred[:, edges[:, 1]]).norm(dim=-1)
    lg = (gt[:, edges[:, 0]] - gt[:, edges[:, 1]]).norm(dim=-1)
    return (lp - lg).abs().mean()


def normal_cosine_loss(pred: torch.Tensor, gt: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean (1 - cos) between predicted and ground-truth face normals (F, 3)."""
    def normals(v):
        a, b, c = v[:, faces[:, 0]], v[:, faces[:, 1]], v[:, faces[:, 2]]
        return F.normalize(torch.cross(b - a, c - a, dim=-1), dim=-1, eps=1e-8)

    return (1 - (normals(pred) * normals(gt)).sum(-1)).mean()


def joint_loss(pred_vertices: torch.Tensor, gt_joints: torch.Tensor, landmarker: torch.Tensor,
               weight: torch.Tensor, dims: int = 2) -> torch.Tensor:
    """Joints through the landmarker (J, V) against ground truth (B, J, >=dims), weighted per joint."""
    joints = torch.einsum("jv,bvc->bjc", landmarker, pred_vertices)
    d = (joints[..., :dims] - gt_joints[..., :dims]).norm(dim=-1)
    return _masked_mean(d, weight)


def segmentation_target(mask: torch.Tensor, stride: int = HEATMAP_STRIDE) -> torch.Tensor:
    """The instance mask (B, H, W) pooled to the heatmap grid as class indices (B, h, w): a cell is
    foreground if mostly covered."""
    return (F.avg_pool2d(mask[:, None].float(), stride)[:, 0] > 0.5).long()


def segmentation_ce(logits: torch.Tensor, mask: torch.Tensor, stride: int = HEATMAP_STRIDE) -> torch.Tensor:
    """Foreground/background cross-entropy of the (B, 2, h, w) segmentation head against the
    instance mask (B, H, W) pooled to the heatmap grid (segmentation_target)."""
    return F.cross_entropy(logits, segmentation_target(mask, stride))


def heatmap_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Each heatmap's spatial softmax (logits (B, V, h, w): the softmax arguments), same shape."""
    b, v, h, w = logits.shape
    return torch.softmax(logits.reshape(b, v, h * w), dim=-1).reshape(b, v, h, w)


def trust_target(prob: torch.Tensor, tau: float) -> torch.Tensor:
    """What the heatmap trust is taught (B, V): exp(-variance / tau) of each map's probabilities (B, V, h, w),
    near 1 for a single peak, near 0 for mass spread over modes several cells apart."""
    return torch.exp(-heatmap_variance(prob) / tau)


def heatmap_spread(logits: torch.Tensor, free: float, weight: torch.Tensor) -> torch.Tensor:
    """Mean excess, beyond `free` square cells, of the spatial variance of each heatmap's softmax
    (logits (B, V, h, w): the softmax arguments), weighted per (B, V). A map with two separated modes has
    a large variance and puts its expectation between them, where any small perturbation (fp16
    arithmetic, one grey level of camera noise) moves mass from one mode to the other and the vertex by
    pixels; a single peak has a variance well under one square cell."""
    return _masked_mean(torch.relu(heatmap_variance(heatmap_probabilities(logits)) - free), weight)


def trust_error(trust: torch.Tensor, target: torch.Tensor, visibility: torch.Tensor, upweight: float,
                spread_below: float) -> torch.Tensor:
    """Visibility-weighted squared error of the heatmap trust (B, V) to its target, the maps whose target is
    below `spread_below` (the few spread ones) weighted 1 + `upweight`."""
    weight = visibility * (1.0 + upweight * (target < spread_below))
    return (weight * (trust - target) ** 2).sum() / weight.sum().clamp_min(1e-6)


def heatmap_trust(trust: torch.Tensor, logits: torch.Tensor, visibility: torch.Tensor, tau: float, upweight: float,
                  spread_below: float) -> torch.Tensor:
    """trust_error against exp(-variance / tau) of each heatmap's softmax (logits (B, V, h, w): the softmax
    arguments), the target taken as a constant."""
    with torch.no_grad():
        target = trust_target(heatmap_probabilities(logits), tau)
    return trust_error(trust, target, visibility, upweight, spread_below)


def logit_range(logits: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean squared excess of each heatmap's softmax arguments (B, V, h, w) beyond +-`margin` around
    that map's mean. A softmax needs only a few units of contrast; the rest of a trained map's range
    (hundreds) is magnitude that fp16 arithmetic errs in proportion to, near the peaks too."""
    centred = logits - logits.mean(dim=(2, 3), keepdim=True)
    return torch.relu(centred.abs() - margin).square().mean()
