package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Test

/**
 * Replays tests/fixtures/sequence_golden.json (model/tools/sequence_fixtures.py running
 * model/pipeline/tracker.py) through [FramePipeline]: the recorded detector and model outputs go in,
 * and every frame's decisions and numbers must come out as Python's.
 *
 * Tolerance 1e-9 px (and score, crop scale): the fixture stores float64 results at full repr precision
 * and the very raw outputs the Python pipeline consumed, and both sides do the same double arithmetic in
 * the same order (no transcendental functions besides the constant pi), so only last-bit rounding may
 * differ. A real deviation shows far above it: a signed speed in the One Euro cutoff fails by 5e-3 px.
 */
class SequenceFixtureTest {
    private val fx = Fixtures.json("sequence_golden.json")
    private val frames = fx.list("frames").map { it.asMap() }
    private val tol = 1e-9

    private fun config(): PipelineConfig {
        val c = fx.obj("config")
        return PipelineConfig(
            inW = c.int("in_w"), inH = c.int("in_h"), boxScale = c.num("box_scale"),
            visibilityThreshold = c.num("visibility_threshold"), maxPeople = c.int("max_people"),
            detectEvery = c.int("detect_every"), iouMatch = c.num("iou_match"), duplicateIou = c.num("duplicate_iou"),
            cropSmoothing = c.num("crop_smoothing"), minCutoff = c.num("min_cutoff"), beta = c.num("beta"),
            dCutoff = c.num("d_cutoff"), originPx = c["origin_px"].asDoubles().toList(),
        )
    }

    private fun box(v: Any?): Box = v.asDoubles().let { Box(it[0], it[1], it[2], it[3]) }
    private fun crop(v: Any?): Crop = v.asMap().let { Crop(it.num("x0"), it.num("y0"), it.num("scale")) }

    private fun assertBox(what: String, want: Box, got: Box) {
        assertEquals("$what x0", want.x0, got.x0, tol); assertEquals("$what y0", want.y0, got.y0, tol)
        assertEquals("$what x1", want.x1, got.x1, tol); assertEquals("$what y1", want.y1, got.y1, tol)
    }

    private fun assertCrop(what: String, want: Crop, got: Crop) {
        assertEquals("$what x0", want.x0, got.x0, tol); assertEquals("$what y0", want.y0, got.y0, tol)
        assertEquals("$what scale", want.scale, got.scale, tol)
    }

    private fun assertPoints(what: String, want: DoubleArray, got: DoubleArray) {
        assertEquals("$what size", want.size, got.size)
        for (i in want.indices) assertEquals("$what[$i]", want[i], got[i], tol)
    }

    @Test
    fun everyFrameMatchesThePythonPipeline() {
        val cfg = config()
        var detectCalls = 0
        // The "frame" is the frame index: detect and infer look up what was recorded for it.
        val pipeline = FramePipeline<Int>(
            cfg,
            detect = { f ->
                detectCalls++
                frames[f].list("detections").map { d -> d.asMap().let { Detection(box(it["box"]), it.num("score")) } }
            },
            infer = { f, crops ->
                val want = frames[f].obj("expected").list("crops").map { crop(it) }
                assertEquals("frame $f crops", want.size, crops.size)
                for ((k, c) in crops.withIndex()) assertCrop("frame $f infer crop $k", want[k], c)
                frames[f].list("raw").map { r ->
                    val m = r.asMap()
                    RawOutputs(m["vertices"].asPoints(), m["visibility"].asDoubles(), m["joints"]?.asPoints() ?: DoubleArray(0))
                }
            },
        )
        var wantCalls = 0
        var people = 0
        for ((f, frame) in frames.withIndex()) {
            val exp = frame.obj("expected")
            val got = pipeline.process(f, frame.num("t"))
            val at = "frame $f"
            assertEquals("$at detected", exp["detected"], got.detected)
            if (got.detected) wantCalls++
            assertEquals("$at detect calls", wantCalls, detectCalls)
            val crops = exp.list("crops").map { crop(it) }
            assertEquals("$at crops", crops.size, got.crops.size)
            for (k in crops.indices) assertCrop("$at crop $k", crops[k], got.crops[k])
            assertEquals("$at lost", exp.list("lost").map { (it as Double).toInt() }, got.lost)
            val want = exp.list("people").map { it.asMap() }
            assertEquals("$at people ids", want.map { it.int("id") }, got.people.map { it.id })
            for ((w, p) in want.zip(got.people)) {
                val who = "$at person ${p.id}"
                assertBox("$who box", box(w["box"]), p.box)
                assertEquals("$who score", w.num("score"), p.score, tol)
                assertBox("$who detection box", box(w["detection_box"]), p.detectionBox)
                assertCrop("$who crop", crop(w["crop"]), p.crop)
                assertPoints("$who vertices", w["vertices"].asPoints(), p.mesh.vertices)
                assertPoints("$who joints", w["joints"].asPoints(), p.mesh.joints)
                assertEquals("$who visible", (w["visible"] as List<*>).map { it as Boolean }, p.mesh.visible.toList())
                people++
            }
        }
        // The fixture's story: two tracks at once, a loss, and a re-detection under a new id.
        assertEquals(40, frames.size)
        assertEquals(setOf(1, 2, 3), frames.flatMap { it.obj("expected").list("people").map { p -> p.asMap().int("id") } }.toSet())
        assertEquals("people compared", 55, people)
    }
}
