"""BlazePose person detector (MediaPipe's pose_detection.tflite) re-implemented in PyTorch.

The network MediaPipe ships in its `mediapipe` wheel (Apache-2.0; fetched and converted by
`make detector`, see model/detector/README.md): a MobileNetV2-like backbone on a 224x224 RGB
input in [-1, 1], a two-level top-down path (bilinear 2x upsampling, lateral 1x1 projections,
residual refinement) and SSD heads at strides 8, 16 and 32 with 2, 2 and 6 anchors per cell.
It returns, per anchor (2254 of them, in the order of model/pipeline/detector.py's anchors),
12 regressor values (box centre x, y, width, height, then 4 keypoints x, y, all in input pixels
relative to the anchor centre) and one score logit.

Every layer was read from the .tflite graph (model/tools/blazepose_import.py maps its tensors
onto these modules, in the file's order) and only ops of the project's NPU policy are used
(docs/DESIGN.md §4): the .tflite's two RESIZE_BILINEAR ops become two constant matmuls each
(exact), and its three DEPTH_TO_SPACE ops become reshapes and transposes of rank <= 4 (exact).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open
from torch import nn

from model.checkpoint import CheckpointError, file_sha256

INPUT_HW = (224, 224)
NUM_ANCHORS = 2254
NUM_COORDS = 12  # box (cx, cy, w, h) + 4 keypoints (x, y)
WEIGHTS_FORMAT = "blazepose-detector-weights"
WEIGHTS_FORMAT_VERSION = "1"


class ConvUnit(nn.Module):
    """Conv2d with bias (batch norm was folded by TFLite) and an optional fused ReLU6.

    Padding is k // 2 on every side: stride-1 layers are TF "SAME" with odd kernels, and the
    .tflite pads symmetrically (explicit PAD ops) before every stride-2 layer.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, depthwise: bool = False,
                 relu6: bool = False) -> None:
        super().__init__()
        if depthwise and cin != cout:
            raise ValueError(f"a depthwise layer keeps its channels, got {cin} -> {cout}")
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=cin if depthwise else 1, bias=True)
        self.relu6 = relu6
        self.depthwise = depthwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return nn.functional.hardtanh(y, 0.0, 6.0) if self.relu6 else y  # ReLU6 as nn.ReLU6 writes it


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (ReLU6) -> depthwise kxk (ReLU6) -> 1x1 project (+ skip)."""

    def __init__(self, cin: int, hidden: int | None, cout: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = hidden or cin
        self.expand = ConvUnit(cin, mid, 1, relu6=True) if hidden else None
        self.dw = ConvUnit(mid, mid, kernel, stride, depthwise=True, relu6=True)
        self.project = ConvUnit(mid, cout, 1)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.dw(y))
        return x + y if self.skip else y

    def units(self) -> list[ConvUnit]:
        """Its convolutions in the .tflite's order."""
        return ([self.expand] if self.expand is not None else []) + [self.dw, self.project]


# (input channels, expansion channels or None, output channels, kernel, stride), read from the .tflite.
BACKBONE = (
    (24, None, 16, 3, 1),
    (16, 64, 24, 3, 2), (24, 144, 24, 3, 1),
    (24, 144, 40, 5, 2), (40, 240, 40, 5, 1),  # -> stride 8 features (40 channels), block 4
    (40, 240, 80, 3, 2), (80, 480, 80, 3, 1), (80, 480, 80, 3, 1),
    (80, 480, 112, 5, 1), (112, 672, 112, 5, 1), (112, 672, 112, 5, 1),  # -> stride 16 (112), block 10
    (112, 672, 192, 5, 2), (192, 1152, 192, 5, 1), (192, 1152, 192, 5, 1), (192, 1152, 192, 5, 1),
)
STRIDE8_BLOCK, STRIDE16_BLOCK = 4, 10


class Lateral(nn.Module):
    """Lateral path of the top-down stage: depthwise 3x3 (linear) then 1x1 (ReLU6)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.dw = ConvUnit(cin, cin, 3, depthwise=True)
        self.pw = ConvUnit(cin, cout, 1, relu6=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class Refine(nn.Module):
    """ReLU6(x + 1x1(depthwise 3x3(x))), both convolutions linear."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.dw = ConvUnit(ch, ch, 3, depthwise=True)
        self.pw = ConvUnit(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.hardtanh(x + self.pw(self.dw(x)), 0.0, 6.0)  # ReLU6


def bilinear_matrix(n: int) -> torch.Tensor:
    """(2n, n) matrix of a 2x bilinear upsampling with half-pixel centres and edge clamping.

    What TFLite's RESIZE_BILINEAR does with align_corners=False, half_pixel_centers=True (the
    .tflite's options): output o samples input (o + 0.5) / 2 - 0.5, clamped to [0, n - 1].
    """
    a = torch.zeros(2 * n, n, dtype=torch.float64)
    for o in range(2 * n):
        src = (o + 0.5) / 2.0 - 0.5
        lo = math.floor(src)
        frac = src - lo
        a[o, min(max(lo, 0), n - 1)] += 1.0 - frac
        a[o, min(max(lo + 1, 0), n - 1)] += frac
    return a.float()


class BilinearUp2x(nn.Module):
    """2x bilinear upsampling of an (1, C, n, n) map as two matmuls with constant second operands.

    Exact (the same weights as the resize), and only ops of the NPU policy: a bilinear resize is
    not a native ANE op, and a matmul with a constant first operand is refused by the LiteRT GPU
    delegate (docs/DESIGN.md §4), hence columns, transpose, rows, transpose.
    """

    def __init__(self, n: int) -> None:
        super().__init__()
        self.register_buffer("a_t", bilinear_matrix(n).T.contiguous(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.matmul(x, self.a_t)  # columns: (1, C, n, 2n)
        y = torch.matmul(y.transpose(2, 3), self.a_t)  # rows: (1, C, 2n, 2n), transposed
        return y.transpose(2, 3)


def depth_to_space(x: torch.Tensor) -> torch.Tensor:
    """TFLite DEPTH_TO_SPACE with block 2 on an NCHW map, in reshapes and transposes of rank <= 4.

    out[c, 2h + i, 2w + j] = in[(2i + j) C + c, h, w] (TensorFlow's channel order, which is not
    torch's pixel_shuffle order). Batch 1 only, like every deployed graph here.
    """
    _, c4, h, w = x.shape
    c = c4 // 4
    y = x.reshape(2, 2, c * h, w).permute(0, 2, 3, 1)  # (i, c h, w, j)
    y = y.reshape(2, c * h, 2 * w).permute(1, 0, 2)  # (c h, i, w j)
    return y.reshape(1, c, 2 * h, 2 * w)


class Head(nn.Module):
    """SSD head on a depth-to-space'd map: per branch a depthwise 3x3 stride 2 then a 1x1 (both linear)."""

    def __init__(self, ch: int, anchors: int) -> None:
        super().__init__()
        self.cls_dw = ConvUnit(ch, ch, 3, 2, depthwise=True)
        self.cls = ConvUnit(ch, anchors, 1)
        self.reg_dw = ConvUnit(ch, ch, 3, 2, depthwise=True)
        self.reg = ConvUnit(ch, anchors * NUM_COORDS, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = depth_to_space(x)
        scores = self.cls(self.cls_dw(x)).permute(0, 2, 3, 1)  # anchor order: row, column, anchor
        boxes = self.reg(self.reg_dw(x)).permute(0, 2, 3, 1)
        return boxes.reshape(1, -1, NUM_COORDS), scores.reshape(1, -1, 1)


class BlazePoseDetector(nn.Module):
    """Normalised (1, 3, 224, 224) RGB in [-1, 1] -> regressors (1, 2254, 12), score logits (1, 2254, 1)."""

    input_hw = INPUT_HW

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvUnit(3, 24, 3, 2, relu6=True)
        self.blocks = nn.ModuleList(InvertedResidual(*cfg) for cfg in BACKBONE)
        self.top_expand = ConvUnit(192, 1152, 1, relu6=True)
        self.top_dw = ConvUnit(1152, 1152, 3, depthwise=True, relu6=True)
        self.lateral8 = Lateral(40, 96)
        self.lateral16 = Lateral(112, 192)
        self.up16 = BilinearUp2x(7)
        self.reduce16 = ConvUnit(1152, 192, 1, relu6=True)
        self.refine16 = nn.Sequential(Refine(192), Refine(192))
        self.up8 = BilinearUp2x(14)
        self.reduce8 = ConvUnit(192, 96, 1, relu6=True)
        self.refine8 = nn.Sequential(Refine(96), Refine(96))
        self.head8 = Head(24, 2)  # depth-to-space of the 96-channel stride-8 map
        self.head16 = Head(48, 2)
        self.head32 = Head(288, 6)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.stem(x)
        feats = {}
        for i, block in enumerate(self.blocks):
            x = block(x)
            feats[i] = x
        c32 = self.top_dw(self.top_expand(x))
        p16 = self.refine16(self.reduce16(self.up16(c32)) + self.lateral16(feats[STRIDE16_BLOCK]))
        p8 = self.refine8(self.reduce8(self.up8(p16)) + self.lateral8(feats[STRIDE8_BLOCK]))
        outs = [self.head8(p8), self.head16(p16), self.head32(c32)]
        return torch.cat([b for b, _ in outs], dim=1), torch.cat([s for _, s in outs], dim=1)

    def tflite_order(self) -> list[ConvUnit]:
        """Every convolution in the order the .tflite graph runs them (what the importer pairs up).

        The file runs each lateral right after the expansion of the next backbone block.
        """
        units: list[ConvUnit] = [self.stem]
        for i, block in enumerate(self.blocks):
            inner = block.units()
            if i - 1 in (STRIDE8_BLOCK, STRIDE16_BLOCK):
                lateral = self.lateral8 if i - 1 == STRIDE8_BLOCK else self.lateral16
                inner = inner[:1] + [lateral.dw, lateral.pw] + inner[1:]
            units += inner
        units += [self.top_expand, self.top_dw, self.reduce16]
        units += [u for r in self.refine16 for u in (r.dw, r.pw)] + [self.reduce8]
        units += [u for r in self.refine8 for u in (r.dw, r.pw)]
        for head in (self.head8, self.head16, self.head32):
            units += [head.cls_dw, head.cls, head.reg_dw, head.reg]
        return units


def load_detector_weights(model: BlazePoseDetector, path: str | Path) -> dict[str, str]:
    """Load weights written by model/tools/blazepose_import.py; returns the file's header.

    Refuses a file that is not such a weights file or does not fit the network, naming the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"detector weights {path} do not exist; run `make detector` to fetch and convert them")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a safetensors file: {exc}") from None
    if meta.get("format") != WEIGHTS_FORMAT or meta.get("format_version") != WEIGHTS_FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a {WEIGHTS_FORMAT} v{WEIGHTS_FORMAT_VERSION} file (header {meta})")
    result = model.load_state_dict(load_file(str(path)), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{path} does not fit the detector: missing {result.missing_keys[:5]}, "
                              f"unexpected {result.unexpected_keys[:5]}")
    meta["sha256"] = file_sha256(path)
    return meta


class DetectorDeploy(nn.Module):
    """The exported detector graph: image (RGB in [0, 255]) in, `regressors` and `scores` (logits) out.

    Same interface as the mesh's DeployModel (input_name, output_names, input_shape, example_input,
    normalize_in_graph, nhwc), so the project's exporters take it unchanged.
    """

    def __init__(self, net: BlazePoseDetector, *, input_name: str, output_names: tuple[str, str],
                 scale: float, bias: float, normalize_in_graph: bool = True, nhwc: bool = False) -> None:
        super().__init__()
        self.net = net.eval()
        self.input_name = input_name
        self.output_names = tuple(output_names)
        self.scale, self.bias = scale, bias
        self.normalize_in_graph = normalize_in_graph
        self.nhwc = nhwc
        self.variant = "detector"
        self.weights: dict[str, str] | None = None

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Static input shape, (1, 3, 224, 224) or (1, 224, 224, 3) with nhwc."""
        h, w = self.net.input_hw
        return (1, h, w, 3) if self.nhwc else (1, 3, h, w)

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 255] -> the network's [-1, 1]."""
        return image * self.scale + self.bias

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.nhwc:
            image = image.permute(0, 3, 1, 2)
        if self.normalize_in_graph:
            image = self.normalize(image)
        return self.net(image)

    def example_input(self, seed: int = 0) -> torch.Tensor:
        """A deterministic example input of the right shape and value range."""
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(self.input_shape, generator=g) * 255.0
        return x if self.normalize_in_graph else self.normalize(x)
