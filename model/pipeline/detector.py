"""Person detection around the detector network: camera frame -> model input -> people in frame pixels.

The reference the Swift and Kotlin ports mirror (numpy only). The detector is MediaPipe's
BlazePose person detector (model/detector/README.md); every constant below is read from the
PoseDetectionCpu and PoseDetectionToRoi graphs serialised in the pinned mediapipe 0.10.14 wheel
(its _framework_bindings .so; the same values as mediapipe/modules/pose_detection/
pose_detection_cpu.pbtxt and pose_landmark/pose_detection_to_roi.pbtxt in MediaPipe's sources,
except min_score_thresh, which later sources lowered to 0.2), and every function follows the
MediaPipe calculator named in its docstring.

Steps, in order:
  1. letterbox(frame size) and letterbox_image(frame): keep the aspect ratio, centre the frame in
     a square, sample it bilinearly to 224x224 RGB with MediaPipe's pixel geometry, round to 8 bits;
     outside the frame is black (0, i.e. -1 after the normalisation the exported model applies).
  2. the network (exported artifact) -> regressors (2254, 12) and score logits (2254,).
  3. decode(): anchors + regressors -> boxes and 4 keypoints in normalised input coordinates;
     scores(): clipped sigmoid; candidates(): threshold and the sanity filter.
  4. weighted_nms(): MediaPipe's weighted non-maximum suppression (IoU > 0.3 blends).
  5. to_frame(): undo the letterbox -> frame pixels; person_box(): the axis-aligned person box.
  detect_people() runs 3-5 and returns up to `max_people` people, highest score first.

Conventions: x right, y down; frame pixels span [0, W] x [0, H] with pixel centres at i + 0.5
(docs/DESIGN.md §5, as model/pipeline/crop.py); only the letterbox's sampling follows MediaPipe's
own pixel geometry instead (Letterbox.sampling_crop says why). Computation is float64; the
fixtures (tests/fixtures/detector_golden.json) hold this module's results to 1e-9.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from model.pipeline.crop import Crop, sample_crop

# --- 1. input (ImageToTensorCalculator: output_tensor_width/height 224, keep_aspect_ratio true,
# output_tensor_float_range [-1, 1], border_mode BORDER_ZERO) ---
INPUT_SIZE = 224
NORMALIZATION = (1.0 / 127.5, -1.0)  # network input = RGB[0, 255] * scale + bias; applied inside exported models
PAD_VALUE = 0.0  # RGB value outside the frame (BORDER_ZERO on the 8-bit image: -1 after normalisation)


@dataclass(frozen=True)
class AnchorOptions:
    """SsdAnchorsCalculatorOptions of the PoseDetectionCpu graph (unset fields at their proto defaults)."""

    input_size: int = 224
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)  # num_layers = 5
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0  # proto default; > 0 adds one anchor per layer
    fixed_anchor_size: bool = True  # every anchor is 1 x 1: the regressors carry absolute sizes


@dataclass(frozen=True)
class DecodeOptions:
    """TensorsToDetectionsCalculatorOptions of the PoseDetectionCpu graph."""

    num_boxes: int = 2254
    num_coords: int = 12
    box_coord_offset: int = 0
    keypoint_coord_offset: int = 4
    num_keypoints: int = 4
    scale: float = 224.0  # x_scale = y_scale = w_scale = h_scale: regressors are in input pixels
    score_clipping_thresh: float = 100.0  # logits are clipped to +-100 before the sigmoid
    min_score_thresh: float = 0.5  # sigmoid score; a detection is kept when score >= this


@dataclass(frozen=True)
class NmsOptions:
    """NonMaxSuppressionCalculatorOptions: weighted NMS over IoU in normalised input coordinates."""

    min_suppression_threshold: float = 0.3  # boxes with IoU > 0.3 to the best one are blended into it


@dataclass(frozen=True)
class RoiOptions:
    """PoseDetectionToRoi: AlignmentPointsRectsCalculator + RectTransformationCalculator options."""

    center_keypoint: int = 0  # rotation_vector_start_keypoint_index: mid-hip centre
    scale_keypoint: int = 1  # rotation_vector_end_keypoint_index: full-body size and rotation point
    target_angle_deg: float = 90.0  # rotation_vector_target_angle_degrees: the body points up
    scale: float = 1.25  # scale_x = scale_y, square_long: true


ANCHOR_OPTIONS = AnchorOptions()
DECODE_OPTIONS = DecodeOptions()
NMS_OPTIONS = NmsOptions()
ROI_OPTIONS = RoiOptions()
DEFAULT_MAX_PEOPLE = 2
# Keypoints of a detection (pose_detection_cpu.pbtxt): 0 mid-hip centre, 1 point that encodes the
# full-body size and rotation, 2 mid-shoulder centre, 3 point that encodes the upper-body size and rotation.
# The detection's box is the FACE box, not the body box.
KEYPOINT_NAMES = ("mid_hip", "full_body_scale", "mid_shoulder", "upper_body_scale")


# --- 1. letterbox ---
@dataclass(frozen=True)
class Letterbox:
    """How a frame sits in the square model input.

    frame = (x0, y0) + scale * input, in pixels (scale = frame pixels per input pixel), i.e. the
    input is model.pipeline.crop.Crop(x0, y0, scale). `padding` is MediaPipe's LETTERBOX_PADDING
    (left, top, right, bottom) as fractions of the input, what DetectionLetterboxRemovalCalculator undoes.
    """

    frame_width: int
    frame_height: int
    x0: float
    y0: float
    scale: float
    padding: tuple[float, float, float, float]

    @property
    def crop(self) -> Crop:
        """The geometric map as a crop: frame = (x0, y0) + scale * input (used to undo the letterbox)."""
        return Crop(self.x0, self.y0, self.scale)

    @property
    def sampling_crop(self) -> Crop:
        """The crop that model.pipeline.crop.sample_crop needs to sample the input as MediaPipe does.

        MediaPipe's CPU ImageToTensorCalculator (cv::warpPerspective) maps the square's corners onto
        the input's pixel indices 0 and 224, so input pixel (u, v) reads the frame at pixel index
        (x0 + scale u, y0 + scale v), pixel centres at integers: continuous (x0 + scale u + 0.5, ...),
        which is (scale - 1) / 2 frame pixels up and left of the centred map. The network is
        sensitive to this phase (measured: up to 11% of the person box on real photos), so the
        reference keeps MediaPipe's.
        """
        shift = 0.5 - 0.5 * self.scale
        return Crop(self.x0 + shift, self.y0 + shift, self.scale)

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return asdict(self)


def letterbox(frame_width: int, frame_height: int, size: int = INPUT_SIZE) -> Letterbox:
    """The square input around a frame: ImageToTensorCalculator's GetRoi + PadRoi with keep_aspect_ratio.

    The whole frame is the region of interest, centred; its short side is padded equally on both
    sides until it is square, and the square is scaled to size x size.
    """
    if frame_width <= 0 or frame_height <= 0:
        raise ValueError(f"frame size {frame_width}x{frame_height} must be positive")
    side = float(max(frame_width, frame_height))
    scale = side / size
    pad_x = (1.0 - frame_width / side) / 2.0
    pad_y = (1.0 - frame_height / side) / 2.0
    return Letterbox(frame_width, frame_height, frame_width / 2.0 - side / 2.0, frame_height / 2.0 - side / 2.0,
                     scale, (pad_x, pad_y, pad_x, pad_y))


def letterbox_image(frame: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, Letterbox]:
    """(H, W, 3) RGB frame in [0, 255] -> (size, size, 3) float32 model input (integers in [0, 255]) and its Letterbox.

    Input pixel (u, v) is the frame sampled bilinearly at pixel index (x0 + scale u, y0 + scale v)
    (Letterbox.sampling_crop: MediaPipe's geometry), outside the frame PAD_VALUE, then rounded to
    the nearest integer (half to even) because MediaPipe resamples the 8-bit image. No low-pass
    filter before the (usually large) downscaling, as MediaPipe (cv::INTER_LINEAR). Not copied:
    OpenCV's fixed-point interpolation weights (1/32 steps), which can move a value by one level
    (measured effect of the whole 8-bit rounding: <= 0.4% of the person box).
    """
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) RGB, got shape {frame.shape}")
    lb = letterbox(frame.shape[1], frame.shape[0], size)
    image = sample_crop(frame.astype(np.float32), lb.sampling_crop, size, size)
    return np.clip(np.rint(image), 0.0, 255.0).astype(np.float32), lb


# --- 2. anchors ---
def _layer_scale(opts: AnchorOptions, index: int) -> float:
    """SsdAnchorsCalculator's CalculateScale."""
    n = len(opts.strides)
    if n == 1:
        return (opts.min_scale + opts.max_scale) * 0.5
    return opts.min_scale + (opts.max_scale - opts.min_scale) * index / (n - 1.0)


def generate_anchors(opts: AnchorOptions = ANCHOR_OPTIONS) -> np.ndarray:
    """(N, 4) anchors [x_center, y_center, width, height] in normalised input coordinates.

    SsdAnchorsCalculator::GenerateAnchors: consecutive layers with the same stride share one
    feature map (here 28x28, 14x14 and 7x7); per cell, anchors of every merged layer (each: one per
    aspect ratio plus one interpolated-scale anchor), cells in row-major order. Centres are
    (x + 0.5) / feature_map_width. With fixed_anchor_size every anchor is 1 x 1. For the pose
    detector: 28*28*2 + 14*14*2 + 7*7*6 = 2254 anchors, the order of the network's outputs.
    """
    out = []
    layer = 0
    n = len(opts.strides)
    while layer < n:
        sizes = []
        last = layer
        while last < n and opts.strides[last] == opts.strides[layer]:
            scale = _layer_scale(opts, last)
            for ratio in opts.aspect_ratios:
                sizes.append((scale / math.sqrt(ratio), scale * math.sqrt(ratio)))  # (h, w)
            if opts.interpolated_scale_aspect_ratio > 0.0:
                nxt = 1.0 if last == n - 1 else _layer_scale(opts, last + 1)
                interp = math.sqrt(scale * nxt)
                r = opts.interpolated_scale_aspect_ratio
                sizes.append((interp / math.sqrt(r), interp * math.sqrt(r)))
            last += 1
        fm = math.ceil(opts.input_size / opts.strides[layer])
        for y in range(fm):
            for x in range(fm):
                for h, w in sizes:
                    cx = (x + opts.anchor_offset_x) / fm
                    cy = (y + opts.anchor_offset_y) / fm
                    out.append((cx, cy, 1.0, 1.0) if opts.fixed_anchor_size else (cx, cy, w, h))
        layer = last
    return np.array(out, dtype=np.float64)


# --- 3. decoding ---
def decode(regressors: np.ndarray, anchors: np.ndarray, opts: DecodeOptions = DECODE_OPTIONS
           ) -> tuple[np.ndarray, np.ndarray]:
    """Raw regressors (N, 12) -> boxes (N, 4) [xmin, ymin, xmax, ymax] and keypoints (N, K, 2), normalised input.

    TensorsToDetectionsCalculator::DecodeBoxes with reverse_output_order (x before y):
    centre = raw / 224 * anchor_size + anchor_centre, size = raw / 224 * anchor_size (no exp),
    keypoint = raw / 224 * anchor_size + anchor_centre.
    """
    raw = np.asarray(regressors, dtype=np.float64).reshape(-1, opts.num_coords)
    anchors = np.asarray(anchors, dtype=np.float64)
    if raw.shape[0] != anchors.shape[0]:
        raise ValueError(f"{raw.shape[0]} regressor rows for {anchors.shape[0]} anchors")
    ax, ay, aw, ah = anchors.T
    b = raw[:, opts.box_coord_offset:opts.box_coord_offset + 4]
    cx = b[:, 0] / opts.scale * aw + ax
    cy = b[:, 1] / opts.scale * ah + ay
    w = b[:, 2] / opts.scale * aw
    h = b[:, 3] / opts.scale * ah
    boxes = np.stack([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], axis=1)
    k0 = opts.keypoint_coord_offset
    kp = raw[:, k0:k0 + 2 * opts.num_keypoints].reshape(-1, opts.num_keypoints, 2)
    keypoints = np.stack([kp[..., 0] / opts.scale * aw[:, None] + ax[:, None],
                          kp[..., 1] / opts.scale * ah[:, None] + ay[:, None]], axis=-1)
    return boxes, keypoints


def scores(logits: np.ndarray, opts: DecodeOptions = DECODE_OPTIONS) -> np.ndarray:
    """Score logits (N,) or (N, 1) -> probabilities: sigmoid of the logit clipped to +-score_clipping_thresh."""
    x = np.clip(np.asarray(logits, dtype=np.float64).reshape(-1), -opts.score_clipping_thresh,
                opts.score_clipping_thresh)
    return 1.0 / (1.0 + np.exp(-x))


def candidates(boxes: np.ndarray, probs: np.ndarray, threshold: float = DECODE_OPTIONS.min_score_thresh
               ) -> np.ndarray:
    """Indices (ascending) of anchors that become detections: score >= threshold and a box of
    non-negative, non-NaN width and height (TensorsToDetectionsCalculator::ConvertToDetections)."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    ok = (probs >= threshold) & (w >= 0) & (h >= 0) & ~np.isnan(w) & ~np.isnan(h)
    return np.flatnonzero(ok)


# --- 4. non-maximum suppression ---
def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two [xmin, ymin, xmax, ymax] boxes; 0 when the union has no area.

    NonMaxSuppressionCalculator's OverlapSimilarity(INTERSECTION_OVER_UNION).
    """
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw < 0 or ih < 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class Detection:
    """One detection in normalised input coordinates (before the letterbox is undone)."""

    score: float
    box: np.ndarray  # [xmin, ymin, xmax, ymax]: the face box
    keypoints: np.ndarray  # (4, 2)
    anchor: int  # the anchor of the highest-scoring member
    merged: list[int] = field(default_factory=list)  # anchors blended into it (itself included)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, probs: np.ndarray, indices: np.ndarray,
                 opts: NmsOptions = NMS_OPTIONS) -> list[Detection]:
    """NonMaxSuppressionCalculator::WeightedNonMaxSuppression over the candidate anchors `indices`.

    Candidates sorted by score, highest first (ties: lower anchor index first; MediaPipe's
    std::sort leaves ties unordered). Repeatedly: the best remaining candidate and every remaining
    one whose IoU with it is > min_suppression_threshold (itself included) are replaced by one
    detection whose box corners and keypoints are their score-weighted means and whose score is the
    best one's; the others remain. If nothing was removed in a round (only possible for a box of
    zero area, whose IoU with itself is 0), the loop stops after emitting that box unchanged.
    The result is ordered by score, highest first.
    """
    order = sorted((int(i) for i in indices), key=lambda i: (-probs[i], i))
    out: list[Detection] = []
    while order:
        top = order[0]
        members = [i for i in order if iou(boxes[i], boxes[top]) > opts.min_suppression_threshold]
        rest = [i for i in order if i not in set(members)]
        if members:
            w = np.array([probs[i] for i in members])
            box = (w[:, None] * boxes[members]).sum(0) / w.sum()
            kps = (w[:, None, None] * keypoints[members]).sum(0) / w.sum()
        else:
            box, kps = boxes[top].copy(), keypoints[top].copy()
        out.append(Detection(float(probs[top]), box, kps, top, members or [top]))
        if len(rest) == len(order):
            break
        order = rest
    return out


# --- 5. back to the frame, and the person box ---
def to_frame(points: np.ndarray, lb: Letterbox) -> np.ndarray:
    """(..., 2) normalised input coordinates -> frame pixels.

    DetectionLetterboxRemovalCalculator ((v - pad) / (1 - 2 pad)) followed by the scaling to pixels,
    written as one map: frame = (x0, y0) + scale * 224 * v.
    """
    p = np.asarray(points, dtype=np.float64)
    side = lb.scale * INPUT_SIZE
    return np.stack([lb.x0 + side * p[..., 0], lb.y0 + side * p[..., 1]], axis=-1)


@dataclass(frozen=True)
class Roi:
    """MediaPipe's pose region of interest in frame pixels: a square of side `size` about (cx, cy), turned by
    `rotation` radians: 0 for an upright body, positive when the body is turned clockwise on the screen."""

    cx: float
    cy: float
    size: float
    rotation: float


def pose_roi(keypoints_px: np.ndarray, opts: RoiOptions = ROI_OPTIONS) -> Roi:
    """PoseDetectionToRoi on frame-pixel keypoints (4, 2).

    AlignmentPointsRectsCalculator: centre = the mid-hip keypoint, side = 2 |scale point - centre|,
    rotation = target_angle - atan2(-(y1 - y0), x1 - x0) normalised to [-pi, pi);
    RectTransformationCalculator: square_long (already square in pixels), then x scale (1.25).
    """
    x0, y0 = (float(v) for v in keypoints_px[opts.center_keypoint])
    x1, y1 = (float(v) for v in keypoints_px[opts.scale_keypoint])
    radius = math.hypot(x1 - x0, y1 - y0)
    rotation = math.radians(opts.target_angle_deg) - math.atan2(-(y1 - y0), x1 - x0)
    rotation = rotation - 2.0 * math.pi * math.floor((rotation + math.pi) / (2.0 * math.pi))
    return Roi(x0, y0, 2.0 * radius * opts.scale, rotation)


def person_box(keypoints_px: np.ndarray, opts: RoiOptions = ROI_OPTIONS) -> tuple[float, float, float, float]:
    """Axis-aligned person box [x0, y0, x1, y1] in frame pixels: the square around the body circle.

    The detector encodes the body as a circle: centre the mid-hip keypoint, radius its distance to
    the full-body keypoint (MediaPipe's ROI is this circle's square, rotated to the body axis, then
    enlarged by 1.25). A circle's bounding box does not depend on the rotation, so the person box is
    [cx - r, cy - r, cx + r, cy + r] without MediaPipe's 1.25: model.pipeline.crop.crop_from_box
    adds the mesh model's own enlargement (box_scale). Not clipped to the frame: a person at the
    edge keeps a centred box, and the crop pads outside the frame.
    """
    cx, cy = (float(v) for v in keypoints_px[opts.center_keypoint])
    x1, y1 = (float(v) for v in keypoints_px[opts.scale_keypoint])
    r = math.hypot(x1 - cx, y1 - cy)
    return (cx - r, cy - r, cx + r, cy + r)


@dataclass
class Person:
    """One detected person in frame pixels."""

    score: float
    person_box: tuple[float, float, float, float]
    face_box: tuple[float, float, float, float]
    keypoints: np.ndarray  # (4, 2), KEYPOINT_NAMES
    roi: Roi
    anchor: int

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return {"score": self.score, "person_box": list(self.person_box), "face_box": list(self.face_box),
                "keypoints": self.keypoints.tolist(), "roi": asdict(self.roi), "anchor": self.anchor}


def detect_people(regressors: np.ndarray, score_logits: np.ndarray, lb: Letterbox, *,
                  max_people: int = DEFAULT_MAX_PEOPLE, threshold: float = DECODE_OPTIONS.min_score_thresh,
                  anchors: np.ndarray | None = None) -> list[Person]:
    """The network's raw outputs on a letterboxed frame -> up to `max_people` people, highest score first."""
    if max_people < 1:
        raise ValueError(f"max_people must be >= 1, got {max_people}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a probability in [0, 1], got {threshold}")
    anchors = generate_anchors() if anchors is None else anchors
    boxes, keypoints = decode(regressors, anchors)
    probs = scores(score_logits)
    if probs.shape[0] != anchors.shape[0]:
        raise ValueError(f"{probs.shape[0]} scores for {anchors.shape[0]} anchors")
    dets = weighted_nms(boxes, keypoints, probs, candidates(boxes, probs, threshold))
    people = []
    for d in dets[:max_people]:
        kps = to_frame(d.keypoints, lb)
        face = to_frame(d.box.reshape(2, 2), lb).ravel()
        people.append(Person(d.score, person_box(kps), tuple(float(v) for v in face), kps, pose_roi(kps), d.anchor))
    return people
