import MeshPoseKit
import MetalKit
import SwiftUI

/// Metal overlay: the mesh's edges between visible vertices as line primitives, mapped
/// frame -> screen with the preview's letterbox, drawn over the camera preview.
struct MeshOverlayView: UIViewRepresentable {
    let mesh: DecodedMesh?
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
        context.coordinator.update(mesh: mesh, faces: faces, frameSize: frameSize, viewSize: view.bounds.size)
        view.setNeedsDisplay()
    }
}

final class MeshRenderer: NSObject, MTKViewDelegate {
    private var pipeline: MTLRenderPipelineState?
    private var queue: MTLCommandQueue?
    private var points: [SIMD2<Float>] = []

    private static let shader = """
    #include <metal_stdlib>
    using namespace metal;
    vertex float4 vmain(const device float2 *p [[buffer(0)]], uint i [[vertex_id]]) { return float4(p[i], 0, 1); }
    fragment float4 fmain() { return float4(0.2, 1.0, 0.4, 0.9); }
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

    /// Builds the line list in normalised device coordinates.
    func update(mesh: DecodedMesh?, faces: [[Int]], frameSize: CGSize, viewSize: CGSize) {
        points.removeAll(keepingCapacity: true)
        guard let mesh, viewSize.width > 0, viewSize.height > 0 else { return }
        let lb = Letterbox(frameW: frameSize.width, frameH: frameSize.height, viewW: viewSize.width,
                           viewH: viewSize.height)
        func ndc(_ v: Int) -> SIMD2<Float> {
            let p = lb.toScreen(mesh.vertices[3 * v], mesh.vertices[3 * v + 1])
            return SIMD2(Float(2 * p.0 / viewSize.width - 1), Float(1 - 2 * p.1 / viewSize.height))
        }
        for f in faces {
            for (a, b) in [(f[0], f[1]), (f[1], f[2]), (f[2], f[0])] where mesh.visible[a] && mesh.visible[b] {
                points.append(ndc(a))
                points.append(ndc(b))
            }
        }
    }

    func mtkView(_ view: MTKView, drawableSizeWillChange size: CGSize) {}

    func draw(in view: MTKView) {
        guard let pipeline, let queue, let pass = view.currentRenderPassDescriptor, let drawable = view.currentDrawable,
              let buffer = queue.makeCommandBuffer(), let encoder = buffer.makeRenderCommandEncoder(descriptor: pass)
        else { return }
        // setVertexBytes is limited to 4 kB; a mesh's edge list needs a real buffer.
        if !points.isEmpty, let vertices = view.device?.makeBuffer(
            bytes: points, length: points.count * MemoryLayout<SIMD2<Float>>.stride, options: .storageModeShared) {
            encoder.setRenderPipelineState(pipeline)
            encoder.setVertexBuffer(vertices, offset: 0, index: 0)
            encoder.drawPrimitives(type: .line, vertexStart: 0, vertexCount: points.count)
        }
        encoder.endEncoding()
        buffer.present(drawable)
        buffer.commit()
    }
}
