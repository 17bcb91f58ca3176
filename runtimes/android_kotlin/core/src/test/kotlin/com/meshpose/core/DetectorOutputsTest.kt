package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The app's detect(): float output tensors -> Detections, on the detector_golden.json cases; and the detector contract. */
class DetectorOutputsTest {
    private val fx = Fixtures.json("detector_golden.json")
    private val anchors = PersonDetector.generateAnchors()

    @Test
    fun everyCaseGivesThePythonPersonBoxesAndScores() {
        for (case in fx.list("cases").map { it.asMap() }) {
            val name = case.str("name")
            val raw = case.obj("raw")
            val logits = raw["score_logits"].asDoubles()
            val regressors = FloatArray(logits.size * PersonDetector.NUM_COORDS)
            for ((k, row) in raw.obj("regressors")) {
                row.asDoubles().forEachIndexed { c, v -> regressors[k.toInt() * PersonDetector.NUM_COORDS + c] = v.toFloat() }
            }
            val frame = case.obj("frame")
            val got = DetectorOutputs.toDetections(regressors, FloatArray(logits.size) { logits[it].toFloat() },
                frame.int("width"), frame.int("height"), case.int("max_people"), anchors)
            val want = case.obj("decoded").list("people").map { it.asMap() }
            assertEquals(name, want.size, got.size)
            for ((w, d) in want.zip(got)) {
                // The fixture's raw outputs are float64; the tensors here are float32, whose rounding of
                // input-pixel regressors moves frame boxes by well under 1e-3 px.
                val b = w["person_box"].asDoubles()
                assertEquals(name, b[0], d.box.x0, 1e-3); assertEquals(name, b[1], d.box.y0, 1e-3)
                assertEquals(name, b[2], d.box.x1, 1e-3); assertEquals(name, b[3], d.box.y1, 1e-3)
                assertEquals(name, w.num("score"), d.score, 1e-6)
            }
        }
    }

    private fun contract(layout: String = "NHWC", kind: String = "person_detector", anchors: Int = 2254,
                         bakedIn: Boolean = true, format: String = "tflite"): String {
        val shape = if (layout == "NHWC") "[1, 224, 224, 3]" else "[1, 3, 224, 224]"
        return """{"contract_version": 1, "kind": "$kind", "name": "blazepose_detector", "variant": "detector",
            "format": "$format", "artifact": "blazepose_detector_nhwc.tflite",
            "input": {"name": "image", "shape": $shape, "layout": "$layout", "dtype": "float32", "color_order": "RGB",
                      "normalization": {"scale": 0.00784313725490196, "bias": -1.0, "baked_in": $bakedIn},
                      "height": 224, "width": 224},
            "outputs": [{"name": "regressors", "shape": [1, $anchors, 12]}, {"name": "scores", "shape": [1, $anchors, 1]}],
            "anchors": {"count": $anchors, "file": "detector_anchors.json"}}"""
    }

    @Test
    fun detectorContractIsReadAndChecked() {
        val c = DetectorContract.parse(contract())
        assertEquals(DetectorContract("blazepose_detector_nhwc.tflite", "tflite", "image", "NHWC", "regressors", "scores",
            "detector_anchors.json"), c)
        assertTrue(c.nhwc)
        c.requireFormat("tflite")
        assertEquals(false, DetectorContract.parse(contract(layout = "NCHW")).nhwc)
        for ((why, text) in listOf("mesh contract" to contract(kind = "mesh"), "anchor count" to contract(anchors = 896),
                                   "normalisation" to contract(bakedIn = false), "layout" to contract(layout = "NCWH"),
                                   "JSON" to "{", "incomplete" to """{"contract_version": 1, "kind": "person_detector"}""")) {
            try { DetectorContract.parse(text); throw AssertionError("accepted a bad $why") } catch (e: ContractException) { }
        }
        try {
            DetectorContract.parse(contract(format = "coreml")).requireFormat("tflite")
            throw AssertionError("accepted a Core ML contract")
        } catch (e: ContractException) {
            assertTrue(e.message!!.contains("coreml"))
        }
    }
}
