import CoreVideo
import Foundation
import MeshPoseKit

/// Renders a camera frame through a crop (frame = (x0, y0) + scale * input, top-left origin) into a model-input
/// pixel buffer with MeshPoseKit's InputSampler: Python's bilinear rule (model/pipeline/crop.py `sample_crop`,
/// tested against tests/fixtures/sampler_cases.json like the Kotlin app's sampler), `pad` outside the frame, 8-bit
/// BGRA out. Plain Swift on the CPU rather than Core Image, whose resamplers filter differently near edges and when
/// downscaling: every runtime feeds the network the same pixels. One buffer is reused: each result is valid until
/// the next `render`, so render and predict one crop at a time.
final class CropRenderer {
    let width: Int, height: Int
    private let sampler: InputSampler
    private var buffer: CVPixelBuffer?

    /// `pad`: RGB in [0, 255] outside the frame (the contract's crop convention; black for the detector).
    init(width: Int, height: Int, pad: [Double] = [0, 0, 0]) throws {
        guard let sampler = InputSampler(inW: width, inH: height, padRGB: pad) else {
            throw AppError.inferenceFailed("bad model input \(width)x\(height) or pad \(pad)")
        }
        self.width = width; self.height = height; self.sampler = sampler
    }

    /// A BGRA pixel buffer allocated by IOSurface (Core Video allocates through IOSurface only when the
    /// attributes carry kCVPixelBufferIOSurfacePropertiesKey; an empty dictionary takes the defaults), so Core
    /// ML hands it to the Neural Engine without a copy into an IOSurface of its own.
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

    /// The input of size width x height whose pixel (u, v) shows the frame at (x0 + s (u + 0.5), y0 + s (v + 0.5)).
    /// `frame` must be 32BGRA (the capture output's format, CameraController).
    func render(_ frame: CVPixelBuffer, crop: Crop) throws -> CVPixelBuffer {
        guard CVPixelBufferGetPixelFormatType(frame) == kCVPixelFormatType_32BGRA else {
            throw AppError.inferenceFailed("camera frames must be 32BGRA (got pixel format \(CVPixelBufferGetPixelFormatType(frame)))")
        }
        if buffer == nil { buffer = try Self.makeIOSurfaceBuffer(width: width, height: height) }
        guard let out = buffer else { throw AppError.inferenceFailed("cannot allocate the input buffer") }
        CVPixelBufferLockBaseAddress(frame, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(frame, .readOnly) }
        CVPixelBufferLockBaseAddress(out, [])
        defer { CVPixelBufferUnlockBaseAddress(out, []) }
        guard let src = CVPixelBufferGetBaseAddress(frame), let dst = CVPixelBufferGetBaseAddress(out) else {
            throw AppError.inferenceFailed("cannot read the camera frame or write the input buffer")
        }
        let frameW = CVPixelBufferGetWidth(frame), frameH = CVPixelBufferGetHeight(frame)
        let srcStride = CVPixelBufferGetBytesPerRow(frame), dstStride = CVPixelBufferGetBytesPerRow(out)
        let ok = sampler.renderBGRA(UnsafeRawBufferPointer(start: src, count: srcStride * frameH), width: frameW,
                                    height: frameH, rowStride: srcStride, order: .bgra, crop: crop,
                                    into: UnsafeMutableRawBufferPointer(start: dst, count: dstStride * height),
                                    destinationRowStride: dstStride)
        guard ok else { throw AppError.inferenceFailed("cannot sample a \(frameW)x\(frameH) frame through \(crop)") }
        return out
    }
}
