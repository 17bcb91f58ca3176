import CoreGraphics
import CoreImage
import CoreVideo
import Foundation
import MeshPoseKit

/// Renders a camera frame through a crop (frame = (x0, y0) + scale * input, continuous pixel coordinates, top-left
/// origin) into a model-input pixel buffer with Core Image: bilinear sampling, `pad` outside the frame. One buffer
/// is reused: each result is valid until the next `render`, so render and predict one crop at a time.
final class CropRenderer {
    let width: Int, height: Int
    private let background: CIImage
    private let highQualityDownsample: Bool
    private let context = CIContext(options: [.cacheIntermediates: false])
    private var buffer: CVPixelBuffer?

    /// `pad`: RGB in [0, 255] outside the frame (the contract's crop convention; black for the detector).
    /// `highQualityDownsample`: Core Image's multi-pass downsampling; off for the detector, which MediaPipe feeds
    /// plain bilinear samples.
    init(width: Int, height: Int, pad: [Double] = [0, 0, 0], highQualityDownsample: Bool) {
        self.width = width; self.height = height; self.highQualityDownsample = highQualityDownsample
        let rgb = pad.count == 3 ? pad.map { CGFloat($0 / 255) } : [0, 0, 0]
        background = CIImage(color: CIColor(red: rgb[0], green: rgb[1], blue: rgb[2]))
            .cropped(to: CGRect(x: 0, y: 0, width: width, height: height))
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

    /// The input of size width x height whose pixel (u, v) shows the frame at (x0 + s (u + 0.5), y0 + s (v + 0.5)).
    func render(_ frame: CVPixelBuffer, crop: Crop) throws -> CVPixelBuffer {
        if buffer == nil { buffer = try Self.makeIOSurfaceBuffer(width: width, height: height) }
        guard let out = buffer else { throw AppError.inferenceFailed("cannot allocate the input buffer") }
        let frameH = Double(CVPixelBufferGetHeight(frame))
        // Core Image's origin is bottom-left: flip, shift by the crop origin, scale by 1/s, flip back.
        var t = CGAffineTransform(translationX: 0, y: frameH).scaledBy(x: 1, y: -1)
        t = t.concatenating(CGAffineTransform(translationX: -crop.x0, y: -crop.y0))
        t = t.concatenating(CGAffineTransform(scaleX: 1 / crop.scale, y: 1 / crop.scale))
        t = t.concatenating(CGAffineTransform(scaleX: 1, y: -1).translatedBy(x: 0, y: -Double(height)))
        let image = CIImage(cvPixelBuffer: frame).transformed(by: t, highQualityDownsample: highQualityDownsample)
            .composited(over: background)
        context.render(image, to: out, bounds: CGRect(x: 0, y: 0, width: width, height: height),
                       colorSpace: CGColorSpaceCreateDeviceRGB())
        return out
    }
}
