import SwiftUI

/// Entry point. Launch arguments `-benchmark N -warmup W` start the benchmark mode instead of
/// the camera (see runtimes/ios_swift/README.md and benchmarks/runners/ios.py).
@main
struct MeshPoseApp: App {
    var body: some Scene {
        WindowGroup {
            if let runs = LaunchOptions.benchmarkRuns {
                BenchmarkView(runs: runs, warmup: LaunchOptions.warmupRuns)
            } else {
                ContentView()
            }
        }
    }
}

enum LaunchOptions {
    static var benchmarkRuns: Int? { value(after: "-benchmark").flatMap(Int.init) }
    static var warmupRuns: Int { value(after: "-warmup").flatMap(Int.init) ?? 10 }

    private static func value(after flag: String) -> String? {
        let args = ProcessInfo.processInfo.arguments
        guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
        return args[i + 1]
    }
}
