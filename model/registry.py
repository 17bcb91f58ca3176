"""Registry of model variants, in the style of timm: one spec per variant, read by everything.

A `VariantSpec` is the single source of truth for what a variant is and how it is fed:
network settings (input size, normalisation), tensor names, template, shipped checkpoint,
licence and crop convention. The network builders (`model/build.py`), the exporters, the
contract, the demo and the benchmarks read it; nobody else repeats "256x192" or "x/127.5 - 1".
Budgets (parameters, MACs) are checked by `make model-card` and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from model.network.backbones import HRNet, HRNetConfig, MobileNetFPN, MobileNetFPNConfig
from model.network.meshpose import MeshPoseSettings

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
INPUT_NAME = "image"
OUTPUT_NAMES = ("vertices", "visibility", "joints")


# The LiteRT GPU precisions an export can gate and a contract can name: the accelerator's fp16 arithmetic, fp32,
# and fp16 storage with fp32 accumulation in convolutions and matmuls (LiteRT's FP16_WITH_FP32_ACCUM).
GPU_PRECISIONS = ("fp16", "fp32", "fp16-fp32acc")


@dataclass(frozen=True)
class License:
    """Terms of a variant's weights, carried into every contract and model card."""

    name: str
    commercial_use: bool
    notice: str


@dataclass(frozen=True)
class CropConvention:
    """How a person box becomes the model input: enlargement and the colour outside the frame."""

    box_scale: float = 1.25
    pad_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)


PAPER_WEIGHTS = License(
    name="MeshPose research licence (Snap Inc.)",
    commercial_use=False,
    notice="The authors' released MeshPose weights (Snapchat/MeshPose), requested by the user from the authors: "
    "for non-commercial research purposes only; no commercial licence is granted; any redistribution, in binary "
    "form included, must keep Snap Inc.'s copyright notice, conditions and disclaimer.",
)
PROJECT_WEIGHTS = License(
    name="MeshPose mobile toolchain weights",
    commercial_use=True,
    notice="Trained by this project from scratch on synthetic renders of Anny (Apache-2.0); "
    "no third-party weights or datasets.",
)


@dataclass(frozen=True)
class VariantSpec:
    """What a variant is, how it is fed, where its weights live, and the budget it must stay within."""

    name: str
    description: str
    settings: MeshPoseSettings
    make_backbone: Callable[[MeshPoseSettings], nn.Module]
    input_name: str = INPUT_NAME
    output_names: tuple[str, ...] = OUTPUT_NAMES
    checkpoint: Path | None = None  # the shipped (or default imported) checkpoint
    license: License = PROJECT_WEIGHTS
    crop: CropConvention = field(default_factory=CropConvention)
    # Vertices of the variant's own template when it is not the shipped one (the release's 518); with
    # no checkpoint or template file at hand, an untrained network is built on a placeholder of this size.
    template_vertices: int | None = None
    # Golden cases the export gates run on (export/golden.py: 40, round-robin over 12 kinds, so any
    # prefix is varied): all of them by default; fewer at paper scale, where the fp16 simulators take
    # minutes per input on a CPU (docs/DESIGN.md §9), and for the test-only miniature.
    export_golden_inputs: int = 40
    # fp32 parity gate (max 2D error): two fp32 runs of the same graph differ by their summation order.
    parity_fp32_max_px: float = 0.01
    # Arithmetic the Android GPU path runs in (LiteRT GPU precision option, GPU_PRECISIONS); written into the
    # contract; `make export GPU_PRECISION=...` overrides it for one export.
    gpu_precision: str = "fp16"
    # Deploy graphs get the exact fp16 rewrites of model/network/fp16_rewrites.py (centred input, difference
    # stem). `paper` keeps the authors' network as they wrote it (it runs fp32 on the GPU).
    fp16_rewrites: bool = True
    max_params_m: float | None = None
    max_gmacs: float | None = None

    @property
    def input_hw(self) -> tuple[int, int]:
        """Model input (height, width) in pixels."""
        return self.settings.input_hw

    @property
    def normalization(self) -> tuple[float, float]:
        """(scale, bias): the network sees image * scale + bias for RGB in [0, 255]."""
        return self.settings.normalization

    @property
    def artifact_name(self) -> str:
        """Stem of every exported file of this variant."""
        return f"meshpose_{self.name}"


def weights_license(spec: VariantSpec, metadata: dict[str, str] | None) -> License:
    """The licence of a checkpoint's weights: the one its header records (imported or distilled
    weights carry their source's terms), else the variant's."""
    if metadata and "license" in metadata and "commercial_use" in metadata:
        import json

        return License(name=metadata["license"], commercial_use=bool(json.loads(metadata["commercial_use"])),
                       notice=metadata.get("license_notice", ""))
    return spec.license


_VARIANTS: dict[str, VariantSpec] = {}


def register(spec: VariantSpec) -> VariantSpec:
    """Add a variant to the registry (names are unique)."""
    if spec.name in _VARIANTS:
        raise ValueError(f"variant {spec.name!r} is already registered")
    _VARIANTS[spec.name] = spec
    return spec


def list_variants() -> list[str]:
    """Names of all registered variants."""
    return list(_VARIANTS)


def get_variant(name: str) -> VariantSpec:
    """Look a variant up by name, with the known names in the error."""
    try:
        return _VARIANTS[name]
    except KeyError:
        raise KeyError(f"unknown variant {name!r}; known variants: {', '.join(_VARIANTS)}") from None


_MOBILE_STAGES_SHORT = ((1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 64, 3, 2), (4, 96, 1, 1), (4, 160, 2, 2))

register(
    VariantSpec(
        name="tiny",
        description="test-only miniature (128x96 input): same op set as xs, seconds to export",
        export_golden_inputs=12,  # one case of each kind
        settings=MeshPoseSettings(input_hw=(128, 96), lift_hidden=16, bins=16, lift_spatial_channels=8,
                                  lift_embed=32, lift_uses_heatmap_xy=True),
        make_backbone=lambda s: MobileNetFPN(
            MobileNetFPNConfig(width=0.25, stem=16, stages=_MOBILE_STAGES_SHORT, neck_channels=16)
        ),
    )
)
register(
    VariantSpec(
        name="xs",
        description="mobile default: 256x192 input, MobileNetV2-0.5 + FPN-lite, heatmaps 64x48, spatial lift",
        # The lift reads the coarse map with its layout and the heatmap vertices (model/network/heads/lift.py):
        # 2D error 6.01 vs 6.29 px for the spatial summary alone after the same 600 fine-tuning steps.
        settings=MeshPoseSettings(input_hw=(256, 192), lift_spatial_channels=32, lift_uses_heatmap_xy=True),
        make_backbone=lambda s: MobileNetFPN(
            MobileNetFPNConfig(width=0.5, stem=32, stages=_MOBILE_STAGES_SHORT, neck_channels=64)
        ),
        checkpoint=CHECKPOINT_DIR / "meshpose_xs.safetensors",
        max_params_m=4.0,
        max_gmacs=0.5,
    )
)
register(
    VariantSpec(
        name="s",
        description="mobile large: 256x192 input, MobileNetV2-1.0 + FPN, heatmaps 64x48",
        settings=MeshPoseSettings(input_hw=(256, 192), lift_hidden=96),
        make_backbone=lambda s: MobileNetFPN(MobileNetFPNConfig(width=1.0, neck_channels=128)),
        max_params_m=12.0,
        max_gmacs=2.0,
    )
)
register(
    VariantSpec(
        name="paper",
        description="the authors' released MeshPose: HRNet-W32 at 384x288, 96x72 heatmaps, four 1-D lift heads, "
        "V = 518 (loads their weights: make import-paper)",
        settings=MeshPoseSettings(input_hw=(384, 288), lift="paper", lift_hidden=256, bins=64,
                                  heatmap_refine=False, segmentation=False, coordinates="release"),
        make_backbone=lambda s: HRNet(HRNetConfig(input_hw=s.input_hw)),
        checkpoint=CHECKPOINT_DIR / "meshpose_paper.safetensors",  # written by `make import-paper`; git-ignored
        license=PAPER_WEIGHTS,
        # The release's demo enlarges the box by 1.1 and pads with (127.5, 0, 0) as written (docs/DESIGN.md §9).
        crop=CropConvention(box_scale=1.1, pad_rgb=(127.5, 0.0, 0.0)),
        template_vertices=518,
        fp16_rewrites=False,
        export_golden_inputs=2,
        # The release regresses x, y over 64 bins of 27 px: fp32 rounding in an 18-GMAC backbone moves its
        # vertices by up to 0.02-0.03 px, the release's own code included (measured against float64 in
        # tests/test_paper.py), so two fp32 runtimes can differ by that much; a conversion bug is far larger.
        parity_fp32_max_px=0.05,
        # LiteRT's GPU fp16 mode accumulates in fp16 (lavapipe: the stride-4 features of this 18-GMAC HRNet
        # come out several % off). On the random release-format stand-in (tests/paper_release.py) the GPU
        # fp16 run is 0.22 px median / 0.66 px max off (gates: 0.1 / 0.5), fp32 enforced 0.0001 px. The GPU
        # runs it in fp32 until real weights show otherwise; the fp16 figure stays in the report.
        gpu_precision="fp32",
    )
)
