import AVFoundation
import CoreML
import MeshPoseKit
import SwiftUI

/// Camera preview, mesh overlay (one colour per tracked person), FPS/latency readout, compute-unit and detector
/// switches, error banner.
struct ContentView: View {
    @StateObject private var camera = CameraController()

    var body: some View {
        ZStack {
            CameraPreview(session: camera.session).ignoresSafeArea()
            MeshOverlayView(people: camera.people, faces: camera.faces, frameSize: camera.frameSize).ignoresSafeArea()
            VStack {
                HStack {
                    Text(String(format: "%.1f FPS  model %.1f ms  detector %.1f ms  %@  %ld people", camera.fps,
                                camera.modelMs, camera.detectorMs, camera.computeUnits.label, camera.people.count))
                        .font(.system(.footnote, design: .monospaced))
                        .padding(6).background(.black.opacity(0.6)).foregroundStyle(.white)
                    Spacer()
                    Picker("Compute", selection: $camera.computeUnits) {
                        Text("ANE").tag(MLComputeUnits.cpuAndNeuralEngine)
                        Text("GPU").tag(MLComputeUnits.cpuAndGPU)
                        Text("CPU").tag(MLComputeUnits.cpuOnly)
                    }
                    .pickerStyle(.segmented).frame(width: 180)
                    .onChange(of: camera.computeUnits) { camera.loadModel() }
                }
                HStack {
                    Spacer()
                    Picker("Detector", selection: $camera.detectorChoice) {
                        ForEach(DetectorChoice.allCases, id: \.self) { Text($0.rawValue).tag($0) }
                    }
                    .pickerStyle(.segmented).frame(width: 180)
                    .onChange(of: camera.detectorChoice) { camera.loadModel() }
                }
                if camera.loading {
                    Text("Loading the models for \(camera.computeUnits.label)…").font(.caption)
                        .foregroundStyle(.white).padding(4).background(.black.opacity(0.5))
                }
                if !camera.computePlan.isEmpty {
                    Text(camera.computePlan).font(.caption2).foregroundStyle(.white)
                        .padding(4).background(.black.opacity(0.5))
                }
                Spacer()
                ForEach([camera.loadError, camera.error].compactMap { $0 }, id: \.description) { error in
                    Text(error.description).padding().frame(maxWidth: .infinity)
                        .background(.red.opacity(0.85)).foregroundStyle(.white)
                }
            }
            .padding()
        }
        .onAppear { camera.start() }
    }
}

/// AVCaptureVideoPreviewLayer in SwiftUI, aspect-fit like the overlay's Letterbox.
struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession

    final class PreviewView: UIView {
        override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }
        var previewLayer: AVCaptureVideoPreviewLayer { layer as! AVCaptureVideoPreviewLayer }
    }

    func makeUIView(context: Context) -> PreviewView {
        let view = PreviewView()
        view.previewLayer.session = session
        view.previewLayer.videoGravity = .resizeAspect
        return view
    }

    func updateUIView(_ uiView: PreviewView, context: Context) {}
}
