import Foundation

/// Tensor names and contract versions the app is written against; tests check them against the export.
public enum ModelIO {
    public static let input = "image"
    public static let vertices = "vertices"
    public static let visibility = "visibility"
    public static let joints = "joints"
    public static let outputs = [vertices, visibility, joints]
    /// Contract versions this app can read.
    public static let supportedContractVersions: Set<Int> = [1]
}

public struct OutputSpec: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let units: String
}

public enum ContractError: Error, CustomStringConvertible, Equatable {
    case invalidJSON(String)
    case unsupportedVersion(Int)
    case missingField(String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .invalidJSON(let why): return "the model contract is not valid JSON: \(why)"
        case .unsupportedVersion(let v):
            let known = ModelIO.supportedContractVersions.sorted().map(String.init).joined(separator: ", ")
            return "model contract version \(v) is not supported by this app (it reads \(known)); update the app or re-export"
        case .missingField(let f): return "the model contract is incomplete: missing \(f)"
        case .mismatch(let why): return "the model contract does not match the app: \(why)"
        }
    }
}

/// The contract JSON written next to every exported artifact (docs/CONTRACTS.md §2).
public struct ModelContract: Sendable {
    public let contractVersion: Int
    public let variant: String
    public let artifact: String
    public let trained: Bool
    public let inputName: String
    public let inputShape: [Int]
    public let layout: String
    public let inputWidth: Int
    public let inputHeight: Int
    public let normalizationBakedIn: Bool
    public let outputs: [OutputSpec]
    public let faces: [[Int]]
    public let jointNames: [String]
    public let visibilityThreshold: Double

    public var numVertices: Int { outputs[0].shape[1] }

    /// Parses and checks a contract; throws `ContractError` with a message for the user.
    public static func parse(_ data: Data) throws -> ModelContract {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch { throw ContractError.invalidJSON("\(error)") }
        guard let root = any as? [String: Any] else { throw ContractError.invalidJSON("not an object") }
        guard let version = (root["contract_version"] as? NSNumber)?.intValue else {
            throw ContractError.missingField("contract_version")
        }
        guard ModelIO.supportedContractVersions.contains(version) else { throw ContractError.unsupportedVersion(version) }
        func obj(_ d: [String: Any], _ k: String) throws -> [String: Any] {
            guard let v = d[k] as? [String: Any] else { throw ContractError.missingField(k) }
            return v
        }
        func arr(_ d: [String: Any], _ k: String) throws -> [Any] {
            guard let v = d[k] as? [Any] else { throw ContractError.missingField(k) }
            return v
        }
        func str(_ d: [String: Any], _ k: String) throws -> String {
            guard let v = d[k] as? String else { throw ContractError.missingField(k) }
            return v
        }
        func num(_ d: [String: Any], _ k: String) throws -> Double {
            guard let v = d[k] as? NSNumber else { throw ContractError.missingField(k) }
            return v.doubleValue
        }
        let input = try obj(root, "input")
        let outputs: [OutputSpec] = try arr(root, "outputs").map { o in
            guard let o = o as? [String: Any] else { throw ContractError.missingField("outputs[]") }
            return OutputSpec(name: try str(o, "name"), shape: try arr(o, "shape").compactMap { ($0 as? NSNumber)?.intValue },
                              units: try str(o, "units"))
        }
        guard outputs.map(\.name) == ModelIO.outputs else {
            throw ContractError.mismatch("outputs \(outputs.map(\.name)) differ from \(ModelIO.outputs)")
        }
        let inputName = try str(input, "name")
        guard inputName == ModelIO.input else { throw ContractError.mismatch("input '\(inputName)' is not '\(ModelIO.input)'") }
        let faces: [[Int]] = try arr(try obj(root, "mesh"), "faces").map { f in
            guard let f = f as? [NSNumber], f.count == 3 else { throw ContractError.missingField("mesh.faces[]") }
            return f.map(\.intValue)
        }
        return ModelContract(
            contractVersion: version,
            variant: try str(root, "variant"),
            artifact: try str(root, "artifact"),
            trained: (try obj(root, "checkpoint"))["trained"] as? Bool ?? false,
            inputName: inputName,
            inputShape: try arr(input, "shape").compactMap { ($0 as? NSNumber)?.intValue },
            layout: try str(input, "layout"),
            inputWidth: Int(try num(input, "width")),
            inputHeight: Int(try num(input, "height")),
            normalizationBakedIn: (try obj(input, "normalization"))["baked_in"] as? Bool ?? true,
            outputs: outputs,
            faces: faces,
            jointNames: try arr(try obj(root, "joints"), "names").compactMap { $0 as? String },
            visibilityThreshold: try num(root, "visibility_threshold")
        )
    }
}
