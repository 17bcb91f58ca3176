import CoreML
import CoreVideo
import Foundation
import MeshPoseKit

/// The exported BlazePose person detector (`make export-detector`: blazepose_detector.mlpackage, compiled into the
/// bundle as .mlmodelc, and its .contract.json) as the detect step. The frame is letterboxed into the 224 x 224
/// input by CropRenderer (MeshPoseKit's InputSampler, 8-bit rounding as MediaPipe does) through
/// `PersonDetector.samplingCrop` (the contract's letterbox rule, MediaPipe's pixel phase, black outside); MeshPoseKit decodes the outputs (`PersonDetector.detections`: anchors, weighted NMS,
/// person boxes). A missing model is an error naming the file, never a silent fallback.
final class DetectorRunner: PersonDetecting, @unchecked Sendable {
    static let modelName = "blazepose_detector"
    let contract: DetectorContract
    let maxPeople: Int
    private let model: MLModel
    private let anchors: [[Double]]
    private let renderer: CropRenderer

    /// Loads off the caller's actor (Core ML compiles the model for the compute units; see ModelRunner.load).
    static func load(computeUnits: MLComputeUnits, maxPeople: Int) async throws -> DetectorRunner {
        try await Task.detached(priority: .userInitiated) {
            try DetectorRunner(computeUnits: computeUnits, maxPeople: maxPeople)
        }.value
    }

    /// Synchronous load: only off the main actor.
    init(computeUnits: MLComputeUnits, maxPeople: Int, bundle: Bundle = .main) throws {
        let anchors = PersonDetector.generateAnchors()
        let contractFile = "\(Self.modelName).mlpackage.contract"
        guard let contractURL = bundle.url(forResource: contractFile, withExtension: "json") else {
            throw AppError.missingDetector("\(contractFile).json")
        }
        do {
            contract = try DetectorContract.parse(try Data(contentsOf: contractURL), anchorCount: anchors.count)
        } catch {
            throw AppError.fromContract(error)
        }
        guard let modelURL = bundle.url(forResource: Self.modelName, withExtension: "mlmodelc") else {
            throw AppError.missingDetector("\(Self.modelName).mlpackage")
        }
        let config = MLModelConfiguration()
        config.computeUnits = computeUnits
        do {
            model = try MLModel(contentsOf: modelURL, configuration: config)
        } catch {
            throw AppError.inferenceFailed("Core ML could not load the person detector: \(error.localizedDescription)")
        }
        self.anchors = anchors
        self.maxPeople = maxPeople
        renderer = try CropRenderer(width: PersonDetector.inputSize, height: PersonDetector.inputSize)  // black outside
    }

    func detect(_ frame: CVPixelBuffer) throws -> [Detection] {
        let w = CVPixelBufferGetWidth(frame), h = CVPixelBufferGetHeight(frame)
        guard let letterbox = PersonDetector.letterbox(frameWidth: w, frameHeight: h) else { return [] }
        let input = try renderer.render(frame, crop: PersonDetector.samplingCrop(letterbox))
        let out = try model.prediction(from: try MLDictionaryFeatureProvider(
            dictionary: [contract.inputName: MLFeatureValue(pixelBuffer: input)]))
        func doubles(_ name: String) throws -> [Double] {
            guard let array = out.featureValue(for: name)?.multiArrayValue else {
                throw AppError.inferenceFailed("person detector output \(name) missing")
            }
            return try ModelRunner.readFloats(array, name: name).map(Double.init)
        }
        guard let people = PersonDetector.detections(
            regressors: try doubles(contract.regressorsName), logits: try doubles(contract.scoresName),
            frameWidth: w, frameHeight: h, maxPeople: maxPeople, anchors: anchors) else {
            throw AppError.inferenceFailed("person detector outputs do not have \(anchors.count) anchors")
        }
        return people
    }
}
