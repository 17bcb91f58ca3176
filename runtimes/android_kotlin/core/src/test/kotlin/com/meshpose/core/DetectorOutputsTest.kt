package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File

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
                // The fixture's raw outputs are float64, the tensors here float32: that rounding moves the boxes
                // by < 1e-5 px (8.6e-6 with the Python reference fed the same float32 values).
                val b = w["person_box"].asDoubles()
                assertEquals(name, b[0], d.box.x0, 1e-4); assertEquals(name, b[1], d.box.y0, 1e-4)
                assertEquals(name, b[2], d.box.x1, 1e-4); assertEquals(name, b[3], d.box.y1, 1e-4)
                assertEquals(name, w.num("score"), d.score, 1e-6)
            }
        }
    }

    /** The contract `make export-detector` writes (resources/detector_contract.json, tools/make_detector_contract_fixture.py). */
    private val contractText = File(Fixtures.repo, "runtimes/android_kotlin/core/src/test/resources/detector_contract.json").readText()

    /** That contract with fields replaced: each change is a path of keys and the new value. */
    @Suppress("UNCHECKED_CAST")
    private fun mutated(vararg changes: Pair<List<String>, Any?>): String {
        val root = Json.parse(contractText) as MutableMap<String, Any?>
        for ((path, value) in changes) {
            var node = root
            for (k in path.dropLast(1)) node = node[k] as MutableMap<String, Any?>
            node[path.last()] = value
        }
        return Json.write(root)
    }

    @Test
    fun detectorContractIsReadAndChecked() {
        val c = DetectorContract.parse(contractText)
        assertEquals(DetectorContract("blazepose_detector.tflite", "tflite", "image", "NCHW", "regressors", "scores",
            "detector_anchors.json"), c)
        c.requireFormat("tflite")
        val nhwc = DetectorContract.parse(mutated(listOf("input", "layout") to "NHWC",
            listOf("input", "shape") to listOf(1.0, 224.0, 224.0, 3.0)))
        assertTrue(nhwc.nhwc)
        val bad = mapOf(
            "kind" to mutated(listOf("kind") to "mesh"),
            "version" to mutated(listOf("contract_version") to 2.0),
            "layout" to mutated(listOf("input", "layout") to "NHWC"), // shape still NCHW
            "dtype" to mutated(listOf("input", "dtype") to "image"),
            "normalisation" to mutated(listOf("input", "normalization", "baked_in") to false),
            "anchor count" to mutated(listOf("outputs") to listOf(mapOf("name" to "regressors", "shape" to listOf(1.0, 896.0, 12.0)),
                                                               mapOf("name" to "scores", "shape" to listOf(1.0, 896.0, 1.0)))),
            "JSON" to "{",
            "incomplete" to """{"contract_version": 1, "kind": "person_detector"}""",
        )
        for ((why, text) in bad) {
            try { DetectorContract.parse(text); throw AssertionError("accepted a bad $why") } catch (e: ContractException) { }
        }
        try {
            DetectorContract.parse(mutated(listOf("format") to "coreml")).requireFormat("tflite")
            throw AssertionError("accepted a Core ML contract")
        } catch (e: ContractException) {
            assertTrue(e.message!!.contains("coreml"))
        }
    }
}
