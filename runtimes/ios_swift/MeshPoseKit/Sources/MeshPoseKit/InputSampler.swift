import Foundation

/// Camera frame -> model input by Python's rule (model/pipeline/crop.py `sample_crop`, docs/CONTRACTS.md §3):
/// input pixel (u, v) samples the frame bilinearly at (x0 + s (u + 0.5), y0 + s (v + 0.5)) with frame pixel
/// centres at integer + 0.5; samples outside the frame read `padRGB` (the contract's crop.pad_rgb). Written in
/// plain Swift so every runtime crops alike: Core Image's resamplers filter differently near edges and when
/// downscaling. Tested against tests/fixtures/sampler_cases.json, the Kotlin sampler's fixture too.
public struct InputSampler: Sendable {
    /// Byte order of a 4-byte pixel: camera buffers on iOS are BGRA, the fixtures RGBA.
    public enum PixelOrder: Sendable { case rgba, bgra }

    public let inW: Int, inH: Int
    public let padRGB: [Double]

    /// nil when the size is not positive or the pad is not three values.
    public init?(inW: Int, inH: Int, padRGB: [Double] = [0, 0, 0]) {
        guard inW > 0, inH > 0, padRGB.count == 3 else { return nil }
        self.inW = inW; self.inH = inH; self.padRGB = padRGB
    }

    /// Calls `body(u, v, rgb)` with the bilinear sample of every input pixel; nil-free checks happen first.
    private func forEachSample(_ pixels: UnsafeRawBufferPointer, width: Int, height: Int, rowStride: Int,
                               order: PixelOrder, crop: Crop, _ body: (Int, Int, (Double, Double, Double)) -> Void) -> Bool {
        guard width > 0, height > 0, rowStride >= 4 * width, crop.scale > 0,
              pixels.count >= rowStride * (height - 1) + 4 * width else { return false }
        let offsets = order == .rgba ? [0, 1, 2] : [2, 1, 0]  // byte offset of R, G, B
        func px(_ x: Int, _ y: Int, _ c: Int) -> Double {
            (x < 0 || y < 0 || x >= width || y >= height) ? padRGB[c] : Double(pixels[y * rowStride + 4 * x + offsets[c]])
        }
        for v in 0..<inH {
            let fy = crop.y0 + crop.scale * (Double(v) + 0.5) - 0.5  // to centre-at-integer indices
            let y0 = Int(fy.rounded(.down)), ay = fy - Double(y0)
            for u in 0..<inW {
                let fx = crop.x0 + crop.scale * (Double(u) + 0.5) - 0.5
                let x0 = Int(fx.rounded(.down)), ax = fx - Double(x0)
                func sample(_ c: Int) -> Double {
                    let top = px(x0, y0, c) * (1 - ax) + px(x0 + 1, y0, c) * ax
                    let bottom = px(x0, y0 + 1, c) * (1 - ax) + px(x0 + 1, y0 + 1, c) * ax
                    return top * (1 - ay) + bottom * ay
                }
                body(u, v, (sample(0), sample(1), sample(2)))
            }
        }
        return true
    }

    /// The input as RGB floats in [0, 255], HWC order (the reference's values); nil for a bad frame or crop.
    public func sample(_ pixels: UnsafeRawBufferPointer, width: Int, height: Int, rowStride: Int,
                       order: PixelOrder, crop: Crop) -> [Float]? {
        var out = [Float](repeating: 0, count: inW * inH * 3)
        let ok = forEachSample(pixels, width: width, height: height, rowStride: rowStride, order: order,
                               crop: crop) { u, v, rgb in
            let i = (v * inW + u) * 3
            out[i] = Float(rgb.0); out[i + 1] = Float(rgb.1); out[i + 2] = Float(rgb.2)
        }
        return ok ? out : nil
    }

    /// Writes the input as 8-bit BGRA (alpha 255) into `destination` (rows `destinationRowStride` bytes apart):
    /// the Core ML image input. Values are rounded to the nearest integer. Returns false for a bad frame,
    /// crop or destination.
    public func renderBGRA(_ pixels: UnsafeRawBufferPointer, width: Int, height: Int, rowStride: Int,
                           order: PixelOrder, crop: Crop, into destination: UnsafeMutableRawBufferPointer,
                           destinationRowStride: Int) -> Bool {
        guard destinationRowStride >= 4 * inW, destination.count >= destinationRowStride * (inH - 1) + 4 * inW else {
            return false
        }
        func byte(_ x: Double) -> UInt8 { UInt8(min(255, max(0, x.rounded(.toNearestOrEven)))) }
        return forEachSample(pixels, width: width, height: height, rowStride: rowStride, order: order,
                             crop: crop) { u, v, rgb in
            let i = v * destinationRowStride + 4 * u
            destination[i] = byte(rgb.2); destination[i + 1] = byte(rgb.1)
            destination[i + 2] = byte(rgb.0); destination[i + 3] = 255
        }
    }
}
