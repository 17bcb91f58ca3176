import AVFoundation
import CoreML
import Foundation
import MeshPoseKit

/// AVFoundation capture (BGRA frames) feeding the FrameProcessor; publishes the people, FPS, latencies, errors.
@MainActor
final class CameraController: NSObject, ObservableObject {
    @Published var people: [Person] = []
    @Published var frameSize = CGSize(width: 1, height: 1)
    @Published var fps = 0.0
    @Published var modelMs = 0.0
    @Published var detectorMs = 0.0
    @Published var error: AppError?
    /// Why the latest model load failed (a missing detector, say); cleared by the next successful load.
    @Published var loadError: AppError?
    @Published var faces: [[Int]] = []
    @Published var computeUnits: MLComputeUnits = .cpuAndNeuralEngine
    /// The exported BlazePose detector unless the user picks Vision's human rectangles.
    @Published var detectorChoice: DetectorChoice = .blazePose
    @Published var computePlan = ""

    @Published var loading = false

    let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "meshpose.frames")
    /// Swapped on the main actor when a model finishes loading, read on the capture queue: every access
    /// goes through the lock (MeshPoseKit.Locked), never a bare shared variable.
    private nonisolated let processorSlot = Locked<FrameProcessor?>(nil)
    /// Touched only on the capture queue (captureOutput), so it needs no lock.
    nonisolated(unsafe) private var lastFrame = 0.0
    /// Which loadModel() call is the latest: a slower, older load must not replace a newer choice.
    private var loadGeneration = 0

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

    /// (Re)loads the mesh model and the chosen person detector with the selected compute units off the main actor
    /// (Core ML compiles them, seconds the first time on the Neural Engine) and starts a new frame pipeline (new
    /// track ids); frames keep using the previous pipeline until the new one is ready. A failure, such as a
    /// detector missing from the bundle, stops the pipeline (no fallback to another detector) and is shown on screen.
    func loadModel() {
        loadGeneration += 1
        let generation = loadGeneration, units = computeUnits, choice = detectorChoice
        loading = true
        Task {
            do {
                let runner = try await ModelRunner.load(computeUnits: units)
                let detector: PersonDetecting
                switch choice {
                case .blazePose:
                    detector = try await DetectorRunner.load(computeUnits: units,
                                                             maxPeople: FrameProcessor.defaultMaxPeople)
                case .vision:
                    detector = VisionPersonDetector()
                }
                guard generation == loadGeneration else { return }
                processorSlot.set(try FrameProcessor(runner: runner, detector: detector))
                loadError = nil
                faces = runner.contract.faces
                loading = false
                let plan = await ComputePlanReport.detached(for: runner)
                if generation == loadGeneration { computePlan = plan }
            } catch {
                guard generation == loadGeneration else { return }
                processorSlot.set(nil)
                people = []
                loading = false
                loadError = (error as? AppError) ?? .inferenceFailed("\(error)")
            }
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
        guard let processor = processorSlot.get(), let frame = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        let t = CMSampleBufferGetPresentationTimeStamp(sampleBuffer).seconds
        do {
            let result = try processor.process(frame, timestamp: t)
            let dt = lastFrame > 0 ? t - lastFrame : 0
            lastFrame = t
            Task { @MainActor in
                self.people = result.people
                self.frameSize = result.frameSize
                self.modelMs = result.modelMs
                self.detectorMs = result.detectorMs
                if dt > 0 { self.fps = 0.9 * self.fps + 0.1 / dt }
            }
        } catch {
            let appError = (error as? AppError) ?? .inferenceFailed("\(error)")
            Task { @MainActor in self.error = appError }
        }
    }
}
