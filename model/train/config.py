"""Training configurations, one per variant, in plain Python."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss groups (paper §3: 2D DensePose losses, visibility, 3D losses, joints)."""

    barycentric_ce: float = 1.0
    uv_consistency: float = 0.05  # pixels
    visibility: float = 1.0
    silhouette: float = 0.5
    vertices: float = 0.05  # pixels, fused output
    regression: float = 0.05  # pixels, the lift head's own xyz
    edges: float = 0.05
    normals: float = 0.5
    joints_2d: float = 0.05
    segmentation: float = 0.5
    heatmap_vertices: float = 0.1  # pixels: the heatmap argsoftmax of ground-truth-visible vertices
    logit_range: float = 0.0  # squared excess of the heatmaps' softmax arguments beyond +-LOGIT_MARGIN (fp16)
    heatmap_spread: float = 0.0  # visible vertices' heatmap variance beyond SPREAD_FREE square cells (one mode)
    input_consistency: float = 0.0  # pixels: how far INPUT_NOISE grey levels of input noise move visible vertices
    # pixels: how far relative noise on every layer's output (TrainConfig.activation_noise) moves visible vertices
    fp16_consistency: float = 0.0
    # pixels: how far the same noise moves ground-truth-visible vertices' heatmap positions. Unlike fp16_consistency
    # it does not pass through the visibility head, so turning visibility down cannot lower it.
    fp16_heatmap_consistency: float = 0.0
    # pixels: how far the int8 exports' rounding (emulated, model/train/int8_emulation.py) moves ground-truth-visible
    # vertices' heatmap positions; uses the same perturbed copy, so it cannot be combined with the fp16 terms.
    int8_heatmap_consistency: float = 0.0
    # A heatmap trust head trained with the network (model/network/heads/trust.py): squared error of each visible
    # vertex's trust to exp(-variance / TRUST_TAU) of its own map, spread maps weighted 1 + TRUST_UPWEIGHT. The
    # trust's gradient reaches the backbone through the features the trust map is predicted from, never the
    # heatmaps or Eq. 5 (both detached in training), so the features learn which map is ambiguous.
    heatmap_trust: float = 0.0


# Half-width of the band around each heatmap's mean that the logit_range term leaves free (softmax units:
# a contrast of 16 is a probability ratio of 9e6, far more than any sub-cell position needs).
LOGIT_MARGIN = 16.0

# Spatial variance a heatmap may have before heatmap_spread counts it (square heatmap cells): single
# peaks measure 0.2 (median over visible vertices of the shipped xs); two modes a few cells apart, tens.
SPREAD_FREE = 1.0

# Half-width, in grey levels, of the uniform noise input_consistency adds to a copy of each image (a camera's
# last bit or two: the shipped xs moves visible vertices by up to tens of pixels under +-0.5).
INPUT_NOISE = 1.0

# Default relative half-width of the uniform noise the fp16 consistency terms put on every convolution's and
# linear layer's output in a copy of each image: four fp16 unit roundoffs (2^-11), for the accumulation in
# dot products.
FP16_NOISE = 4 * 2.0**-11

# The heatmap trust's target exp(-variance / TRUST_TAU) (square heatmap cells) and the extra weight of spread maps
# (target below TRUST_SPREAD): model/train/fit_trust.py's defaults, chosen on a validation split (docs/DESIGN.md §8).
TRUST_TAU = 4.0
TRUST_UPWEIGHT = 50.0
TRUST_SPREAD = 0.5

# Terms that are not the paper's (deployment regularisers, off by default): loss groups leave them as set.
EXTRA_TERMS: tuple[str, ...] = ("logit_range", "heatmap_spread", "input_consistency", "fp16_consistency",
                                "fp16_heatmap_consistency", "int8_heatmap_consistency", "heatmap_trust")
PAPER_TERMS: tuple[str, ...] = tuple(k for k in LossWeights.__dataclass_fields__ if k not in EXTRA_TERMS)

# The paper's loss-group ablation (its Table of losses): each group adds terms to the one before.
# Segmentation stays in every group: it trains the person-mask head that scores detections, not the mesh.
LOSS_GROUPS: dict[str, tuple[str, ...]] = {
    "3d": ("vertices", "regression", "edges", "normals", "segmentation"),
    "3d+2d": ("vertices", "regression", "edges", "normals", "segmentation",
              "barycentric_ce", "uv_consistency", "joints_2d", "heatmap_vertices"),
    "all": PAPER_TERMS,
}


def loss_group_weights(group: str, base: LossWeights | None = None) -> LossWeights:
    """`base` (default weights) with every paper term outside `group` set to zero (EXTRA_TERMS kept as set)."""
    try:
        keep = LOSS_GROUPS[group]
    except KeyError:
        raise KeyError(f"unknown loss group {group!r}; known: {', '.join(LOSS_GROUPS)}") from None
    base = base or LossWeights()
    return replace(base, **{k: 0.0 for k in PAPER_TERMS if k not in keep})


def parse_loss_weights(items: list[str], base: LossWeights | None = None) -> LossWeights:
    """`base` with the `name=value` overrides of `items` applied (ValueError names a bad item)."""
    base = base or LossWeights()
    changes: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in LossWeights.__dataclass_fields__:
            raise ValueError(f"--loss-weight {item!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(LossWeights.__dataclass_fields__)}")
        try:
            changes[name] = float(value)
        except ValueError:
            raise ValueError(f"--loss-weight {item!r}: {value!r} is not a number") from None
    return replace(base, **changes)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on (stored in its checkpoint's metadata)."""

    variant: str
    batch_size: int = 16
    epochs: int = 10
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    max_steps: int | None = None
    flip_probability: float = 0.5
    colour_jitter: float = 0.2
    scale_jitter: float = 0.1  # crop zoom in [1 - s, 1 + s]
    rotation_deg: float = 10.0  # camera roll in [-r, r] degrees
    seed: int = 0
    log_every: int = 20
    save_every: int = 500
    # Also keep the checkpoint of every keep_every-th step as step<N>.safetensors (0: only the latest), so a
    # run's margins can be measured along the way afterwards; a multiple of save_every.
    keep_every: int = 0
    losses: LossWeights = field(default_factory=LossWeights)
    heatmap_logit_noise: float = 0.0  # std of training noise on the argsoftmax logits (an fp16 experiment)
    feature_noise: float = 0.0  # relative std of training noise on the heatmap head's input (fp16-like)
    # Relative half-width of the fp16 consistency terms' noise on every layer's output (larger: a margin beyond
    # fp16's own rounding, towards int8's).
    activation_noise: float = FP16_NOISE
    extreme_probability: float = 0.0  # share of samples at a camera's limits (dataset.CAMERA_EXTREMES)
    negative_probability: float = 0.0  # share of samples replaced by a frame with no person

    def with_overrides(self, **kw) -> TrainConfig:
        """A copy with some fields replaced (command-line overrides)."""
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


CONFIGS: dict[str, TrainConfig] = {
    "tiny": TrainConfig(variant="tiny", batch_size=4, epochs=1, warmup_steps=2, log_every=1, save_every=2),
    # From scratch: 5 epochs of the default 24,000-sample synthetic split (7,500 steps). The shipped
    # checkpoint was fine-tuned instead (its model card has the commands).
    "xs": TrainConfig(variant="xs", batch_size=16, epochs=5, lr=2e-3, warmup_steps=200, log_every=10, save_every=100),
    "s": TrainConfig(variant="s", batch_size=16, epochs=12, lr=1.5e-3, warmup_steps=300),
}


def get_config(variant: str) -> TrainConfig:
    """The configuration of a variant (KeyError lists the known ones)."""
    try:
        return CONFIGS[variant]
    except KeyError:
        raise KeyError(f"no training config for {variant!r}; known: {', '.join(CONFIGS)}") from None
