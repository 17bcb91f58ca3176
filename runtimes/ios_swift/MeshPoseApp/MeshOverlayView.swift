import MeshPoseKit
import SwiftUI

/// Draws the mesh's edges between visible vertices, mapped frame -> screen with the preview's letterbox.
struct MeshOverlayView: View {
    let mesh: DecodedMesh?
    let faces: [[Int]]
    let frameSize: CGSize

    var body: some View {
        Canvas { context, size in
            guard let mesh else { return }
            let lb = Letterbox(frameW: frameSize.width, frameH: frameSize.height, viewW: size.width, viewH: size.height)
            func point(_ v: Int) -> CGPoint {
                let p = lb.toScreen(mesh.vertices[3 * v], mesh.vertices[3 * v + 1])
                return CGPoint(x: p.0, y: p.1)
            }
            var path = Path()
            for f in faces {
                for (a, b) in [(f[0], f[1]), (f[1], f[2]), (f[2], f[0])] where mesh.visible[a] && mesh.visible[b] {
                    path.move(to: point(a))
                    path.addLine(to: point(b))
                }
            }
            context.stroke(path, with: .color(.green.opacity(0.85)), lineWidth: 1.2)
        }
        .allowsHitTesting(false)
    }
}
