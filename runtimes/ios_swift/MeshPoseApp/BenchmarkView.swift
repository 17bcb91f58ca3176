import CoreImage
import CoreML
import MeshPoseKit
import SwiftUI
import UIKit

/// Benchmark mode (launch arguments `-benchmark N -warmup W [-device NAME]`): N timed predictions on the bundled
/// image; the result JSON (benchmarks/schema/result.schema.json) goes to Documents/benchmark_result.json,
/// which `xcrun devicectl device copy from` fetches.
struct BenchmarkView: View {
    let runs: Int
    let warmup: Int
    let deviceName: String?
    @State private var status = "running…"

    var body: some View {
        Text(status).padding().task {
            // Plain values into the detached task: the predictions run off the main actor.
            let (runs, warmup, deviceName) = (runs, warmup, deviceName)
            status = await Task.detached { runBenchmark(runs: runs, warmup: warmup, deviceName: deviceName) }.value
        }
    }
}

/// Runs the benchmark and writes Documents/benchmark_result.json: the measured result, or on any
/// failure a `complete: false` result with the reason, never a stale file from an earlier run.
func runBenchmark(runs: Int, warmup: Int, deviceName: String?) -> String {
    let url = FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0]
        .appendingPathComponent("benchmark_result.json")
    try? FileManager.default.removeItem(at: url)
    var contract: ModelContract?
    do {
        let runner = try ModelRunner(computeUnits: .cpuAndNeuralEngine)
        contract = runner.contract
        let (rec, p50) = try measure(runner, runs: runs, warmup: warmup)
        let data = try BenchmarkResult.json(benchmarkContext(runner.contract, deviceName), rec, timestampUTC: utcNow(),
                                            notes: "computeUnits=cpuAndNeuralEngine")
        try data.write(to: url)
        return "benchmark written to \(url.lastPathComponent): p50 \(p50) ms"
    } catch {
        NSLog("MeshPose benchmark failed: %@", "\(error)")
        do {
            let data = try BenchmarkResult.failureJSON(benchmarkContext(contract, deviceName), warmupRuns: warmup,
                                                       timedRuns: runs, timestampUTC: utcNow(), reason: "\(error)")
            try data.write(to: url)
        } catch let writeError {
            NSLog("MeshPose benchmark: cannot write the failure result: %@", "\(writeError)")
        }
        return "benchmark failed: \(error)"
    }
}

/// Warm-up and timed predictions on the bundled image through the same crop path as the camera.
private func measure(_ runner: ModelRunner, runs: Int, warmup: Int) throws -> (BenchmarkRecorder, Double) {
    let c = runner.contract
    let renderer = try CropRenderer(width: c.inputWidth, height: c.inputHeight, pad: c.crop.padRGB)
    guard let image = UIImage(named: "golden_input")?.cgImage else { throw AppError.missingModel("golden_input.png") }
    let frame = try CropRenderer.makeIOSurfaceBuffer(width: image.width, height: image.height)
    CIContext().render(CIImage(cgImage: image), to: frame)
    let crop = Crop(x0: 0, y0: 0, scale: Double(image.width) / Double(c.inputWidth))
    let input = try renderer.render(frame, crop: crop)
    let rec = BenchmarkRecorder(warmupRuns: warmup, timedRuns: runs)
    rec.loadMs = runner.loadMs
    let t0 = CFAbsoluteTimeGetCurrent()
    repeat {
        let start = CFAbsoluteTimeGetCurrent()
        _ = try runner.run(input)
        let end = CFAbsoluteTimeGetCurrent()
        if !rec.record(latencyMs: (end - start) * 1000, completedAt: end - t0) { break }
    } while true
    return (rec, rec.stats()?.p50 ?? 0)
}

/// This device and the model (when it loaded) for the result JSON.
private func benchmarkContext(_ contract: ModelContract?, _ deviceName: String?) -> BenchmarkContext {
    var info = utsname()
    uname(&info)
    let machine = withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    // ProcessInfo rather than UIDevice: this runs off the main actor.
    let v = ProcessInfo.processInfo.operatingSystemVersion
    return BenchmarkContext(deviceName: deviceName ?? machine, model: machine,
                            os: "iOS \(v.majorVersion).\(v.minorVersion).\(v.patchVersion)", soc: nil,
                            accelerator: "ane", precision: "fp16", runtimeVersion: nil,
                            artifactFile: "\(ModelRunner.modelName).mlpackage", variant: contract?.variant,
                            contractVersion: contract?.contractVersion)
}

private func utcNow() -> String { ISO8601DateFormatter().string(from: Date()) }
