package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File

class BenchmarkTest {
    private val ctx = BenchmarkContext("pixel8", "android", "Pixel 8", "Android 15", "Tensor G3", "litert", "2.3.0", "gpu",
        "fp16", "meshpose_xs.tflite", "ab".repeat(32), "xs", 1)

    /** Feeds [latencies] with a clock advancing by each latency (plus [gapMs] of loop overhead). */
    private fun feed(rec: BenchmarkRecorder, latencies: List<Double>, gapMs: Double = 0.0): Int {
        var t = 0.0
        var n = 0
        for (l in latencies) {
            t += (l + gapMs) / 1000
            n++
            if (!rec.record(l, l + gapMs, t)) break
        }
        return n
    }

    @Test
    fun percentilesMatchNumpyLinearInterpolation() {
        val s = LatencyStats.of(listOf(100.0, 1.0, 3.0, 2.0, 4.0))
        assertEquals(3.0, s.p50, 1e-12)
        assertEquals(61.6, s.p90, 1e-9) // numpy.percentile([1, 2, 3, 4, 100], 90)
        assertEquals(96.16, s.p99, 1e-9)
        assertEquals(22.0, s.mean, 1e-12)
        assertEquals(39.0128184, s.std, 1e-6) // numpy.std (population)
        assertEquals(1.0, s.min, 0.0); assertEquals(100.0, s.max, 0.0)
    }

    @Test
    fun firstInferenceAndWarmupAreKeptOutOfTheTimedRuns() {
        val rec = BenchmarkRecorder(warmupRuns = 2, timedRuns = 5)
        val used = feed(rec, listOf(50.0, 9.0, 9.0, 4.0, 5.0, 6.0, 7.0, 8.0, 99.0))
        assertEquals(8, used) // 1 first + 2 warm-up + 5 timed; the 99 ms run is never asked for
        assertTrue(rec.done)
        assertEquals(50.0, rec.firstInferenceMs!!, 0.0)
        assertEquals(6.0, rec.stats().p50, 1e-12)
        assertEquals(8.0, rec.stats().max, 1e-12)
        assertEquals(6.0, rec.endToEndStats()!!.p50, 1e-12)
    }

    @Test
    fun sustainedFpsOverTheTimedRunsCountsLoopOverhead() {
        val rec = BenchmarkRecorder(warmupRuns = 0, timedRuns = 11)
        feed(rec, List(12) { 10.0 }, gapMs = 10.0) // 20 ms per loop -> 50 FPS wall clock, model alone 100
        val s = rec.sustained()!!
        assertEquals(50.0, s.fps, 1e-9)
        assertEquals(0.2, s.seconds, 1e-9)
        assertEquals(listOf(0.2, 50.0), s.trend.single().map { Math.round(it * 1e9) / 1e9 })
    }

    @Test
    fun sustainedPhaseRunsForTheAskedDurationAndShowsThrottling() {
        val rec = BenchmarkRecorder(warmupRuns = 1, timedRuns = 3, sustainedSeconds = 10.0)
        // 10 ms per frame for the first 5 s, then 20 ms (a throttled phone).
        val lat = List(5) { 10.0 } + List(500) { 10.0 } + List(400) { 20.0 }
        val used = feed(rec, lat)
        assertTrue(rec.done)
        assertTrue("stopped after $used runs", used < lat.size)
        val s = rec.sustained()!!
        assertTrue(s.seconds >= 10.0 && s.seconds < 10.03)
        assertTrue(s.trend.size in 2..3) // a last sliver window when float time lands just short of 10 s
        assertEquals(100.0, s.trend[0][1], 0.5)
        assertEquals(50.0, s.trend[1][1], 0.5)
        assertTrue(s.fps > 50.0 && s.fps < 100.0)
    }

    @Test
    fun resultJsonHasTheSchemaFieldsAndIsLeftForTheSchemaCheck() {
        val rec = BenchmarkRecorder(warmupRuns = 2, timedRuns = 20)
        feed(rec, List(30) { 5.0 + it % 3 }, gapMs = 1.0)
        rec.loadMs = 120.0
        val text = BenchmarkResult.toJson(ctx, rec, "2026-11-24T10:00:00Z", "GPU accelerator")
        val json = Json.parse(text).asMap()
        for (k in listOf("schema_version", "device", "runtime", "artifact", "method", "timings_ms", "fps", "sustained",
            "end_to_end_ms", "memory", "delegation", "complete", "notes", "tool", "timestamp_utc")) assertTrue(k, json.containsKey(k))
        assertEquals(1.0, json["schema_version"])
        assertEquals(true, json["complete"])
        assertEquals(rec.stats().p50, json.obj("timings_ms").num("p50"), 1e-12)
        assertEquals(1000.0 / rec.stats().p50, json.num("fps"), 1e-9)
        assertEquals(2, json.obj("method").int("warmup_runs"))
        assertNull(json.obj("method")["sustained_seconds"])
        File(Fixtures.outputDir(), "result_complete.json").writeText(text)
    }

    @Test
    fun failureJsonSaysWhyAndIsIncomplete() {
        val text = BenchmarkResult.failureJson(ctx, 10, 100, "2026-11-24T10:00:00Z", "model file missing")
        val json = Json.parse(text).asMap()
        assertEquals(false, json["complete"])
        assertTrue(json.str("notes").contains("model file missing"))
        assertNull(json.obj("timings_ms")["p50"])
        File(Fixtures.outputDir(), "result_failure.json").writeText(text)
    }

    @Test
    fun precisionFollowsTheAccelerator() {
        assertEquals("fp16", BenchmarkResult.precisionOf("GPU", "fp32"))
        assertEquals("fp16-fp32acc", BenchmarkResult.precisionOf("gpu", "fp32", "fp16-fp32acc"))
        assertEquals("fp32", BenchmarkResult.precisionOf("cpu", "fp32", "fp16-fp32acc"))
        assertEquals("int8", BenchmarkResult.precisionOf("cpu", "int8"))
        assertEquals("fp16-weights", BenchmarkResult.precisionOf("cpu", "fp16-weights"))
        assertEquals("fp32", BenchmarkResult.precisionOf("cpu", null))
    }

    @Test(expected = IllegalArgumentException::class)
    fun zeroTimedRunsIsRefused() {
        BenchmarkRecorder(warmupRuns = 1, timedRuns = 0)
    }

    @Test
    fun recorderIsNotDoneBeforeTheTimedRuns() {
        val rec = BenchmarkRecorder(warmupRuns = 1, timedRuns = 2)
        assertTrue(rec.record(5.0, null, 0.1))
        assertFalse(rec.done)
        assertNull(rec.endToEndStats())
    }
}
