package com.meshpose.sample

import android.content.Context
import android.graphics.BitmapFactory
import android.os.Build
import android.util.Log
import com.meshpose.core.BenchmarkContext
import com.meshpose.core.BenchmarkRecorder
import com.meshpose.core.BenchmarkResult
import com.meshpose.core.Crop
import java.io.File
import java.time.Instant
import java.time.temporal.ChronoUnit

/**
 * Benchmark mode, started by `adb shell am start -n com.meshpose.sample/.MainActivity
 * --ei benchmark_runs N --ei warmup_runs W`: N timed inferences on the bundled image,
 * result JSON (benchmarks/schema/result.schema.json) written to
 * /sdcard/Android/data/com.meshpose.sample/files/benchmark_result.json for `adb pull`.
 */
object BenchmarkMode {
    const val EXTRA_RUNS = "benchmark_runs"
    const val EXTRA_WARMUP = "warmup_runs"
    const val RESULT_FILE = "benchmark_result.json"
    const val IMAGE_ASSET = "golden_input.png"

    fun run(context: Context, runner: ModelRunner, runs: Int, warmup: Int): File {
        val c = runner.contract
        val nhwc = c.layout == "NHWC"
        val bitmap = context.assets.open(IMAGE_ASSET).use { BitmapFactory.decodeStream(it) }
        val rgba = ByteArray(bitmap.width * bitmap.height * 4)
        val pixels = IntArray(bitmap.width * bitmap.height)
        bitmap.getPixels(pixels, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
        for (i in pixels.indices) {
            val p = pixels[i]
            rgba[4 * i] = (p shr 16).toByte(); rgba[4 * i + 1] = (p shr 8).toByte(); rgba[4 * i + 2] = p.toByte()
            rgba[4 * i + 3] = 0xff.toByte()
        }
        val converter = FrameConverter(c.inputWidth, c.inputHeight, nhwc)
        val crop = Crop(0.0, 0.0, bitmap.width.toDouble() / c.inputWidth)
        val input = converter.convert(rgba, bitmap.width, bitmap.height, bitmap.width * 4, crop)
        val rec = BenchmarkRecorder(warmup, runs)
        rec.loadMs = runner.loadMs
        val t0 = System.nanoTime()
        do {
            val start = System.nanoTime()
            runner.run(input)
            val end = System.nanoTime()
        } while (rec.record((end - start) / 1e6, (end - t0) / 1e9))
        val ctx = BenchmarkContext(
            deviceName = Build.DEVICE, platform = "android", model = Build.MODEL,
            os = "Android ${Build.VERSION.RELEASE}", soc = if (Build.VERSION.SDK_INT >= 31) Build.SOC_MODEL else null,
            runtime = "litert", runtimeVersion = "2.3.0", accelerator = runner.accelerator.lowercase(),
            precision = if (runner.accelerator == "GPU") "fp16" else "fp32", artifactFile = c.artifact,
            artifactSha256 = null, variant = c.variant, contractVersion = c.contractVersion,
        )
        val notes = runner.fallback?.let { "ran on the CPU: ${it.userMessage}" } ?: "GPU accelerator"
        val json = BenchmarkResult.toJson(ctx, rec, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), notes)
        val out = File(context.getExternalFilesDir(null), RESULT_FILE)
        out.writeText(json)
        Log.i("MeshPose", "benchmark: ${rec.stats()} -> $out")
        return out
    }
}
