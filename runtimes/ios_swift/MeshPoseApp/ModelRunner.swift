import CoreML
import CoreVideo
import Foundation
import MeshPoseKit

/// Raw outputs of one inference, in the contract's units (crop pixels).
struct RawOutputs {
    let vertices: [Float]
    let visibility: [Float]
    let joints: [Float]
}

/// Loads the exported .mlpackage (compiled into the app bundle as .mlmodelc) and its contract,
/// and runs it with the chosen compute units (default: CPU and Neural Engine).
final class ModelRunner {
    static let modelName = "meshpose_xs"
    let contract: ModelContract
    let model: MLModel
    let computeUnits: MLComputeUnits
    let loadMs: Double

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

    /// One prediction on a BGRA/RGB pixel buffer of the contract's input size.
    func run(_ pixelBuffer: CVPixelBuffer) throws -> RawOutputs {
        let input = try MLDictionaryFeatureProvider(dictionary: [ModelIO.input: MLFeatureValue(pixelBuffer: pixelBuffer)])
        let out = try model.prediction(from: input)
        func floats(_ name: String) throws -> [Float] {
            guard let array = out.featureValue(for: name)?.multiArrayValue else {
                throw AppError.inferenceFailed("output \(name) missing")
            }
            let ptr = array.dataPointer.bindMemory(to: Float.self, capacity: array.count)
            return Array(UnsafeBufferPointer(start: ptr, count: array.count))
        }
        return RawOutputs(vertices: try floats(ModelIO.vertices), visibility: try floats(ModelIO.visibility),
                          joints: try floats(ModelIO.joints))
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
