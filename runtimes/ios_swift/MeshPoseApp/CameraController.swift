import AVFoundation
import CoreML
import Foundation
import MeshPoseKit

/// AVFoundation capture (BGRA frames) feeding the FrameProcessor; publishes meshes, FPS, latency, errors.
@MainActor
final class CameraController: NSObject, ObservableObject {
    @Published var mesh: DecodedMesh?
    @Published var frameSize = CGSize(width: 1, height: 1)
    @Published var fps = 0.0
    @Published var modelMs = 0.0
    @Published var error: AppError?
    @Published var faces: [[Int]] = []
    @Published var computeUnits: MLComputeUnits = .cpuAndNeuralEngine
    @Published var computePlan = ""

    let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "meshpose.frames")
    nonisolated(unsafe) private var processor: FrameProcessor?
    nonisolated(unsafe) private var lastFrame = 0.0

    func start() {
        loadModel()
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized: configure()
        case .notDetermined:
            AVCaptureDevice.requestAccess(for: .video) { granted in
                Task { @MainActor in granted ? self.configure() : (self.error = .cameraPermissionDenied) }
            }
        default: error = .cameraPermissionDenied
        }
    }

    /// (Re)loads the model with the selected compute units; a failure becomes an on-screen error.
    func loadModel() {
        do {
            let runner = try ModelRunner(computeUnits: computeUnits)
            processor = FrameProcessor(runner: runner)
            faces = runner.contract.faces
            Task { computePlan = await ComputePlanReport.summary(for: runner) }
        } catch let e as AppError {
            error = e
        } catch {
            self.error = .inferenceFailed("\(error)")
        }
    }

    private func configure() {
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back),
              let input = try? AVCaptureDeviceInput(device: device) else {
            error = .inferenceFailed("no back camera available"); return
        }
        session.beginConfiguration()
        session.sessionPreset = .hd1280x720
        if session.canAddInput(input) { session.addInput(input) }
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        if session.canAddOutput(output) { session.addOutput(output) }
        output.connection(with: .video)?.videoRotationAngle = 90
        session.commitConfiguration()
        queue.async { self.session.startRunning() }
    }
}

extension CameraController: AVCaptureVideoDataOutputSampleBufferDelegate {
    nonisolated func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer,
                                   from connection: AVCaptureConnection) {
        guard let processor, let frame = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        let t = CMSampleBufferGetPresentationTimeStamp(sampleBuffer).seconds
        do {
            let result = try processor.process(frame, timestamp: t)
            let dt = lastFrame > 0 ? t - lastFrame : 0
            lastFrame = t
            Task { @MainActor in
                self.mesh = result.mesh
                self.frameSize = result.frameSize
                self.modelMs = result.modelMs
                if dt > 0 { self.fps = 0.9 * self.fps + 0.1 / dt }
            }
        } catch {
            let appError = (error as? AppError) ?? .inferenceFailed("\(error)")
            Task { @MainActor in self.error = appError }
        }
    }
}
