import CoreML
import MeshPoseKit
import SwiftUI
import UIKit

/// Benchmark mode (launch arguments `-benchmark N -warmup W`): N timed predictions on the bundled
/// image; the result JSON (benchmarks/schema/result.schema.json) goes to Documents/benchmark_result.json,
/// which `xcrun devicectl device copy from` fetches.
struct BenchmarkView: View {
    let runs: Int
    let warmup: Int
    @State private var status = "running…"

    var body: some View {
        Text(status).padding().task { status = await Task.detached { runBenchmark(runs: runs, warmup: warmup) }.value }
    }
}

func runBenchmark(runs: Int, warmup: Int) -> String {
    do {
        let runner = try ModelRunner(computeUnits: .cpuAndNeuralEngine)
        let processor = FrameProcessor(runner: runner)
        guard let image = UIImage(named: "golden_input")?.cgImage else { throw AppError.missingModel("golden_input.png") }
        var pb: CVPixelBuffer?
        CVPixelBufferCreate(nil, image.width, image.height, kCVPixelFormatType_32BGRA, nil, &pb)
        guard let frame = pb else { throw AppError.inferenceFailed("cannot allocate a frame") }
        CIContext().render(CIImage(cgImage: image), to: frame)
        let c = runner.contract
        let crop = Crop(x0: 0, y0: 0, scale: Double(image.width) / Double(c.inputWidth))
        let input = try processor.cropToInput(frame, crop: crop)
        let rec = BenchmarkRecorder(warmupRuns: warmup, timedRuns: runs)
        rec.loadMs = runner.loadMs
        let t0 = CFAbsoluteTimeGetCurrent()
        repeat {
            let start = CFAbsoluteTimeGetCurrent()
            _ = try runner.run(input)
            let end = CFAbsoluteTimeGetCurrent()
            if !rec.record(latencyMs: (end - start) * 1000, completedAt: end - t0) { break }
        } while true
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let ctx = BenchmarkContext(deviceName: machine, model: machine, os: "iOS \(UIDevice.current.systemVersion)",
                                   soc: nil, accelerator: "ane", precision: "fp16", runtimeVersion: nil,
                                   artifactFile: "\(ModelRunner.modelName).mlpackage", variant: c.variant,
                                   contractVersion: c.contractVersion)
        let stamp = ISO8601DateFormatter().string(from: Date())
        let data = try BenchmarkResult.json(ctx, rec, timestampUTC: stamp, notes: "computeUnits=cpuAndNeuralEngine")
        let url = FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("benchmark_result.json")
        try data.write(to: url)
        return "benchmark written to \(url.lastPathComponent): p50 \(rec.stats()?.p50 ?? 0) ms"
    } catch {
        NSLog("MeshPose benchmark failed: %@", "\(error)")
        return "benchmark failed: \(error)"
    }
}
