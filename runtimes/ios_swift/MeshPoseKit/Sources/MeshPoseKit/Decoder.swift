import Foundation

/// Raw model outputs of one crop mapped to frame pixels (the decoding of model/pipeline/decode.py).
public struct DecodedMesh: Sendable {
    public var vertices: [Double]  // xyz-interleaved, frame pixels, z scaled alike
    public var visible: [Bool]
    public var joints: [Double]
    public var visibleBounds: Box?
    public var nextCrop: Crop?
    public var numVisible: Int { visible.lazy.filter { $0 }.count }
}

public enum Decoder {
    /// x_f = x0 + s (x + o_x), y_f = y0 + s (y + o_y), z_f = s z; visible = visibility >= threshold; the next crop is
    /// the visible bounds' crop enlarged by `expand` (the contract's crop.box_scale). Vertices and joints are
    /// xyz-interleaved, about `origin` (the contract's origin_px, `ModelContract.originPx`).
    public static func decode(vertices: [Double], visibility: [Double], joints: [Double], crop: Crop,
                              inW: Int, inH: Int, threshold: Double = 0.5,
                              expand: Double = Geometry.defaultExpand,
                              origin: [Double] = ModelIO.cornerOrigin) -> DecodedMesh {
        precondition(vertices.count == 3 * visibility.count, "vertices must be 3 x visibility")
        precondition(origin.count == 3, "origin must be (x, y, z)")
        let v = map(vertices, crop, origin)
        let visible = visibility.map { $0 >= threshold }
        let bounds = Geometry.visibleBounds(v, visible)
        let n = visible.lazy.filter { $0 }.count
        return DecodedMesh(vertices: v, visible: visible, joints: map(joints, crop, origin), visibleBounds: bounds,
                           nextCrop: Geometry.nextCrop(bounds, numVisible: n, numVertices: visible.count,
                                                       inW: inW, inH: inH, expand: expand))
    }

    private static func map(_ p: [Double], _ c: Crop, _ origin: [Double]) -> [Double] {
        p.enumerated().map { i, value in
            let s = (value + origin[i % 3]) * c.scale
            switch i % 3 {
            case 0: return s + c.x0
            case 1: return s + c.y0
            default: return s
            }
        }
    }
}
