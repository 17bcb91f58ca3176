import SwiftUI

/// Entry point. Launch arguments `-benchmark N -warmup W [-device NAME]` start the benchmark mode
/// instead of the camera (see runtimes/ios_swift/README.md and benchmarks/runners/ios.py).
@main
struct MeshPoseApp: App {
    var body: some Scene {
        WindowGroup {
            if let problem = LaunchOptions.problem {
                Text(problem).foregroundStyle(.red).padding()
                    .onAppear { NSLog("MeshPose: %@", problem) }
            } else if let runs = LaunchOptions.benchmarkRuns {
                BenchmarkView(runs: runs, warmup: LaunchOptions.warmupRuns, deviceName: LaunchOptions.deviceName)
            } else {
                ContentView()
            }
        }
    }
}

enum LaunchOptions {
    static var benchmarkRuns: Int? { value(after: "-benchmark").flatMap(Int.init) }
    static var warmupRuns: Int { value(after: "-warmup").flatMap(Int.init) ?? 10 }
    /// The benchmark registry's name for this phone (benchmarks/devices); defaults to the hardware id.
    static var deviceName: String? { value(after: "-device") }

    /// A malformed benchmark argument, shown on screen instead of silently starting the camera.
    static var problem: String? {
        let args = ProcessInfo.processInfo.arguments
        if args.contains("-benchmark"), (benchmarkRuns ?? 0) < 1 {
            return "-benchmark needs a positive number of timed runs, got \(value(after: "-benchmark") ?? "nothing")"
        }
        if args.contains("-warmup"), (value(after: "-warmup").flatMap(Int.init) ?? -1) < 0 {
            return "-warmup needs a number ≥ 0, got \(value(after: "-warmup") ?? "nothing")"
        }
        return nil
    }

    private static func value(after flag: String) -> String? {
        let args = ProcessInfo.processInfo.arguments
        guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
        return args[i + 1]
    }
}
