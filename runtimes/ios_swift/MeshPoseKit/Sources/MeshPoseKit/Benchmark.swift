import Foundation

/// Latency statistics (percentiles by linear interpolation, as numpy's default).
public struct LatencyStats: Equatable, Sendable {
    public let p50: Double, p90: Double, p99: Double, mean: Double, min: Double, max: Double, std: Double

    public static func of(_ samplesMs: [Double]) -> LatencyStats? {
        guard !samplesMs.isEmpty else { return nil }
        let s = samplesMs.sorted()
        let mean = s.reduce(0, +) / Double(s.count)
        let std = (s.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(s.count)).squareRoot()
        return LatencyStats(p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean: mean,
                            min: s.first!, max: s.last!, std: std)
    }

    public static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        let pos = Double(sorted.count - 1) * q / 100
        let lo = Int(pos.rounded(.down)), hi = Swift.min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
    }
}

/// Collects a benchmark run: first inference apart, warm-up discarded, then timed runs.
public final class BenchmarkRecorder {
    public let warmupRuns: Int, timedRuns: Int
    public var loadMs: Double?
    public private(set) var firstInferenceMs: Double?
    private var timed: [Double] = []
    private var stamps: [Double] = []
    private var seen = 0

    public init(warmupRuns: Int, timedRuns: Int) { self.warmupRuns = warmupRuns; self.timedRuns = timedRuns }

    /// Records one inference; returns false once all timed runs are in.
    @discardableResult
    public func record(latencyMs: Double, completedAt t: Double) -> Bool {
        if seen == 0 { firstInferenceMs = latencyMs } else if seen >= warmupRuns { timed.append(latencyMs); stamps.append(t) }
        seen += 1
        return timed.count < timedRuns
    }

    public var done: Bool { timed.count >= timedRuns }
    public func stats() -> LatencyStats? { LatencyStats.of(timed) }

    /// Wall-clock seconds between the first and the last timed inference.
    public var sustainedSeconds: Double {
        guard stamps.count > 1 else { return 0 }
        return stamps.last! - stamps.first!
    }

    /// FPS over the timed runs' wall clock (sustained throughput); 0 with fewer than two runs.
    public func sustainedFps() -> Double {
        let span = sustainedSeconds
        return span > 0 ? Double(stamps.count - 1) / span : 0
    }

    /// [[t, fps], ...] over windows of `window` seconds: the throttling trend.
    public func trend(window: Double = 5) -> [[Double]] {
        guard stamps.count > 1 else { return [] }
        let t0 = stamps[0], end = stamps.last! - t0
        var out: [[Double]] = []
        var lo = 0.0
        while lo < end {
            let n = stamps.filter { $0 - t0 >= lo && $0 - t0 < lo + window }.count
            let span = Swift.min(window, end - lo)
            if n > 0, span > 0 { out.append([lo + span / 2, Double(n) / span]) }
            lo += window
        }
        return out
    }
}

/// Device and runtime description for a benchmark result.
public struct BenchmarkContext: Sendable {
    public var deviceName: String, model: String?, os: String?, soc: String?
    public var accelerator: String, precision: String, runtimeVersion: String?
    public var artifactFile: String, variant: String?, contractVersion: Int?
    public init(deviceName: String, model: String?, os: String?, soc: String?, accelerator: String, precision: String,
                runtimeVersion: String?, artifactFile: String, variant: String?, contractVersion: Int?) {
        self.deviceName = deviceName; self.model = model; self.os = os; self.soc = soc; self.accelerator = accelerator
        self.precision = precision; self.runtimeVersion = runtimeVersion; self.artifactFile = artifactFile
        self.variant = variant; self.contractVersion = contractVersion
    }
}

public enum BenchmarkResult {
    /// The result JSON of benchmarks/schema/result.schema.json (the Python harness reads it).
    public static func json(_ ctx: BenchmarkContext, _ rec: BenchmarkRecorder, timestampUTC: String,
                            notes: String = "") throws -> Data {
        guard let s = rec.stats() else { throw BenchmarkError.noTimedRuns }
        var result = base(ctx, warmupRuns: rec.warmupRuns, timedRuns: rec.timedRuns, timestampUTC: timestampUTC,
                          notes: notes)
        result["timings_ms"] = ["load": rec.loadMs ?? null, "first_inference": rec.firstInferenceMs ?? null,
                                "p50": s.p50, "p90": s.p90, "p99": s.p99, "mean": s.mean, "min": s.min, "max": s.max,
                                "std": s.std]
        result["fps"] = 1000 / s.p50
        result["sustained"] = ["seconds": rec.sustainedSeconds, "fps": rec.sustainedFps(), "trend": rec.trend()]
        result["complete"] = rec.done
        return try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    }

    /// A schema-valid result for a run that could not be measured (`complete: false`, null timings,
    /// the reason in `notes`), so the harness reports the failure instead of reading a stale file.
    public static func failureJSON(_ ctx: BenchmarkContext, warmupRuns: Int, timedRuns: Int, timestampUTC: String,
                                   reason: String) throws -> Data {
        var result = base(ctx, warmupRuns: warmupRuns, timedRuns: timedRuns, timestampUTC: timestampUTC,
                          notes: "failed: \(reason)")
        result["timings_ms"] = Dictionary(uniqueKeysWithValues: ["load", "first_inference", "p50", "p90", "p99", "mean",
                                                                 "min", "max", "std"].map { ($0, null) })
        return try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    }

    private static let null: Any = NSNull()

    /// Fields shared by measured and failed runs; timings, fps and sustained start out null.
    private static func base(_ ctx: BenchmarkContext, warmupRuns: Int, timedRuns: Int, timestampUTC: String,
                             notes: String) -> [String: Any] {
        let n = null
        return [
            "schema_version": 1,
            "device": ["name": ctx.deviceName, "platform": "ios", "model": ctx.model ?? n, "os": ctx.os ?? n,
                       "soc": ctx.soc ?? n],
            "runtime": ["name": "coreml", "version": ctx.runtimeVersion ?? n, "accelerator": ctx.accelerator,
                        "precision": ctx.precision, "threads": n, "functional_only": false],
            "artifact": ["file": ctx.artifactFile, "sha256": n, "variant": ctx.variant ?? n,
                         "contract_version": ctx.contractVersion ?? n],
            "method": ["warmup_runs": max(warmupRuns, 0), "timed_runs": max(timedRuns, 0), "batch": 1,
                       "sustained_seconds": n, "cooldown_seconds": n],
            "timings_ms": n, "fps": n, "sustained": n,
            "end_to_end_ms": n, "memory": n, "delegation": n,
            "complete": false, "notes": notes, "tool": "meshpose-ios-app", "timestamp_utc": timestampUTC,
        ]
    }
}

public enum BenchmarkError: Error { case noTimedRuns }
