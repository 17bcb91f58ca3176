package com.meshpose.core

import kotlin.math.floor
import kotlin.math.sqrt

/** Latency statistics (percentiles by linear interpolation, numpy's default). */
data class LatencyStats(
    val p50: Double, val p90: Double, val p99: Double, val mean: Double,
    val min: Double, val max: Double, val std: Double,
) {
    companion object {
        /** Statistics of [samplesMs]; population standard deviation, as numpy.std. */
        fun of(samplesMs: List<Double>): LatencyStats {
            require(samplesMs.isNotEmpty()) { "no timed runs" }
            val s = samplesMs.sorted()
            val mean = s.average()
            val std = sqrt(s.sumOf { (it - mean) * (it - mean) } / s.size)
            return LatencyStats(percentile(s, 50.0), percentile(s, 90.0), percentile(s, 99.0), mean, s.first(), s.last(), std)
        }

        /** The [q]-th percentile (0..100) of an ascending list, interpolating linearly between ranks. */
        fun percentile(sorted: List<Double>, q: Double): Double {
            require(sorted.isNotEmpty() && q in 0.0..100.0) { "percentile $q of ${sorted.size} samples" }
            val pos = (sorted.size - 1) * q / 100.0
            val lo = floor(pos).toInt()
            val hi = minOf(lo + 1, sorted.size - 1)
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
        }
    }
}

/** Sustained throughput: frames per second over a window and its trend (phones throttle). */
data class Sustained(val seconds: Double, val fps: Double, val trend: List<List<Double>>)

/**
 * Collects one benchmark: the first inference is kept apart (it includes lazy GPU work), the
 * next [warmupRuns] are discarded, then [timedRuns] are timed; an optional sustained phase
 * then keeps running for [sustainedSeconds] to measure throughput under thermal load.
 */
class BenchmarkRecorder(val warmupRuns: Int, val timedRuns: Int, val sustainedSeconds: Double = 0.0) {
    init {
        require(warmupRuns >= 0) { "warmup_runs must be >= 0, got $warmupRuns" }
        require(timedRuns >= 1) { "benchmark_runs must be >= 1, got $timedRuns" }
        require(sustainedSeconds >= 0) { "sustained_seconds must be >= 0, got $sustainedSeconds" }
    }

    /** Model loading (compilation) time, measured by the caller. */
    var loadMs: Double? = null
    var firstInferenceMs: Double? = null
        private set
    private val timed = ArrayList<Double>()
    private val endToEnd = ArrayList<Double>()
    private val timedStamps = ArrayList<Double>()
    private val sustainedStamps = ArrayList<Double>()
    private var seen = 0

    /** True once the timed runs (and the sustained phase, if any) are complete. */
    val done: Boolean
        get() = timed.size >= timedRuns && (sustainedSeconds <= 0 || sustainedSpan() >= sustainedSeconds)

    /**
     * Records one inference: [latencyMs] model time, [endToEndMs] pre-processing + model + decoding
     * (null if not measured), [completedAtSeconds] a monotonic clock. Returns true while more runs are wanted.
     */
    fun record(latencyMs: Double, endToEndMs: Double?, completedAtSeconds: Double): Boolean {
        when {
            seen == 0 -> firstInferenceMs = latencyMs
            seen <= warmupRuns -> Unit
            timed.size < timedRuns -> {
                timed.add(latencyMs)
                endToEndMs?.let { endToEnd.add(it) }
                timedStamps.add(completedAtSeconds)
                if (timed.size == timedRuns) sustainedStamps.add(completedAtSeconds) // sustained clock starts here
            }
            else -> sustainedStamps.add(completedAtSeconds)
        }
        seen++
        return !done
    }

    /** Model latency over the timed runs. */
    fun stats(): LatencyStats = LatencyStats.of(timed)

    /** End-to-end latency over the timed runs, or null when the caller measured none. */
    fun endToEndStats(): LatencyStats? = if (endToEnd.isEmpty()) null else LatencyStats.of(endToEnd)

    private fun sustainedSpan(): Double =
        if (sustainedStamps.size < 2) 0.0 else sustainedStamps.last() - sustainedStamps.first()

    /**
     * Throughput over the sustained phase when one was asked for, else over the timed runs
     * (wall clock, so it includes everything the loop does besides the model); null if under 2 runs.
     */
    fun sustained(windowS: Double = 5.0): Sustained? {
        val stamps = if (sustainedSeconds > 0) sustainedStamps else timedStamps
        if (stamps.size < 2) return null
        val span = stamps.last() - stamps.first()
        if (span <= 0) return null
        return Sustained(span, (stamps.size - 1) / span, trend(stamps, windowS))
    }

    /** [[window end t, fps in window], ...]: frames completed in each window of [windowS] seconds. */
    private fun trend(stamps: List<Double>, windowS: Double): List<List<Double>> {
        require(windowS > 0) { "trend window must be positive" }
        val t0 = stamps.first()
        val out = ArrayList<List<Double>>()
        var lo = 0.0
        val end = stamps.last() - t0
        while (lo < end) {
            val hi = minOf(lo + windowS, end)
            // Frames completed in (lo, hi]; the first stamp only starts the clock.
            val n = stamps.count { it - t0 > lo && it - t0 <= hi }
            out.add(listOf(hi, n / (hi - lo)))
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
    val threads: Int? = null,
)

object BenchmarkResult {
    const val SCHEMA_VERSION = 1
    const val TOOL = "meshpose-android-app"
    private val PRECISIONS = setOf("fp32", "fp16", "int8", "fp16-weights", "palettize8")

    /**
     * The precision a run computes in: on the LiteRT GPU accelerator, the GPU precision the app asked for (the
     * contract's `gpu_precision`), whatever the weights; on the CPU the artifact's own precision (`precision`).
     */
    fun precisionOf(accelerator: String, contractPrecision: String?, gpuPrecision: String = GpuPrecision.DEFAULT): String = when {
        accelerator.equals("gpu", ignoreCase = true) -> gpuPrecision
        contractPrecision != null && contractPrecision in PRECISIONS -> contractPrecision
        else -> "fp32"
    }

    /**
     * The GPU precision a result names for [contract]: its `gpu_precision`, or for a deployment of parts the last
     * part's (the heads'), since a result names one precision; [deploymentNote] names each part's.
     */
    fun gpuPrecisionOf(contract: ModelContract): String = contract.parts.lastOrNull()?.gpuPrecision ?: contract.gpuPrecision

    /**
     * How a result's notes name a deployment of [parts]: each part by the last word of its file name (the export's
     * `_gpu_backbone`, `_gpu_heads`) with the GPU precision it ran at when [onGpu], e.g. "backbone fp32 + heads
     * fp16-fp32acc (two-part deployment)"; on the CPU each part runs as exported, so no precision is named.
     */
    fun deploymentNote(parts: List<ModelPart>, onGpu: Boolean): String {
        val named = parts.joinToString(" + ") { part ->
            val role = part.artifact.removeSuffix(".tflite").substringAfterLast('_')
            if (onGpu) "$role ${part.gpuPrecision}" else role
        }
        val count = if (parts.size == 2) "two" else "${parts.size}"
        return "$named ($count-part deployment)"
    }

    /** The result JSON of benchmarks/schema/result.schema.json (docs/CONTRACTS.md §4) for a finished run. */
    fun toJson(ctx: BenchmarkContext, rec: BenchmarkRecorder, timestampUtc: String, notes: String = ""): String {
        val s = rec.stats()
        val e2e = rec.endToEndStats()
        val sustained = rec.sustained()
        return Json.write(
            envelope(ctx, rec.warmupRuns, rec.timedRuns, rec.sustainedSeconds, timestampUtc, notes, rec.done) + linkedMapOf(
                "timings_ms" to linkedMapOf(
                    "load" to rec.loadMs, "first_inference" to rec.firstInferenceMs,
                    "p50" to s.p50, "p90" to s.p90, "p99" to s.p99, "mean" to s.mean, "min" to s.min, "max" to s.max,
                    "std" to s.std,
                ),
                "fps" to 1000.0 / s.p50, // batch 1
                "sustained" to sustained?.let { linkedMapOf("seconds" to it.seconds, "fps" to it.fps, "trend" to it.trend) },
                "end_to_end_ms" to e2e?.let { linkedMapOf("p50" to it.p50, "p90" to it.p90, "p99" to it.p99) },
            ),
        )
    }

    /**
     * A result that says the run failed ([reason] in notes, complete = false, no timings), so the
     * harness polling for the file reports the cause instead of timing out.
     */
    fun failureJson(ctx: BenchmarkContext, warmupRuns: Int, timedRuns: Int, timestampUtc: String, reason: String): String {
        val nulls = listOf("load", "first_inference", "p50", "p90", "p99", "mean", "min", "max", "std")
        return Json.write(
            envelope(ctx, maxOf(0, warmupRuns), maxOf(0, timedRuns), 0.0, timestampUtc, "FAILED: $reason", false) + linkedMapOf(
                "timings_ms" to nulls.associateWith { null },
                "fps" to null, "sustained" to null, "end_to_end_ms" to null,
            ),
        )
    }

    private fun envelope(
        ctx: BenchmarkContext, warmup: Int, timed: Int, sustainedS: Double, timestampUtc: String, notes: String,
        complete: Boolean,
    ): LinkedHashMap<String, Any?> = linkedMapOf(
        "schema_version" to SCHEMA_VERSION,
        "device" to linkedMapOf("name" to ctx.deviceName, "platform" to ctx.platform, "model" to ctx.model,
            "os" to ctx.os, "soc" to ctx.soc),
        "runtime" to linkedMapOf("name" to ctx.runtime, "version" to ctx.runtimeVersion,
            "accelerator" to ctx.accelerator, "precision" to ctx.precision, "threads" to ctx.threads,
            "functional_only" to false),
        "artifact" to linkedMapOf("file" to ctx.artifactFile, "sha256" to ctx.artifactSha256,
            "variant" to ctx.variant, "contract_version" to ctx.contractVersion),
        "method" to linkedMapOf("warmup_runs" to warmup, "timed_runs" to timed, "batch" to 1,
            "sustained_seconds" to (if (sustainedS > 0) sustainedS else null), "cooldown_seconds" to null),
        "memory" to null,
        "delegation" to null,
        "complete" to complete,
        "notes" to notes,
        "tool" to TOOL,
        "timestamp_utc" to timestampUtc,
    )
}
