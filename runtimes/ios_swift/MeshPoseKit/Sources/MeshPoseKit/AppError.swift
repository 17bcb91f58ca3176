import Foundation

/// Failures the app shows on screen (and logs) instead of crashing or showing a blank view.
public enum AppError: Error, Equatable, CustomStringConvertible {
    case missingModel(String)
    case missingDetector(String)
    case badContract(String)
    case cameraPermissionDenied
    case acceleratorUnavailable(String)
    case inferenceFailed(String)

    public var description: String {
        switch self {
        case .missingModel(let name):
            return "Model '\(name)' is missing. Export it (make export-coreml) and add the .mlpackage and its .contract.json to the app target."
        case .missingDetector(let file):
            return "The person detector '\(file)' is missing from the app bundle. Export it (make export-detector) and "
                + "copy artifacts/detector/\(file) and its .contract.json into MeshPoseApp/Resources."
        case .badContract(let why): return "The model contract cannot be used: \(why)"
        case .cameraPermissionDenied:
            return "Camera access was refused. Allow it in Settings > Privacy > Camera to see the live mesh."
        case .acceleratorUnavailable(let why): return "The Neural Engine could not be used (\(why)); running on CPU."
        case .inferenceFailed(let why): return "Inference failed: \(why)"
        }
    }

    /// True when the app keeps running (with a banner) rather than stopping.
    public var recoverable: Bool { if case .acceleratorUnavailable = self { return true }; return false }

    /// Maps a contract loading failure to the on-screen error.
    public static func fromContract(_ error: Error) -> AppError {
        .badContract((error as? ContractError)?.description ?? "\(error)")
    }
}
