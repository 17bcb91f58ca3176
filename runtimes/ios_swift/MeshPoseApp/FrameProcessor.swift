import CoreImage
import CoreML
import CoreVideo
import Foundation
import MeshPoseKit
import Vision

/// Camera frame -> person crop -> model -> decoded, smoothed mesh; keeps the tracking state.
/// The first frame (and every re-detection) finds the person with Vision's human rectangles;
/// later frames follow the mesh (PersonTracker).
final class FrameProcessor {
    let runner: ModelRunner
    let tracker: PersonTracker
    let smoother = OneEuroFilter(minCutoff: 1.5, beta: 0.02)
    private let context = CIContext(options: [.cacheIntermediates: false])
    private var inputBuffer: CVPixelBuffer?

    init(runner: ModelRunner) {
        self.runner = runner
        tracker = PersonTracker(inW: runner.contract.inputWidth, inH: runner.contract.inputHeight)
    }

    struct Result {
        let mesh: DecodedMesh
        let modelMs: Double
        let frameSize: CGSize
    }

    func process(_ frame: CVPixelBuffer, timestamp: Double) throws -> Result {
        let w = CVPixelBufferGetWidth(frame), h = CVPixelBufferGetHeight(frame)
        if tracker.needsDetection {
            tracker.start(from: detectPerson(frame) ?? Box(x0: 0, y0: 0, x1: Double(w), y1: Double(h)))
        }
        guard let crop = tracker.crop else { throw AppError.inferenceFailed("no person crop") }
        let input = try cropToInput(frame, crop: crop)
        let t0 = CFAbsoluteTimeGetCurrent()
        let raw = try runner.run(input)
        let modelMs = (CFAbsoluteTimeGetCurrent() - t0) * 1000
        let c = runner.contract
        var mesh = Decoder.decode(vertices: raw.vertices, visibility: raw.visibility, joints: raw.joints, crop: crop,
                                  inW: c.inputWidth, inH: c.inputHeight, threshold: c.visibilityThreshold)
        if !tracker.update(mesh) { smoother.reset() }
        mesh.vertices = smoother.filter(mesh.vertices, t: timestamp)
        return Result(mesh: mesh, modelMs: modelMs, frameSize: CGSize(width: w, height: h))
    }

    /// A BGRA pixel buffer allocated by IOSurface (Core Video allocates through IOSurface only when the
    /// attributes carry kCVPixelBufferIOSurfacePropertiesKey; an empty dictionary takes the defaults), so Core
    /// Image renders into it on the GPU and Core ML hands it to the Neural Engine without a copy into an
    /// IOSurface of its own.
    static func makeIOSurfaceBuffer(width: Int, height: Int) throws -> CVPixelBuffer {
        let attributes: [CFString: Any] = [
            kCVPixelBufferIOSurfacePropertiesKey: [CFString: Any]() as CFDictionary,
            kCVPixelBufferMetalCompatibilityKey: true,
            kCVPixelBufferCGImageCompatibilityKey: true,
        ]
        var buffer: CVPixelBuffer?
        let status = CVPixelBufferCreate(kCFAllocatorDefault, width, height, kCVPixelFormatType_32BGRA,
                                         attributes as CFDictionary, &buffer)
        guard status == kCVReturnSuccess, let buffer else {
            throw AppError.inferenceFailed("cannot allocate a \(width)x\(height) pixel buffer (CVReturn \(status))")
        }
        return buffer
    }

    /// Vision's human rectangle, converted to top-left-origin frame pixels.
    func detectPerson(_ frame: CVPixelBuffer) -> Box? {
        let request = VNDetectHumanRectanglesRequest()
        request.upperBodyOnly = false
        try? VNImageRequestHandler(cvPixelBuffer: frame, options: [:]).perform([request])
        guard let r = request.results?.max(by: { $0.confidence < $1.confidence }) else { return nil }
        let w = Double(CVPixelBufferGetWidth(frame)), h = Double(CVPixelBufferGetHeight(frame))
        let b = r.boundingBox  // normalised, origin bottom-left
        return Box(x0: b.minX * w, y0: (1 - b.maxY) * h, x1: b.maxX * w, y1: (1 - b.minY) * h)
    }

    /// Model input = frame sampled through the crop (x_frame = x0 + s * x_input), via Core Image.
    func cropToInput(_ frame: CVPixelBuffer, crop: Crop) throws -> CVPixelBuffer {
        let c = runner.contract
        if inputBuffer == nil { inputBuffer = try Self.makeIOSurfaceBuffer(width: c.inputWidth, height: c.inputHeight) }
        guard let out = inputBuffer else { throw AppError.inferenceFailed("cannot allocate the input buffer") }
        let frameH = Double(CVPixelBufferGetHeight(frame))
        // Core Image's origin is bottom-left: flip, shift by the crop origin, scale by 1/s, flip back.
        var t = CGAffineTransform(translationX: 0, y: frameH).scaledBy(x: 1, y: -1)
        t = t.concatenating(CGAffineTransform(translationX: -crop.x0, y: -crop.y0))
        t = t.concatenating(CGAffineTransform(scaleX: 1 / crop.scale, y: 1 / crop.scale))
        t = t.concatenating(CGAffineTransform(scaleX: 1, y: -1).translatedBy(x: 0, y: -Double(c.inputHeight)))
        let image = CIImage(cvPixelBuffer: frame).transformed(by: t, highQualityDownsample: true)
        context.render(image, to: out, bounds: CGRect(x: 0, y: 0, width: c.inputWidth, height: c.inputHeight),
                       colorSpace: CGColorSpaceCreateDeviceRGB())
        return out
    }
}
