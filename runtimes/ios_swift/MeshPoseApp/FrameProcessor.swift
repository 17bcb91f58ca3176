import CoreGraphics
import CoreVideo
import Foundation
import MeshPoseKit

/// Wires the camera frames to MeshPoseKit's FramePipeline (model/pipeline/tracker.py's port, tested against the
/// sequence fixture), which does all detecting-when-needed, matching, tracking, smoothing and crop following:
/// its detect step is the person detector, its infer step renders each person's crop (InputSampler, Python's rule) and runs the
/// mesh model on it. Nothing here tracks or smooths. Used from one queue at a time (the capture queue).
final class FrameProcessor {
    static let defaultMaxPeople = 2
    let runner: ModelRunner
    private let pipeline: FramePipeline<CVPixelBuffer>
    private let timings: FrameTimings

    /// What one frame gave: the people to draw (id order) and where the time went.
    struct Result {
        let people: [Person]
        let modelMs: Double
        let detectorMs: Double
        let frameSize: CGSize
    }

    /// The pipeline takes the sizes, crop convention and visibility threshold from the mesh model's contract and
    /// keeps the reference's defaults for the rest (detect every 10 frames, One Euro 1.0 / 0.01 / 1.0, ...).
    init(runner: ModelRunner, detector: PersonDetecting, maxPeople: Int = defaultMaxPeople) throws {
        let c = runner.contract
        let config = try PipelineConfig(inW: c.inputWidth, inH: c.inputHeight, boxScale: c.crop.boxScale,
                                        visibilityThreshold: c.visibilityThreshold, maxPeople: maxPeople,
                                        originPx: c.originPx)
        let renderer = try CropRenderer(width: c.inputWidth, height: c.inputHeight, pad: c.crop.padRGB)
        let timings = FrameTimings()
        pipeline = FramePipeline(config: config, detect: { frame in
            try timings.measure(\.detectorMs) { try detector.detect(frame) }
        }, infer: { frame, crops in
            try crops.map { crop -> RawOutputs in
                let input = try renderer.render(frame, crop: crop)
                return try timings.measure(\.modelMs) { try runner.run(input) }
            }
        })
        self.runner = runner
        self.timings = timings
    }

    func process(_ frame: CVPixelBuffer, timestamp: Double) throws -> Result {
        timings.reset()
        let result = try pipeline.process(frame, t: timestamp)
        return Result(people: result.people, modelMs: timings.modelMs, detectorMs: timings.detectorMs,
                      frameSize: CGSize(width: CVPixelBufferGetWidth(frame), height: CVPixelBufferGetHeight(frame)))
    }
}

/// Milliseconds spent in the detector and in the mesh model (all crops) during one frame.
final class FrameTimings {
    var detectorMs = 0.0
    var modelMs = 0.0

    func reset() { detectorMs = 0; modelMs = 0 }

    /// Runs `body`, adding its duration to the counter at `key`.
    func measure<T>(_ key: ReferenceWritableKeyPath<FrameTimings, Double>, _ body: () throws -> T) rethrows -> T {
        let t0 = CFAbsoluteTimeGetCurrent()
        defer { self[keyPath: key] += (CFAbsoluteTimeGetCurrent() - t0) * 1000 }
        return try body()
    }
}
