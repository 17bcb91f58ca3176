import Foundation

/// Tracks the person crop frame to frame from the mesh's visible bounds (expanded, smoothed);
/// asks for a new detection (Vision's human rectangles on iOS) when visibility collapses.
public final class PersonTracker {
    private let inW: Int, inH: Int
    /// Weight of the new crop in the smoothing of centre and scale (1 = no smoothing).
    public var smoothing: Double
    public private(set) var crop: Crop?
    public var needsDetection: Bool { crop == nil }

    public init(inW: Int, inH: Int, smoothing: Double = 0.6) {
        self.inW = inW; self.inH = inH; self.smoothing = smoothing
    }

    /// Starts from a detected person box (or the whole frame as a fallback).
    public func start(from box: Box) { crop = Geometry.cropFromBox(box, inW: inW, inH: inH) }

    /// Updates from a decoded frame; returns true while tracking holds.
    @discardableResult
    public func update(_ mesh: DecodedMesh) -> Bool {
        guard let next = mesh.nextCrop else { crop = nil; return false }
        guard let cur = crop else { crop = next; return true }
        let w = smoothing
        let half = (Double(inW) / 2, Double(inH) / 2)
        let s = w * next.scale + (1 - w) * cur.scale
        let cx = w * (next.x0 + next.scale * half.0) + (1 - w) * (cur.x0 + cur.scale * half.0)
        let cy = w * (next.y0 + next.scale * half.1) + (1 - w) * (cur.y0 + cur.scale * half.1)
        crop = Crop(x0: cx - s * half.0, y0: cy - s * half.1, scale: s)
        return true
    }

    public func reset() { crop = nil }
}
