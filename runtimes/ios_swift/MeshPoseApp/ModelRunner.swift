import CoreML
import CoreVideo
import Foundation
import MeshPoseKit

/// Loads the exported .mlpackage (compiled into the app bundle as .mlmodelc) and its contract,
/// and runs it with the chosen compute units (default: CPU and Neural Engine).
/// Immutable after init; predictions run on one queue at a time (the capture queue or the benchmark task).
final class ModelRunner: @unchecked Sendable {
    static let modelName = "meshpose_xs"
    let contract: ModelContract
    let model: MLModel
    let computeUnits: MLComputeUnits
    let loadMs: Double

    /// Loads off the caller's actor. `MLModel(contentsOf:)` blocks while Core ML compiles the model for the
    /// chosen compute units, which takes seconds the first time on the Neural Engine, so the main actor must
    /// never call the synchronous initialiser (the UI would freeze at launch and on every compute-unit switch).
    static func load(computeUnits: MLComputeUnits = .cpuAndNeuralEngine) async throws -> ModelRunner {
        try await Task.detached(priority: .userInitiated) { try ModelRunner(computeUnits: computeUnits) }.value
    }

    /// Synchronous load: only for code already off the main actor (the benchmark's detached task).
    init(computeUnits: MLComputeUnits = .cpuAndNeuralEngine, bundle: Bundle = .main) throws {
        guard let contractURL = bundle.url(forResource: "\(Self.modelName).mlpackage.contract", withExtension: "json")
        else { throw AppError.missingModel("\(Self.modelName).mlpackage.contract.json") }
        do {
            contract = try ModelContract.parse(try Data(contentsOf: contractURL))
        } catch {
            throw AppError.fromContract(error)
        }
        guard let modelURL = bundle.url(forResource: Self.modelName, withExtension: "mlmodelc") else {
            throw AppError.missingModel("\(Self.modelName).mlpackage")
        }
        let config = MLModelConfiguration()
        config.computeUnits = computeUnits
        let t0 = CFAbsoluteTimeGetCurrent()
        do {
            model = try MLModel(contentsOf: modelURL, configuration: config)
        } catch {
            throw AppError.inferenceFailed("Core ML could not load the model: \(error.localizedDescription)")
        }
        loadMs = (CFAbsoluteTimeGetCurrent() - t0) * 1000
        self.computeUnits = computeUnits
    }

    /// One prediction on a BGRA/RGB pixel buffer of the contract's input size: the raw outputs in the contract's
    /// units (crop pixels), as doubles for MeshPoseKit's FramePipeline.
    func run(_ pixelBuffer: CVPixelBuffer) throws -> RawOutputs {
        let input = try MLDictionaryFeatureProvider(dictionary: [ModelIO.input: MLFeatureValue(pixelBuffer: pixelBuffer)])
        let out = try model.prediction(from: input)
        func values(_ name: String) throws -> [Double] {
            guard let array = out.featureValue(for: name)?.multiArrayValue else {
                throw AppError.inferenceFailed("output \(name) missing")
            }
            return try Self.readFloats(array, name: name).map(Double.init)
        }
        // Contract v2: a model without a landmarker (the authors' release without SMPL) has no joints output.
        return RawOutputs(vertices: try values(ModelIO.vertices), visibility: try values(ModelIO.visibility),
                          joints: contract.hasJoints ? try values(ModelIO.joints) : [])
    }
}

extension ModelRunner {
    /// The multi-array's elements in row-major order of its shape. Core ML does not promise contiguous
    /// storage ("It may not store these scalar values contiguously; use strides", MLMultiArray
    /// withUnsafeBufferPointer(ofType:_:)), and `dataPointer` is deprecated, so the storage is read through
    /// `strides` by MeshPoseKit's StridedReader (tested in MeshPoseKit/Tests, StridedArrayTests).
    static func readFloats(_ array: MLMultiArray, name: String) throws -> [Float] {
        let shape = array.shape.map(\.intValue), strides = array.strides.map(\.intValue)
        do {
            switch array.dataType {
            case .float32:
                return try array.withUnsafeBufferPointer(ofType: Float.self) {
                    try StridedReader.contiguous($0, shape: shape, strides: strides)
                }
            case .float16:
                return try array.withUnsafeBufferPointer(ofType: Float16.self) {
                    try StridedReader.contiguous($0, shape: shape, strides: strides)
                }
            case .double:
                return try array.withUnsafeBufferPointer(ofType: Double.self) {
                    try StridedReader.contiguous($0, shape: shape, strides: strides)
                }
            default:
                throw AppError.inferenceFailed("output \(name) has data type \(array.dataType.rawValue), not a float type")
            }
        } catch let error as StridedReadError {
            throw AppError.inferenceFailed("output \(name): \(error)")
        }
    }
}

extension MLComputeUnits {
    var label: String {
        switch self {
        case .cpuOnly: return "CPU"
        case .cpuAndGPU: return "CPU+GPU"
        case .cpuAndNeuralEngine: return "CPU+ANE"
        case .all: return "All"
        @unknown default: return "?"
        }
    }
}
