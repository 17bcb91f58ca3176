package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.math.abs
import kotlin.random.Random

class LogicTest {
    @Test
    fun oneEuroKeepsAConstantSignalAndDampsJitter() {
        val f = OneEuroFilter(minCutoff = 1.0, beta = 0.0)
        for (i in 0 until 30) assertEquals(5.0, f.filter(doubleArrayOf(5.0), i / 30.0)[0], 1e-12)
        f.reset()
        val rnd = Random(0)
        var rawVar = 0.0; var outVar = 0.0
        for (i in 0 until 300) {
            val x = 100.0 + rnd.nextDouble(-1.0, 1.0)
            val y = f.filter(doubleArrayOf(x), i / 30.0)[0]
            if (i > 30) { rawVar += (x - 100) * (x - 100); outVar += (y - 100) * (y - 100) }
        }
        assertTrue("filtered variance $outVar not below raw $rawVar", outVar < 0.5 * rawVar)
    }

    @Test
    fun oneEuroFollowsFastMotionWithBeta() {
        val slow = OneEuroFilter(minCutoff = 0.5, beta = 0.0)
        val fast = OneEuroFilter(minCutoff = 0.5, beta = 1.0)
        var eSlow = 0.0; var eFast = 0.0
        for (i in 0 until 60) {
            val x = 20.0 * i // a steady 600 px/s move
            eSlow = abs(slow.filter(doubleArrayOf(x), i / 30.0)[0] - x)
            eFast = abs(fast.filter(doubleArrayOf(x), i / 30.0)[0] - x)
        }
        assertTrue(eFast < eSlow)
    }

    private fun meshWithVisible(n: Int, visible: Int, crop: Crop) = Decoder.decode(
        FloatArray(3 * n) { i -> if (i % 3 == 2) 0f else (40 + (i / 3) % 100).toFloat() },
        FloatArray(n) { if (it < visible) 0.9f else 0.1f },
        FloatArray(3), crop, 192, 256,
    )

    @Test
    fun trackerFollowsTheMeshAndAsksForDetectionWhenVisibilityCollapses() {
        val t = PersonTracker(192, 256, smoothing = 1.0)
        assertTrue(t.needsDetection)
        t.startFrom(Box(800.0, 100.0, 1100.0, 1000.0))
        val crop = t.crop!!
        assertTrue(t.update(meshWithVisible(514, 300, crop)))
        assertFalse(t.needsDetection)
        assertFalse(t.update(meshWithVisible(514, 20, crop)))  // < 10% visible
        assertTrue(t.needsDetection)
        assertNull(t.crop)
    }

    @Test
    fun trackerSmoothingBlendsCentreAndScale() {
        val t = PersonTracker(192, 256, smoothing = 0.5)
        t.startFrom(Box(0.0, 0.0, 192.0, 256.0))
        val before = t.crop!!
        val mesh = meshWithVisible(514, 514, Crop(100.0, 0.0, 1.0))
        t.update(mesh)
        val after = t.crop!!
        val target = mesh.nextCrop!!
        assertEquals((before.scale + target.scale) / 2, after.scale, 1e-9)
    }

    @Test
    fun percentilesMatchNumpyLinearInterpolation() {
        val s = LatencyStats.of(listOf(1.0, 2.0, 3.0, 4.0, 100.0))
        assertEquals(3.0, s.p50, 1e-12)
        assertEquals(61.6, s.p90, 1e-9)     // numpy.percentile([1,2,3,4,100], 90)
        assertEquals(96.16, s.p99, 1e-9)
        assertEquals(22.0, s.mean, 1e-12)
    }

    @Test
    fun benchmarkRecorderDiscardsFirstAndWarmupAndWritesTheSchemaFields() {
        val rec = BenchmarkRecorder(warmupRuns = 3, timedRuns = 5)
        var t = 0.0
        val lat = listOf(50.0, 9.0, 9.0, 4.0, 5.0, 6.0, 7.0, 8.0)
        for (l in lat) { t += l / 1000; rec.record(l, t) }
        assertTrue(rec.done)
        assertEquals(50.0, rec.firstInferenceMs!!, 0.0)
        assertEquals(6.0, rec.stats().p50, 1e-12)
        val ctx = BenchmarkContext("pixel8", "android", "Pixel 8", "Android 15", null, "litert", "2.3.0", "gpu",
            "fp16", "meshpose_xs.tflite", null, "xs", 1)
        val json = Json.parse(BenchmarkResult.toJson(ctx, rec, "2026-11-24T10:00:00Z")).asMap()
        for (k in listOf("schema_version", "device", "runtime", "artifact", "method", "timings_ms", "fps", "complete",
            "notes", "tool", "timestamp_utc")) assertTrue(k, json.containsKey(k))
        assertEquals(6.0, json.obj("timings_ms").num("p50"), 1e-12)
        assertEquals(true, json["complete"])
    }

    @Test
    fun appErrorsHaveMessagesAndRecoverability() {
        assertTrue(AppError.MissingModel("meshpose_xs.tflite").userMessage.contains("meshpose_xs.tflite"))
        assertTrue(AppError.CameraPermissionDenied().userMessage.contains("Camera permission"))
        val gpu = AppError.AcceleratorUnavailable("GPU", "no OpenCL")
        assertTrue(gpu.recoverable && gpu.userMessage.contains("CPU"))
        assertFalse(AppError.InferenceFailed("x").recoverable)
    }

    @Test
    fun jsonRoundTrip() {
        val v = mapOf("a" to listOf(1.5, "x\"y", true, null), "b" to mapOf("c" to -2e-3))
        assertEquals(v, Json.parse(Json.write(v)))
    }
}
