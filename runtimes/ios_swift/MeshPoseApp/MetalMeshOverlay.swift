import MeshPoseKit
import MetalKit
import SwiftUI

/// Metal overlay: every tracked person's mesh, in the colour of its track id (MeshPoseKit TrackPalette): the edges
/// between visible vertices as line primitives, or the visible vertices as points when the template has no faces;
/// mapped frame -> screen with the preview's letterbox, drawn over the camera preview.
struct MeshOverlayView: UIViewRepresentable {
    let people: [Person]
    let faces: [[Int]]
    let frameSize: CGSize

    func makeCoordinator() -> MeshRenderer { MeshRenderer() }

    func makeUIView(context: Context) -> MTKView {
        let view = MTKView(frame: .zero, device: MTLCreateSystemDefaultDevice())
        view.isOpaque = false
        view.backgroundColor = .clear
        view.clearColor = MTLClearColor(red: 0, green: 0, blue: 0, alpha: 0)
        view.isUserInteractionEnabled = false
        view.enableSetNeedsDisplay = true
        view.isPaused = true
        view.delegate = context.coordinator
        context.coordinator.configure(view)
        return view
    }

    func updateUIView(_ view: MTKView, context: Context) {
        context.coordinator.update(people: people, faces: faces, frameSize: frameSize, viewSize: view.bounds.size)
        view.setNeedsDisplay()
    }
}

final class MeshRenderer: NSObject, MTKViewDelegate {
    /// One primitive list: positions in normalised device coordinates and one colour per position.
    private struct Vertices {
        var positions: [SIMD2<Float>] = []
        var colors: [SIMD4<Float>] = []
        mutating func removeAll() { positions.removeAll(keepingCapacity: true); colors.removeAll(keepingCapacity: true) }
        mutating func append(_ p: SIMD2<Float>, _ c: SIMD4<Float>) { positions.append(p); colors.append(c) }
    }

    private var pipeline: MTLRenderPipelineState?
    private var queue: MTLCommandQueue?
    private var lines = Vertices()
    private var points = Vertices()

    private static let shader = """
    #include <metal_stdlib>
    using namespace metal;
    struct VOut { float4 position [[position]]; float4 color; float size [[point_size]]; };
    vertex VOut vmain(const device float2 *p [[buffer(0)]], const device float4 *c [[buffer(1)]],
                      uint i [[vertex_id]]) {
        VOut o;
        o.position = float4(p[i], 0, 1);
        o.color = c[i];
        o.size = 4.0;
        return o;
    }
    fragment float4 fmain(VOut in [[stage_in]]) { return in.color; }
    """

    func configure(_ view: MTKView) {
        guard let device = view.device, let library = try? device.makeLibrary(source: Self.shader, options: nil) else {
            return
        }
        let desc = MTLRenderPipelineDescriptor()
        desc.vertexFunction = library.makeFunction(name: "vmain")
        desc.fragmentFunction = library.makeFunction(name: "fmain")
        desc.colorAttachments[0].pixelFormat = view.colorPixelFormat
        desc.colorAttachments[0].isBlendingEnabled = true
        desc.colorAttachments[0].sourceRGBBlendFactor = .sourceAlpha
        desc.colorAttachments[0].destinationRGBBlendFactor = .oneMinusSourceAlpha
        pipeline = try? device.makeRenderPipelineState(descriptor: desc)
        queue = device.makeCommandQueue()
    }

    /// Builds the line and point lists of every person in normalised device coordinates.
    func update(people: [Person], faces: [[Int]], frameSize: CGSize, viewSize: CGSize) {
        lines.removeAll()
        points.removeAll()
        guard viewSize.width > 0, viewSize.height > 0 else { return }
        let lb = Letterbox(frameW: frameSize.width, frameH: frameSize.height, viewW: viewSize.width,
                           viewH: viewSize.height)
        for person in people {
            let mesh = person.mesh, color = TrackPalette.color(for: person.id)
            func ndc(_ v: Int) -> SIMD2<Float> {
                let p = lb.toScreen(mesh.vertices[3 * v], mesh.vertices[3 * v + 1])
                return SIMD2(Float(2 * p.0 / viewSize.width - 1), Float(1 - 2 * p.1 / viewSize.height))
            }
            if faces.isEmpty {
                for v in mesh.visible.indices where mesh.visible[v] { points.append(ndc(v), color) }
            }
            for f in faces {
                for (a, b) in [(f[0], f[1]), (f[1], f[2]), (f[2], f[0])] where mesh.visible[a] && mesh.visible[b] {
                    lines.append(ndc(a), color)
                    lines.append(ndc(b), color)
                }
            }
        }
    }

    func mtkView(_ view: MTKView, drawableSizeWillChange size: CGSize) {}

    func draw(in view: MTKView) {
        guard let pipeline, let queue, let pass = view.currentRenderPassDescriptor, let drawable = view.currentDrawable,
              let buffer = queue.makeCommandBuffer(), let encoder = buffer.makeRenderCommandEncoder(descriptor: pass)
        else { return }
        encoder.setRenderPipelineState(pipeline)
        draw(lines, as: .line, encoder, view.device)
        draw(points, as: .point, encoder, view.device)
        encoder.endEncoding()
        buffer.present(drawable)
        buffer.commit()
    }

    /// setVertexBytes is limited to 4 kB; a mesh's edge list needs real buffers.
    private func draw(_ list: Vertices, as type: MTLPrimitiveType, _ encoder: MTLRenderCommandEncoder,
                      _ device: MTLDevice?) {
        guard !list.positions.isEmpty, let device,
              let positions = device.makeBuffer(bytes: list.positions,
                                                length: list.positions.count * MemoryLayout<SIMD2<Float>>.stride,
                                                options: .storageModeShared),
              let colors = device.makeBuffer(bytes: list.colors,
                                             length: list.colors.count * MemoryLayout<SIMD4<Float>>.stride,
                                             options: .storageModeShared) else { return }
        encoder.setVertexBuffer(positions, offset: 0, index: 0)
        encoder.setVertexBuffer(colors, offset: 0, index: 1)
        encoder.drawPrimitives(type: type, vertexStart: 0, vertexCount: list.positions.count)
    }
}
