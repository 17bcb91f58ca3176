package com.meshpose.sample

import android.content.Context
import android.content.Intent
import android.graphics.BitmapFactory
import android.os.Build
import android.os.SystemClock
import android.util.Log
import com.meshpose.core.BenchmarkContext
import com.meshpose.core.BenchmarkRecorder
import com.meshpose.core.BenchmarkResult
import com.meshpose.core.Crop
import com.meshpose.core.Decoder
import com.meshpose.core.InputSampler
import java.io.File
import java.time.Instant
import java.time.temporal.ChronoUnit

/**
 * Benchmark mode, started by
 * `adb shell am start -n com.meshpose.sample/.MainActivity --ei benchmark_runs N --ei warmup_runs W
 * [--ei sustained_seconds S] [--es model meshpose_xs_fp16.tflite]` (or a deployment's name, e.g.
 * `meshpose_xs_gpu_two_part`): one first inference, W warm-up
 * runs, N timed runs (and S seconds of sustained running) on the bundled golden input, timed both
 * model-only and end to end (sampling + model + decoding). The result JSON
 * (benchmarks/schema/result.schema.json) goes to
 * /sdcard/Android/data/com.meshpose.sample/files/benchmark_result.json for `adb pull`; a failed run
 * writes the same file with complete = false and the reason in notes.
 */
object BenchmarkMode {
    const val EXTRA_RUNS = "benchmark_runs"
    const val EXTRA_WARMUP = "warmup_runs"
    const val EXTRA_SUSTAINED = "sustained_seconds"
    const val EXTRA_MODEL = "model"
    const val RESULT_FILE = "benchmark_result.json"
    const val IMAGE_ASSET = "golden_input.png"
    private const val TAG = "MeshPose"
    private const val DEFAULT_WARMUP = 10

    /** The benchmark settings an intent asks for, or null for the live camera mode. */
    data class Request(val runs: Int, val warmup: Int, val sustainedSeconds: Int) {
        companion object {
            fun from(intent: Intent): Request? {
                val runs = intent.getIntExtra(EXTRA_RUNS, 0)
                if (runs <= 0) return null
                return Request(runs, intent.getIntExtra(EXTRA_WARMUP, DEFAULT_WARMUP).coerceAtLeast(0),
                    intent.getIntExtra(EXTRA_SUSTAINED, 0).coerceAtLeast(0))
            }
        }
    }

    /** Runs the benchmark and writes the result; returns the file. */
    fun run(context: Context, runner: ModelRunner, req: Request): File {
        val c = runner.contract
        val bitmap = context.assets.open(IMAGE_ASSET).use { BitmapFactory.decodeStream(it) }
            ?: throw IllegalStateException("cannot decode assets/$IMAGE_ASSET")
        val rgba = rgbaOf(bitmap)
        val sampler = InputSampler(c.inputWidth, c.inputHeight, c.nhwc, c.crop.padRgb)
        // The golden image is a model-input-sized person crop: map it onto the input whole.
        val crop = Crop(0.0, 0.0, bitmap.width.toDouble() / c.inputWidth)
        val rec = BenchmarkRecorder(req.warmup, req.runs, req.sustainedSeconds.toDouble())
        rec.loadMs = runner.loadMs
        do {
            val start = SystemClock.elapsedRealtimeNanos()
            val input = sampler.sample(rgba, bitmap.width, bitmap.height, bitmap.width * 4, crop)
            val t0 = SystemClock.elapsedRealtimeNanos()
            val out = runner.run(input)
            val t1 = SystemClock.elapsedRealtimeNanos()
            Decoder.decode(out.vertices, out.visibility, out.joints, crop, c.inputWidth, c.inputHeight, c.visibilityThreshold,
                origin = c.originPx)
            val end = SystemClock.elapsedRealtimeNanos()
        } while (rec.record((t1 - t0) / 1e6, (end - start) / 1e6, end / 1e9))
        val notes = buildString {
            append(runner.fallback?.let { "ran on the CPU: ${it.userMessage}" } ?: "LiteRT GPU accelerator")
            append("; input ${runner.description}; golden input image")
            if (c.parts.isNotEmpty()) append("; ${BenchmarkResult.deploymentNote(c.parts, onGpu = runner.accelerator == "GPU")}")
            if (!c.trained) append("; UNTRAINED checkpoint")
        }
        val json = BenchmarkResult.toJson(context(runner), rec, now(), notes)
        Log.i(TAG, "benchmark: ${rec.stats()}")
        return write(context, json)
    }

    /** Writes a complete = false result saying why, so `make bench MODE=app` reports the cause. */
    fun writeFailure(context: Context, modelName: String, req: Request, reason: String): File {
        val ctx = deviceContext(accelerator = "gpu", precision = "fp16", artifact = modelName, sha256 = null, variant = null,
            contractVersion = null)
        return write(context, BenchmarkResult.failureJson(ctx, req.warmup, req.runs, now(), reason))
    }

    private fun context(runner: ModelRunner): BenchmarkContext {
        val c = runner.contract
        val sha = try {
            runner.artifactSha256()
        } catch (e: Exception) {
            Log.w(TAG, "cannot hash the model", e); null
        }
        // A deployment is named, and hashed, as a whole; its precision is the heads' and the notes name each part's.
        val precision = BenchmarkResult.precisionOf(runner.accelerator, c.precision, BenchmarkResult.gpuPrecisionOf(c))
        return deviceContext(runner.accelerator.lowercase(), precision, runner.modelName, sha, c.variant, c.contractVersion)
    }

    private fun deviceContext(
        accelerator: String, precision: String, artifact: String, sha256: String?, variant: String?, contractVersion: Int?,
    ) = BenchmarkContext(
        deviceName = Build.DEVICE, platform = "android", model = "${Build.MANUFACTURER} ${Build.MODEL}",
        os = "Android ${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})",
        soc = if (Build.VERSION.SDK_INT >= 31) Build.SOC_MODEL else null,
        runtime = "litert", runtimeVersion = LITERT_VERSION, accelerator = accelerator, precision = precision,
        artifactFile = artifact, artifactSha256 = sha256, variant = variant, contractVersion = contractVersion,
    )

    /** Written whole, then renamed: the harness polls for the file and must never pull half of it. */
    private fun write(context: Context, json: String): File {
        val dir = context.getExternalFilesDir(null) ?: context.filesDir
        val tmp = File(dir, "$RESULT_FILE.tmp")
        val out = File(dir, RESULT_FILE)
        tmp.writeText(json)
        if (!tmp.renameTo(out)) throw IllegalStateException("cannot move $tmp to $out")
        Log.i(TAG, "benchmark result written to $out")
        return out
    }

    private fun rgbaOf(bitmap: android.graphics.Bitmap): ByteArray {
        val pixels = IntArray(bitmap.width * bitmap.height)
        bitmap.getPixels(pixels, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
        val rgba = ByteArray(pixels.size * 4)
        for (i in pixels.indices) {
            val p = pixels[i] // ARGB_8888
            rgba[4 * i] = (p shr 16).toByte(); rgba[4 * i + 1] = (p shr 8).toByte(); rgba[4 * i + 2] = p.toByte()
            rgba[4 * i + 3] = (p ushr 24).toByte()
        }
        return rgba
    }

    private fun now(): String = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()

    /** Must equal the litert version in gradle/libs.versions.toml (core's tests check it). */
    const val LITERT_VERSION = "2.3.0"
}
