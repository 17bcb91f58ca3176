package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The detector's decode against Python's model/pipeline/detector.py (tests/fixtures/detector_golden.json). */
class PersonDetectorTest {
    private val fx = Fixtures.json("detector_golden.json")
    private val anchors = PersonDetector.generateAnchors()

    @Test
    fun anchorsAreMediaPipes() {
        val want = fx.list("anchors")
        assertEquals(2254, anchors.size)
        assertEquals(want.size, anchors.size)
        for (i in anchors.indices) {
            val w = want[i].asDoubles()
            assertEquals(w[0], anchors[i][0], 1e-12)
            assertEquals(w[1], anchors[i][1], 1e-12)
        }
    }

    @Test
    fun everyCaseDecodesToThePythonPeople() {
        val cases = fx.list("cases").map { it.asMap() }
        assertTrue(cases.any { it.obj("decoded").list("people").isEmpty() }) // the empty frame is a case
        for (case in cases) {
            val name = case.str("name")
            val frame = case.obj("frame")
            val lb = PersonDetector.letterbox(frame.int("width"), frame.int("height"))
            val stored = case.obj("letterbox")
            assertEquals(name, stored.num("x0"), lb.x0, 1e-9)
            assertEquals(name, stored.num("y0"), lb.y0, 1e-9)
            assertEquals(name, stored.num("scale"), lb.scale, 1e-12)
            val pad = stored["padding"].asDoubles()
            for (i in 0 until 4) assertEquals(name, pad[i], lb.padding[i], 1e-12)
            val raw = case.obj("raw")
            val logits = raw["score_logits"].asDoubles()
            val regressors = DoubleArray(logits.size * PersonDetector.NUM_COORDS) // unstored rows: zeros, never read
            for ((k, row) in raw.obj("regressors")) row.asDoubles().copyInto(regressors, k.toInt() * PersonDetector.NUM_COORDS)
            val people = PersonDetector.detectPeople(regressors, logits, lb, case.int("max_people"), case.num("threshold"), anchors)
            val want = case.obj("decoded").list("people").map { it.asMap() }
            assertEquals(name, want.size, people.size)
            for ((got, exp) in people.zip(want)) {
                assertEquals(name, exp.int("anchor"), got.anchor)
                assertEquals(name, exp.num("score"), got.score, 1e-6)
                close(name, exp["person_box"].asDoubles(), got.personBox)
                close(name, exp["face_box"].asDoubles(), got.faceBox)
                close(name, exp["keypoints"].asPoints(), got.keypoints.flatMap { it.toList() }.toDoubleArray())
                val roi = exp.obj("roi")
                close(name, doubleArrayOf(roi.num("cx"), roi.num("cy"), roi.num("size")),
                    doubleArrayOf(got.roi.cx, got.roi.cy, got.roi.size))
                assertEquals(name, roi.num("rotation"), got.roi.rotation, 1e-9)
            }
        }
    }

    @Test
    fun theInputIsSampledAtMediaPipesPhaseAndRounded() {
        val probe = fx.obj("sampling_probe")
        val w = probe.obj("frame").int("width")
        val h = probe.obj("frame").int("height")
        // The probe frame's formula (fixture): ((7x + 3y) mod 256, (x y) mod 256, 255 - 3x).
        val rgba = ByteArray(4 * w * h)
        for (y in 0 until h) for (x in 0 until w) {
            val o = 4 * (y * w + x)
            rgba[o] = ((7 * x + 3 * y) % 256).toByte(); rgba[o + 1] = ((x * y) % 256).toByte()
            rgba[o + 2] = (255 - 3 * x).toByte(); rgba[o + 3] = 255.toByte()
        }
        val sampler = InputSampler(PersonDetector.INPUT_SIZE, PersonDetector.INPUT_SIZE, nhwc = true)
        val (input, lb) = PersonDetector.sampleInput(sampler, rgba, w, h, 4 * w)
        assertEquals(probe.obj("letterbox").num("y0"), lb.y0, 1e-12)
        for (px in probe.list("pixels").map { it.asMap() }) {
            val o = 3 * (px.int("v") * PersonDetector.INPUT_SIZE + px.int("u"))
            val want = px["rgb"].asDoubles()
            for (c in 0 until 3) assertEquals("pixel ${px.int("u")},${px.int("v")}", want[c], input[o + c].toDouble(), 1e-4)
        }
    }

    @Test
    fun maxPeopleCapsAndBadArgumentsAreRefused() {
        val case = fx.list("cases").map { it.asMap() }.first { it.str("name").endsWith("max1") }
        val logits = case.obj("raw")["score_logits"].asDoubles()
        val regressors = DoubleArray(logits.size * PersonDetector.NUM_COORDS)
        for ((k, row) in case.obj("raw").obj("regressors")) row.asDoubles().copyInto(regressors, k.toInt() * 12)
        val lb = PersonDetector.letterbox(1600, 720)
        assertEquals(1, PersonDetector.detectPeople(regressors, logits, lb, maxPeople = 1, anchors = anchors).size)
        assertEquals(2, PersonDetector.detectPeople(regressors, logits, lb, maxPeople = 2, anchors = anchors).size)
        for (bad in listOf({ PersonDetector.detectPeople(regressors, logits, lb, maxPeople = 0, anchors = anchors) },
                           { PersonDetector.detectPeople(regressors, logits.copyOf(10), lb, anchors = anchors) },
                           { PersonDetector.letterbox(0, 10) })) {
            try { bad(); throw AssertionError("accepted a bad argument") } catch (e: IllegalArgumentException) { }
        }
    }

    private fun close(name: String, want: DoubleArray, got: DoubleArray) {
        assertEquals(name, want.size, got.size)
        for (i in want.indices) assertEquals("$name[$i]", want[i], got[i], 1e-4)
    }
}
