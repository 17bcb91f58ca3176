import Foundation

/// frame = (x0, y0) + scale * crop: maps model-input pixels to camera-frame pixels (docs/CONTRACTS.md §3).
public struct Crop: Equatable, Sendable {
    public var x0: Double
    public var y0: Double
    public var scale: Double
    public init(x0: Double, y0: Double, scale: Double) { self.x0 = x0; self.y0 = y0; self.scale = scale }
    public func toFrame(_ x: Double, _ y: Double) -> (Double, Double) { (x0 + scale * x, y0 + scale * y) }
    public func toCrop(_ x: Double, _ y: Double) -> (Double, Double) { ((x - x0) / scale, (y - y0) / scale) }
}

/// Axis-aligned box [x0, y0, x1, y1] in frame pixels.
public struct Box: Equatable, Sendable {
    public var x0: Double, y0: Double, x1: Double, y1: Double
    public init(x0: Double, y0: Double, x1: Double, y1: Double) { self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1 }
    public var width: Double { x1 - x0 }
    public var height: Double { y1 - y0 }
}

public enum Geometry {
    public static let defaultExpand = 1.25
    /// Fewer visible vertices than this fraction means tracking is lost.
    public static let minVisibleFraction = 0.10

    /// Crop of the model aspect around a person box, enlarged by `expand`.
    public static func cropFromBox(_ box: Box, inW: Int, inH: Int, expand: Double = defaultExpand) -> Crop? {
        var w = box.width, h = box.height
        guard w > 0, h > 0 else { return nil }
        let cx = (box.x0 + box.x1) / 2, cy = (box.y0 + box.y1) / 2
        if w / h > Double(inW) / Double(inH) { h = w * Double(inH) / Double(inW) } else { w = h * Double(inW) / Double(inH) }
        let scale = expand * w / Double(inW)
        return Crop(x0: cx - scale * Double(inW) / 2, y0: cy - scale * Double(inH) / 2, scale: scale)
    }

    /// Bounds of the visible vertices (frame pixels, xyz-interleaved), nil when none is visible.
    public static func visibleBounds(_ vertices: [Double], _ visible: [Bool]) -> Box? {
        var b: Box?
        for i in visible.indices where visible[i] {
            let x = vertices[3 * i], y = vertices[3 * i + 1]
            if var cur = b {
                cur.x0 = min(cur.x0, x); cur.x1 = max(cur.x1, x); cur.y0 = min(cur.y0, y); cur.y1 = max(cur.y1, y)
                b = cur
            } else { b = Box(x0: x, y0: y, x1: x, y1: y) }
        }
        return b
    }

    /// Next frame's crop from this frame's visible bounds, enlarged by `expand`; nil means "re-detect the person".
    public static func nextCrop(_ bounds: Box?, numVisible: Int, numVertices: Int, inW: Int, inH: Int,
                                expand: Double = defaultExpand) -> Crop? {
        guard let b = bounds, Double(numVisible) >= minVisibleFraction * Double(numVertices),
              b.width > 0, b.height > 0 else { return nil }
        return cropFromBox(b, inW: inW, inH: inH, expand: expand)
    }

    /// Intersection over union of two boxes (0 when either has no area), as model/pipeline/tracker.py `iou`.
    public static func iou(_ a: Box, _ b: Box) -> Double {
        let ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
        let iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
        let inter = ix * iy
        let union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
        return union > 0 ? inter / union : 0
    }

    /// The crop whose centre and scale are (1 - weight) a + weight b (blending corners would drift), as
    /// model/pipeline/tracker.py `blend_crops`.
    public static func blend(_ a: Crop, _ b: Crop, weight: Double, inW: Int, inH: Int) -> Crop {
        let w = Double(inW), h = Double(inH)
        let acx = a.x0 + a.scale * w / 2, acy = a.y0 + a.scale * h / 2
        let bcx = b.x0 + b.scale * w / 2, bcy = b.y0 + b.scale * h / 2
        let s = weight * b.scale + (1 - weight) * a.scale
        let cx = weight * bcx + (1 - weight) * acx, cy = weight * bcy + (1 - weight) * acy
        return Crop(x0: cx - s * w / 2, y0: cy - s * h / 2, scale: s)
    }
}

/// Aspect-fit placement of a camera frame in a view (the preview's letterbox), frame <-> screen.
public struct Letterbox: Sendable {
    public let scale: Double, offsetX: Double, offsetY: Double
    public init(frameW: Double, frameH: Double, viewW: Double, viewH: Double) {
        scale = min(viewW / frameW, viewH / frameH)
        offsetX = (viewW - frameW * scale) / 2
        offsetY = (viewH - frameH * scale) / 2
    }
    public func toScreen(_ x: Double, _ y: Double) -> (Double, Double) { (offsetX + scale * x, offsetY + scale * y) }
    public func toFrame(_ sx: Double, _ sy: Double) -> (Double, Double) { ((sx - offsetX) / scale, (sy - offsetY) / scale) }
}
