import Foundation

/// Tensor names and contract versions the app is written against; tests check them against the export.
public enum ModelIO {
    public static let input = "image"
    public static let vertices = "vertices"
    public static let visibility = "visibility"
    public static let joints = "joints"
    public static let outputs = [vertices, visibility, joints]
    /// Contract versions this app can read (2: optional joints and faces, crop convention, licence; 3: vertices and
    /// joints about the crop centre, with the origin_px to add).
    public static let supportedContractVersions: Set<Int> = [1, 2, 3]
    /// The origin of outputs before contract version 3: crop pixels from the top-left corner already.
    public static let cornerOrigin: [Double] = [0, 0, 0]
}

/// How a person box becomes the model input (contract v2 `crop`; v1 artifacts used these defaults).
public struct CropConvention: Equatable, Sendable {
    public let boxScale: Double
    public let padRGB: [Double]
    public init(boxScale: Double = Geometry.defaultExpand, padRGB: [Double] = [0, 0, 0]) {
        self.boxScale = boxScale
        self.padRGB = padRGB
    }
}

public struct OutputSpec: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let units: String
    /// Added to vertices and joints for crop pixels from the top-left corner (contract v3); nil before v3.
    public var originPx: [Double]? = nil
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
    /// Low-poly triangles; empty when the template has none (the authors' release): draw points.
    public let faces: [[Int]]
    /// Joint names; empty when the model has no joints output.
    public let jointNames: [String]
    public let visibilityThreshold: Double
    public let crop: CropConvention
    /// False for weights whose licence forbids commercial use (the authors' release); nil in v1 contracts.
    public let commercialUse: Bool?

    public var numVertices: Int { outputs[0].shape[1] }
    public var hasJoints: Bool { outputs.count == 3 }
    /// What decoding adds to raw (x, y, z) before the crop maps them to the frame: (W/2, H/2, 0) for graphs that emit
    /// coordinates about the crop centre (v3, finer in fp16), zero before v3.
    public var originPx: [Double] { outputs[0].originPx ?? ModelIO.cornerOrigin }

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
            var origin: [Double]? = nil
            if let raw = o["origin_px"] {
                guard let list = raw as? [NSNumber], list.count == 3, list.allSatisfy({ $0.doubleValue.isFinite }) else {
                    throw ContractError.mismatch("origin_px \(raw) is not 3 numbers")
                }
                origin = list.map(\.doubleValue)
            }
            return OutputSpec(name: try str(o, "name"), shape: try arr(o, "shape").compactMap { ($0 as? NSNumber)?.intValue },
                              units: try str(o, "units"), originPx: origin)
        }
        let names = outputs.map(\.name)
        guard (2...3).contains(names.count), names == Array(ModelIO.outputs.prefix(names.count)) else {
            throw ContractError.mismatch("outputs \(names) differ from \(ModelIO.outputs) (joints optional)")
        }
        if version == 1 && names.count != 3 {
            throw ContractError.mismatch("a version 1 contract must name the joints output")
        }
        if version >= 3 && outputs[0].originPx == nil {
            throw ContractError.mismatch("a version \(version) contract's vertices must carry origin_px")
        }
        if names.count == 3 && outputs[2].originPx != outputs[0].originPx {
            throw ContractError.mismatch("joints origin_px differs from the vertices'")
        }
        let inputName = try str(input, "name")
        guard inputName == ModelIO.input else { throw ContractError.mismatch("input '\(inputName)' is not '\(ModelIO.input)'") }
        let faces: [[Int]] = try arr(try obj(root, "mesh"), "faces").map { f in
            guard let f = f as? [NSNumber], f.count == 3 else { throw ContractError.missingField("mesh.faces[]") }
            return f.map(\.intValue)
        }
        var jointNames: [String] = []
        if names.count == 3 {
            jointNames = try arr(try obj(root, "joints"), "names").compactMap { $0 as? String }
            guard outputs[2].shape == [1, jointNames.count, 3] else {
                throw ContractError.mismatch("joints output \(outputs[2].shape) does not hold \(jointNames.count) joints")
            }
        }
        var crop = CropConvention()
        if let c = root["crop"] as? [String: Any] {
            let pad = try arr(c, "pad_rgb").compactMap { ($0 as? NSNumber)?.doubleValue }
            crop = CropConvention(boxScale: try num(c, "box_scale"), padRGB: pad)
            guard crop.boxScale > 0, pad.count == 3, pad.allSatisfy({ (0...255).contains($0) }) else {
                throw ContractError.mismatch("crop convention \(crop) is not a positive box scale and an RGB pad colour")
            }
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
            jointNames: jointNames,
            visibilityThreshold: try num(root, "visibility_threshold"),
            crop: crop,
            commercialUse: (root["license"] as? [String: Any])?["commercial_use"] as? Bool
        )
    }
}
