"""Several people from frame to frame: detect, crop, infer, decode, track, smooth.

The reference of the frame pipeline that MeshPoseKit (Swift) and the Kotlin core implement; the
apps only supply the camera frames, "run the model on these crops" and the drawing. Per frame:

1. Detect when there are fewer tracks than `max_people` and either none is tracked or
   `detect_every` frames have passed since the last detection. Detections are matched to tracks
   greedily by IoU (highest first, at least `iou_match`): a matched track keeps its own crop; an
   unmatched detection starts a new track (new id, counting up from 1, fresh smoothing) while
   there is room, highest score first.
2. Every track's crop goes to the model (one batch), the outputs are decoded to frame pixels, and
   the vertices (and joints) are smoothed per track by a One Euro filter.
3. A track whose mesh shows too few visible vertices is lost: it is not drawn and is dropped,
   and the next frame detects again. Otherwise its next crop is its visible bounds' crop blended
   into the current one (centre and scale, weight `crop_smoothing` for the new one). Two tracks on
   the same person (box IoU above `duplicate_iou`) keep the older one.

People are reported in track-id order. Everything is deterministic: the sequence fixtures
(model/tools/sequence_fixtures.py) hold this module's results for the Swift and Kotlin tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from model.pipeline.crop import Crop, crop_from_box
from model.pipeline.decode import VISIBILITY_THRESHOLD, DecodedMesh, decode_outputs
from model.pipeline.smoothing import OneEuroFilter

Box = list[float]  # [x0, y0, x1, y1] in frame pixels


@dataclass(frozen=True)
class Detection:
    """A person found by the detector: box in frame pixels and its score."""

    box: Box
    score: float


@dataclass(frozen=True)
class PipelineConfig:
    """What the frame pipeline needs besides the model: sizes from the contract, the rest tunable."""

    in_w: int
    in_h: int
    box_scale: float = 1.25  # the contract's crop.box_scale
    visibility_threshold: float = VISIBILITY_THRESHOLD
    max_people: int = 2
    detect_every: int = 10
    iou_match: float = 0.3
    duplicate_iou: float = 0.7
    crop_smoothing: float = 0.6
    min_cutoff: float = 1.0
    beta: float = 0.01
    d_cutoff: float = 1.0
    origin_px: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the contract's origin_px, added before decoding

    def __post_init__(self) -> None:
        if self.in_w <= 0 or self.in_h <= 0 or self.max_people < 1 or self.detect_every < 1:
            raise ValueError(f"bad pipeline configuration {self}")
        if len(self.origin_px) != 3:
            raise ValueError(f"origin_px must be (x, y, z), got {self.origin_px}")
        if not 0 < self.crop_smoothing <= 1:
            raise ValueError(f"crop_smoothing must be in (0, 1], got {self.crop_smoothing}")


@dataclass
class Track:
    """One tracked person."""

    id: int
    crop: Crop
    box: Box
    score: float
    filter: OneEuroFilter
    detection_box: Box  # the detector box that started or last confirmed the track


@dataclass(frozen=True)
class Person:
    """One person's result in one frame."""

    id: int
    box: Box  # the visible bounds of the mesh
    score: float  # the detector score that started or last confirmed the track
    detection_box: Box  # that detector box
    crop: Crop  # the crop the model saw
    mesh: DecodedMesh  # frame pixels, vertices and joints smoothed


@dataclass(frozen=True)
class FrameResult:
    """Everything the pipeline did with one frame."""

    detected: bool
    crops: list[Crop]
    people: list[Person]
    lost: list[int] = field(default_factory=list)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x0, y0, x1, y1] boxes (0 when either has no area)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def blend_crops(a: Crop, b: Crop, weight: float, in_w: int, in_h: int) -> Crop:
    """Crop whose centre and scale are (1 - weight) * a + weight * b (corners would drift)."""
    acx, acy = a.x0 + a.scale * in_w / 2, a.y0 + a.scale * in_h / 2
    bcx, bcy = b.x0 + b.scale * in_w / 2, b.y0 + b.scale * in_h / 2
    s = weight * b.scale + (1 - weight) * a.scale
    cx, cy = weight * bcx + (1 - weight) * acx, weight * bcy + (1 - weight) * acy
    return Crop(cx - s * in_w / 2, cy - s * in_h / 2, s)


class FramePipeline:
    """detect -> crop -> infer -> decode -> track -> smooth, for up to `max_people` people.

    detect(frame) -> detections; infer(frame, crops) -> one dict of raw outputs per crop
    ("vertices" (V, 3), "visibility" (V,), optionally "joints" (J, 3), batch dimension removed).
    """

    def __init__(self, config: PipelineConfig, detect: Callable[[np.ndarray], list[Detection]],
                 infer: Callable[[np.ndarray, list[Crop]], list[dict[str, np.ndarray]]]) -> None:
        self.config, self.detect, self.infer = config, detect, infer
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frames_since_detection: int | None = None

    def _wants_detection(self) -> bool:
        c = self.config
        if not self.tracks:
            return True
        return len(self.tracks) < c.max_people and (
            self.frames_since_detection is None or self.frames_since_detection >= c.detect_every)

    def _match(self, detections: list[Detection]) -> None:
        c = self.config
        pairs = sorted(((iou(t.box, d.box), ti, di) for ti, t in enumerate(self.tracks)
                        for di, d in enumerate(detections)), key=lambda p: (-p[0], p[1], p[2]))
        used_t, used_d = set(), set()
        for score, ti, di in pairs:
            if score < c.iou_match or ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            self.tracks[ti].score = detections[di].score
            self.tracks[ti].detection_box = list(detections[di].box)
        for di in sorted((i for i in range(len(detections)) if i not in used_d),
                         key=lambda i: (-detections[i].score, i)):
            if len(self.tracks) >= c.max_people:
                break
            d = detections[di]
            self.tracks.append(Track(self.next_id, crop_from_box(d.box, c.in_w, c.in_h, c.box_scale), list(d.box),
                                     d.score, OneEuroFilter(c.min_cutoff, c.beta, c.d_cutoff), list(d.box)))
            self.next_id += 1

    def process(self, frame: np.ndarray, t_seconds: float) -> FrameResult:
        """Run the pipeline on one frame taken at `t_seconds`."""
        c = self.config
        detected = self._wants_detection()
        if detected:
            self._match([d for d in self.detect(frame) if d.box[2] > d.box[0] and d.box[3] > d.box[1]])
            self.frames_since_detection = 0
        elif self.frames_since_detection is not None:
            self.frames_since_detection += 1
        crops = [t.crop for t in self.tracks]
        raws = self.infer(frame, crops) if crops else []
        if len(raws) != len(crops):
            raise ValueError(f"infer returned {len(raws)} outputs for {len(crops)} crops")
        people, kept, lost = [], [], []
        for track, crop, raw in zip(self.tracks, crops, raws):
            joints = raw.get("joints", np.zeros((0, 3)))
            mesh = decode_outputs(raw["vertices"], raw["visibility"], joints, crop, c.in_w, c.in_h,
                                  c.visibility_threshold, c.box_scale, c.origin_px)
            if mesh.next_crop is None:
                lost.append(track.id)
                continue
            nv = len(mesh.vertices)
            smooth = track.filter.filter(np.concatenate([mesh.vertices, mesh.joints]).reshape(-1), t_seconds)
            smooth = smooth.reshape(-1, 3)
            mesh = DecodedMesh(vertices=smooth[:nv], visible=mesh.visible, joints=smooth[nv:],
                               visible_bounds=mesh.visible_bounds, next_crop=mesh.next_crop)
            track.box = list(mesh.visible_bounds)
            people.append(Person(track.id, track.box, track.score, track.detection_box, crop, mesh))
            track.crop = blend_crops(track.crop, mesh.next_crop, c.crop_smoothing, c.in_w, c.in_h)
            kept.append(track)
        # Two tracks that converged on one person: the older (smaller id) stays.
        survivors: list[Track] = []
        for track in sorted(kept, key=lambda t: t.id):
            if all(iou(track.box, s.box) <= c.duplicate_iou for s in survivors):
                survivors.append(track)
            else:
                lost.append(track.id)
                people = [p for p in people if p.id != track.id]
        self.tracks = survivors
        return FrameResult(detected=detected, crops=crops, people=sorted(people, key=lambda p: p.id),
                           lost=sorted(lost))
