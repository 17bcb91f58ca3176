import Foundation

/// The person detector's contract JSON (export/detector/contract.py, written next to the exported model by
/// `make export-detector`), reduced to what the app checks before feeding the model: its kind and version, the
/// 224 x 224 input, and two outputs with one row per anchor of `PersonDetector.generateAnchors()`.
public struct DetectorContract: Equatable, Sendable {
    public static let supportedVersions: Set<Int> = [1]
    public static let kind = "person_detector"

    public let contractVersion: Int
    public let inputName: String
    /// Output names: regressors [1, N, 12] and score logits [1, N, 1].
    public let regressorsName: String, scoresName: String
    public let numAnchors: Int

    /// Parses and checks a detector contract; throws `ContractError` with a message for the user.
    public static func parse(_ data: Data, anchorCount: Int = PersonDetector.generateAnchors().count) throws -> DetectorContract {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch { throw ContractError.invalidJSON("\(error)") }
        guard let root = any as? [String: Any] else { throw ContractError.invalidJSON("not an object") }
        guard let version = (root["contract_version"] as? NSNumber)?.intValue else {
            throw ContractError.missingField("contract_version")
        }
        guard supportedVersions.contains(version) else { throw ContractError.unsupportedVersion(version) }
        guard root["kind"] as? String == kind else {
            throw ContractError.mismatch("kind is \(root["kind"] ?? "missing"), not \(kind): this is not the person detector's contract")
        }
        guard let input = root["input"] as? [String: Any], let inputName = input["name"] as? String else {
            throw ContractError.missingField("input.name")
        }
        let size = PersonDetector.inputSize
        guard (input["width"] as? NSNumber)?.intValue == size, (input["height"] as? NSNumber)?.intValue == size else {
            throw ContractError.mismatch("detector input \(input["width"] ?? "?")x\(input["height"] ?? "?"), not \(size)x\(size)")
        }
        guard let outputs = root["outputs"] as? [[String: Any]], outputs.count == 2,
              let regressors = outputs[0]["name"] as? String, let scores = outputs[1]["name"] as? String else {
            throw ContractError.missingField("outputs (regressors and scores)")
        }
        let shapes = outputs.map { ($0["shape"] as? [NSNumber])?.map(\.intValue) ?? [] }
        guard shapes[0] == [1, anchorCount, PersonDetector.numCoords], shapes[1] == [1, anchorCount, 1] else {
            throw ContractError.mismatch("detector output shapes \(shapes), expected [1, \(anchorCount), "
                                         + "\(PersonDetector.numCoords)] and [1, \(anchorCount), 1]")
        }
        return DetectorContract(contractVersion: version, inputName: inputName, regressorsName: regressors,
                                scoresName: scores, numAnchors: anchorCount)
    }
}
