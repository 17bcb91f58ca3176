import Foundation

/// What the frame pipeline refuses: a configuration it cannot run with, or model outputs that do not fit.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    case badConfiguration(String)
    case badOutputs(String)

    public var description: String {
        switch self {
        case .badConfiguration(let why): return "bad pipeline configuration: \(why)"
        case .badOutputs(let why): return "the model outputs do not fit the crops: \(why)"
        }
    }
}
