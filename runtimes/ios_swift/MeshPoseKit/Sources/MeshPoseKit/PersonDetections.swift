import Foundation

extension PersonDetector {
    /// The detector network's outputs on a frame -> the frame pipeline's detections: the frame's letterbox,
    /// decoding, weighted NMS and each person's box with its score, highest score first (what
    /// model/tools/detect.py `person_detector` gives model/pipeline/tracker.py). `regressors` is N x 12 row-major
    /// and `logits` N (the contract's outputs [1, N, 12] and [1, N, 1]). Nil when the frame size is not positive
    /// or the sizes do not fit the anchors; pass `anchors` (generateAnchors()) to avoid rebuilding them per frame.
    public static func detections(regressors: [Double], logits: [Double], frameWidth: Int, frameHeight: Int,
                                  maxPeople: Int = defaultMaxPeople, threshold: Double = minScore,
                                  anchors: [[Double]] = generateAnchors()) -> [Detection]? {
        guard let lb = letterbox(frameWidth: frameWidth, frameHeight: frameHeight),
              let people = detectPeople(regressors: regressors, logits: logits, letterbox: lb, maxPeople: maxPeople,
                                        threshold: threshold, anchors: anchors) else { return nil }
        return people.map { p in
            Detection(box: Box(x0: p.personBox[0], y0: p.personBox[1], x1: p.personBox[2], y1: p.personBox[3]),
                      score: p.score)
        }
    }

    /// Where the detector input samples the frame, as a crop (frame = (x0, y0) + scale * input in continuous
    /// pixel coordinates, pixel centres at i + 0.5): MediaPipe reads input pixel u at frame pixel index
    /// x0 + scale u with centres at integers (model/pipeline/detector.py `Letterbox.sampling_crop`), i.e. shifted
    /// by 0.5 - scale / 2 from the letterbox. An app rendering the 224 x 224 input through this crop (bilinear,
    /// black outside the frame) feeds the network what the reference does, up to the 8-bit rounding.
    public static func samplingCrop(_ lb: Letterbox) -> Crop {
        let shift = 0.5 - 0.5 * lb.scale
        return Crop(x0: lb.x0 + shift, y0: lb.y0 + shift, scale: lb.scale)
    }
}
