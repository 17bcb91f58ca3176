import XCTest
@testable import MeshPoseKit

final class LogicTests: XCTestCase {
    func testOneEuroKeepsConstantSignalAndDampsJitter() throws {
        let f = try OneEuroFilter(minCutoff: 1, beta: 0)
        for i in 0..<30 { XCTAssertEqual(f.filter([5], t: Double(i) / 30)[0], 5, accuracy: 1e-12) }
        f.reset()
        var rng = SystemRandomNumberGenerator()
        var rawVar = 0.0, outVar = 0.0
        for i in 0..<300 {
            let x = 100 + Double.random(in: -1...1, using: &rng)
            let y = f.filter([x], t: Double(i) / 30)[0]
            if i > 30 { rawVar += (x - 100) * (x - 100); outVar += (y - 100) * (y - 100) }
        }
        XCTAssertLessThan(outVar, 0.5 * rawVar)
    }

    func testOneEuroFollowsFastMotionWithBeta() throws {
        let slow = try OneEuroFilter(minCutoff: 0.5, beta: 0), fast = try OneEuroFilter(minCutoff: 0.5, beta: 1)
        var eSlow = 0.0, eFast = 0.0
        for i in 0..<60 {
            let x = 20.0 * Double(i)
            eSlow = abs(slow.filter([x], t: Double(i) / 30)[0] - x)
            eFast = abs(fast.filter([x], t: Double(i) / 30)[0] - x)
        }
        XCTAssertLessThan(eFast, eSlow)
    }

    func testPercentilesMatchNumpy() throws {
        let s = try XCTUnwrap(LatencyStats.of([1, 2, 3, 4, 100]))
        XCTAssertEqual(s.p50, 3, accuracy: 1e-12)
        XCTAssertEqual(s.p90, 61.6, accuracy: 1e-9)
        XCTAssertEqual(s.p99, 96.16, accuracy: 1e-9)
    }

    func testBenchmarkRecorderAndResultJSON() throws {
        let rec = BenchmarkRecorder(warmupRuns: 3, timedRuns: 5)
        var t = 0.0
        for l in [50.0, 9, 9, 4, 5, 6, 7, 8] { t += l / 1000; rec.record(latencyMs: l, completedAt: t) }
        XCTAssertTrue(rec.done)
        XCTAssertEqual(rec.firstInferenceMs, 50)
        XCTAssertEqual(try XCTUnwrap(rec.stats()).p50, 6, accuracy: 1e-12)
        let ctx = BenchmarkContext(deviceName: "iphone15pro", model: "iPhone16,1", os: "iOS 18.1", soc: "A17 Pro",
                                   accelerator: "ane", precision: "fp16", runtimeVersion: nil,
                                   artifactFile: "meshpose_xs.mlpackage", variant: "xs", contractVersion: 1)
        let data = try BenchmarkResult.json(ctx, rec, timestampUTC: "2026-11-24T10:00:00Z")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["schema_version", "device", "runtime", "artifact", "method", "timings_ms", "fps", "complete",
                    "notes", "tool", "timestamp_utc"] {
            XCTAssertNotNil(json[key], key)
        }
        XCTAssertEqual((json["timings_ms"] as? [String: Any])?["p50"] as? Double, 6)
        let sustained = try XCTUnwrap(json["sustained"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(sustained["seconds"] as? Double), 0.026, accuracy: 1e-12)  // 5+6+7+8 ms apart
        XCTAssertEqual(try XCTUnwrap(sustained["fps"] as? Double), 4 / 0.026, accuracy: 1e-9)
        XCTAssertThrowsError(try BenchmarkResult.json(ctx, BenchmarkRecorder(warmupRuns: 0, timedRuns: 3),
                                                      timestampUTC: "x"))
        // make test-ios checks these with the harness's schema validator (benchmarks/results.py).
        try Fixtures.writeOutput("benchmark_result_ok.json", data)
        let failed = try BenchmarkResult.failureJSON(ctx, warmupRuns: 20, timedRuns: 200,
                                                     timestampUTC: "2026-11-24T10:00:00Z",
                                                     reason: "model meshpose_xs not in the app bundle")
        let failedJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: failed) as? [String: Any])
        XCTAssertEqual(failedJSON["complete"] as? Bool, false)
        XCTAssertTrue((failedJSON["notes"] as? String ?? "").contains("not in the app bundle"))
        XCTAssertTrue((failedJSON["timings_ms"] as? [String: Any])?["p50"] is NSNull)
        try Fixtures.writeOutput("benchmark_result_failed.json", failed)
    }

    func testAppErrorsHaveMessages() {
        XCTAssertTrue(AppError.missingModel("meshpose_xs").description.contains("meshpose_xs"))
        let detector = AppError.missingDetector("blazepose_detector.mlpackage").description
        XCTAssertTrue(detector.contains("blazepose_detector.mlpackage") && detector.contains("make export-detector"))
        XCTAssertTrue(AppError.cameraPermissionDenied.description.contains("Camera access"))
        XCTAssertTrue(AppError.acceleratorUnavailable("x").recoverable)
        XCTAssertFalse(AppError.inferenceFailed("x").recoverable)
    }

    func testEveryTrackIdHasAColourThatRepeatsAfterThePalette() {
        let n = TrackPalette.colors.count
        XCTAssertEqual(TrackPalette.color(for: 1), TrackPalette.colors[0])
        XCTAssertNotEqual(TrackPalette.color(for: 1), TrackPalette.color(for: 2))
        XCTAssertEqual(TrackPalette.color(for: 2 + n), TrackPalette.color(for: 2))
        XCTAssertEqual(TrackPalette.color(for: 0), TrackPalette.colors[n - 1])
    }
}
