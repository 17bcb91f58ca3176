package com.meshpose.core

import kotlin.math.floor
import kotlin.math.sqrt

/** Latency statistics (percentiles by linear interpolation, as numpy's default). */
data class LatencyStats(
    val p50: Double, val p90: Double, val p99: Double, val mean: Double,
    val min: Double, val max: Double, val std: Double,
) {
    companion object {
        fun of(samplesMs: List<Double>): LatencyStats {
            require(samplesMs.isNotEmpty()) { "no timed runs" }
            val s = samplesMs.sorted()
            val mean = s.average()
            val std = sqrt(s.sumOf { (it - mean) * (it - mean) } / s.size)
            return LatencyStats(percentile(s, 50.0), percentile(s, 90.0), percentile(s, 99.0), mean, s.first(), s.last(), std)
        }

        fun percentile(sorted: List<Double>, q: Double): Double {
            val pos = (sorted.size - 1) * q / 100.0
            val lo = floor(pos).toInt()
            val hi = minOf(lo + 1, sorted.size - 1)
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
        }
    }
}

/** Collects a benchmark run: first inference apart, warm-up discarded, then timed runs. */
class BenchmarkRecorder(val warmupRuns: Int, val timedRuns: Int) {
    var loadMs: Double? = null
    var firstInferenceMs: Double? = null
        private set
    private val timed = ArrayList<Double>()
    private var seen = 0
    private val stamps = ArrayList<Double>()

    /** Records one inference; returns false once all timed runs are in. */
    fun record(latencyMs: Double, completedAtSeconds: Double): Boolean {
        if (seen == 0) firstInferenceMs = latencyMs
        else if (seen >= warmupRuns) { timed.add(latencyMs); stamps.add(completedAtSeconds) }
        seen++
        return timed.size < timedRuns
    }

    val done: Boolean get() = timed.size >= timedRuns
    fun stats(): LatencyStats = LatencyStats.of(timed)

    /** FPS over the timed runs' wall clock (sustained throughput, including app overhead). */
    fun sustainedFps(): Double {
        if (stamps.size < 2) return 0.0
        return (stamps.size - 1) / (stamps.last() - stamps.first())
    }

    /** [[t, fps], ...] over windows of [windowS] seconds: the throttling trend. */
    fun trend(windowS: Double = 5.0): List<List<Double>> {
        if (stamps.size < 2) return emptyList()
        val t0 = stamps.first()
        val out = ArrayList<List<Double>>()
        var lo = 0.0
        val end = stamps.last() - t0
        while (lo < end) {
            val n = stamps.count { it - t0 >= lo && it - t0 < lo + windowS }
            val span = minOf(windowS, end - lo)
            if (n > 0 && span > 0) out.add(listOf(lo + span / 2, n / span))
            lo += windowS
        }
        return out
    }
}

/** Device and runtime description for a benchmark result. */
data class BenchmarkContext(
    val deviceName: String, val platform: String, val model: String?, val os: String?, val soc: String?,
    val runtime: String, val runtimeVersion: String?, val accelerator: String, val precision: String,
    val artifactFile: String, val artifactSha256: String?, val variant: String?, val contractVersion: Int?,
)

object BenchmarkResult {
    /** The result JSON in benchmarks/schema/result.schema.json (the Python harness reads it). */
    fun toJson(ctx: BenchmarkContext, rec: BenchmarkRecorder, timestampUtc: String, notes: String = "",
               complete: Boolean = rec.done, endToEnd: LatencyStats? = null): String {
        val s = rec.stats()
        val result = linkedMapOf<String, Any?>(
            "schema_version" to 1,
            "device" to linkedMapOf("name" to ctx.deviceName, "platform" to ctx.platform, "model" to ctx.model,
                "os" to ctx.os, "soc" to ctx.soc),
            "runtime" to linkedMapOf("name" to ctx.runtime, "version" to ctx.runtimeVersion,
                "accelerator" to ctx.accelerator, "precision" to ctx.precision, "threads" to null,
                "functional_only" to false),
            "artifact" to linkedMapOf("file" to ctx.artifactFile, "sha256" to ctx.artifactSha256,
                "variant" to ctx.variant, "contract_version" to ctx.contractVersion),
            "method" to linkedMapOf("warmup_runs" to rec.warmupRuns, "timed_runs" to rec.timedRuns, "batch" to 1,
                "sustained_seconds" to null, "cooldown_seconds" to null),
            "timings_ms" to linkedMapOf("load" to rec.loadMs, "first_inference" to rec.firstInferenceMs,
                "p50" to s.p50, "p90" to s.p90, "p99" to s.p99, "mean" to s.mean, "min" to s.min, "max" to s.max,
                "std" to s.std),
            "fps" to 1000.0 / s.p50,
            "sustained" to linkedMapOf("seconds" to (rec.trend(1e9).firstOrNull()?.get(0)?.times(2) ?: 0.0),
                "fps" to rec.sustainedFps(), "trend" to rec.trend()),
            "end_to_end_ms" to endToEnd?.let { linkedMapOf("p50" to it.p50, "p90" to it.p90, "p99" to it.p99) },
            "memory" to null,
            "delegation" to null,
            "complete" to complete,
            "notes" to notes,
            "tool" to "meshpose-android-app",
            "timestamp_utc" to timestampUtc,
        )
        return Json.write(result)
    }
}
