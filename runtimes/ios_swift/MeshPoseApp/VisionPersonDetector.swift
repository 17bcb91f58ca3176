import CoreVideo
import MeshPoseKit
import Vision

/// Vision's human rectangles (full body) as the detect step: the alternative setting to the exported detector.
/// The confidence is the score; boxes are converted to top-left-origin frame pixels.
final class VisionPersonDetector: PersonDetecting {
    func detect(_ frame: CVPixelBuffer) throws -> [Detection] {
        let request = VNDetectHumanRectanglesRequest()
        request.upperBodyOnly = false  // the default, true, finds upper bodies only
        try VNImageRequestHandler(cvPixelBuffer: frame, options: [:]).perform([request])
        let w = Double(CVPixelBufferGetWidth(frame)), h = Double(CVPixelBufferGetHeight(frame))
        return (request.results ?? []).map { r in
            let b = r.boundingBox  // normalised, origin bottom-left
            return Detection(box: Box(x0: b.minX * w, y0: (1 - b.maxY) * h, x1: b.maxX * w, y1: (1 - b.minY) * h),
                             score: Double(r.confidence))
        }
    }
}
