import CoreML
import Foundation

/// Where Core ML plans to run each op (MLComputePlan, iOS 17.4+): "N/M ops on the Neural Engine".
enum ComputePlanReport {
    /// Call it through `detached(for:)`: MLComputePlan.load reads and plans the whole model.
    static func detached(for runner: ModelRunner) async -> String {
        await Task.detached(priority: .utility) { await summary(for: runner) }.value
    }

    static func summary(for runner: ModelRunner) async -> String {
        guard #available(iOS 17.4, *) else { return "compute plan: needs iOS 17.4" }
        guard let url = Bundle.main.url(forResource: ModelRunner.modelName, withExtension: "mlmodelc") else {
            return "compute plan: model not bundled"
        }
        let config = MLModelConfiguration()
        config.computeUnits = runner.computeUnits
        do {
            let plan = try await MLComputePlan.load(contentsOf: url, configuration: config)
            guard case let .program(program) = plan.modelStructure,
                  let main = program.functions["main"] else { return "compute plan: not an ML program" }
            var onANE = 0, total = 0
            for op in main.block.operations where op.operatorName != "const" {
                guard let usage = plan.deviceUsage(for: op) else { continue }
                total += 1
                if case .neuralEngine = usage.preferred { onANE += 1 }
            }
            return "compute plan: \(onANE)/\(total) ops prefer the Neural Engine"
        } catch {
            return "compute plan unavailable: \(error.localizedDescription)"
        }
    }
}
