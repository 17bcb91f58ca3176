package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File

class ContractTest {
    private val text = Fixtures.text("contract_xs.json")

    /** The fixture contract with one field replaced (path of keys, then the new value). */
    @Suppress("UNCHECKED_CAST")
    private fun mutated(vararg path: String, value: Any?): String {
        val root = Json.parse(text) as MutableMap<String, Any?>
        var node = root
        for (k in path.dropLast(1)) node = node[k] as MutableMap<String, Any?>
        node[path.last()] = value
        return Json.write(root)
    }

    private fun assertRefused(contract: String, messagePart: String) {
        try {
            ModelContract.parse(contract); fail("accepted a contract that should fail with '$messagePart'")
        } catch (e: ContractException) {
            assertTrue("message '${e.message}' lacks '$messagePart'", e.message!!.contains(messagePart))
        }
    }

    @Test
    fun exportedContractMatchesTheTensorNamesAndShapesTheAppUses() {
        val c = ModelContract.parse(text)
        assertEquals(ModelIO.INPUT, c.inputName)
        assertEquals(ModelIO.OUTPUTS, c.outputs.map { it.name })
        val template = Fixtures.json("contract_xs.json").obj("template")
        assertEquals(template.int("num_vertices"), c.numVertices)
        assertEquals(template.int("num_faces"), c.faces.size)
        assertEquals(listOf(1, c.numVertices, 3), c.outputs[0].shape)
        assertEquals(listOf(1, c.numVertices), c.outputs[1].shape)
        assertEquals(listOf(1, c.jointNames.size, 3), c.outputs[2].shape)
        assertEquals(listOf(1, 3, c.inputHeight, c.inputWidth), c.inputShape)
        assertEquals(17, c.numJoints)
        assertEquals("nose", c.jointNames[0])
    }

    @Test
    fun goldenFixturesAndContractAgreeOnTheInputSize() {
        val c = ModelContract.parse(text)
        val input = Fixtures.json("golden_xs.json").obj("input")
        assertEquals(c.inputWidth, input.int("width"))
        assertEquals(c.inputHeight, input.int("height"))
    }

    @Test
    fun exportedTfliteContractsInArtifactsAreAccepted() {
        // Present only after `make export-tflite` / `make export-detector`; the committed fixtures cover a clean checkout.
        val found = File(Fixtures.repo, "artifacts").walkTopDown().filter { it.name.endsWith(".tflite.contract.json") }.toList()
        for (f in found) {
            val text = f.readText()
            val artifact = if (Json.parse(text).asObject(f.name)["kind"] == DetectorContract.KIND) {
                DetectorContract.parse(text).also { it.requireFormat("tflite") }.artifact
            } else {
                ModelContract.parse(text).also { it.requireFormat("tflite") }.artifact
            }
            assertEquals(f.name.removeSuffix(".contract.json"), artifact)
        }
    }

    @Test
    fun appSourcesUseOnlyTheContractNames() {
        // The app module reads tensors through ModelIO; no other tensor name literal may appear.
        val appDir = File(Fixtures.repo, "runtimes/android_kotlin/app/src/main")
        val sources = appDir.walkTopDown().filter { it.extension == "kt" }.map { it.readText() }.joinToString("\n")
        assertTrue("app sources not found under $appDir", sources.isNotEmpty())
        for (use in listOf("ModelIO.INPUT", "ModelIO.VERTICES", "ModelIO.VISIBILITY", "ModelIO.JOINTS", "requireFormat(\"tflite\")")) {
            assertTrue("app sources do not use $use", sources.contains(use))
        }
        for (literal in listOf("\"vertices\"", "\"visibility\"", "\"joints\"", "\"image\"")) {
            assertFalse("app hard-codes $literal instead of ModelIO", sources.contains(literal))
        }
    }

    @Test
    fun unknownContractVersionIsRefusedWithAClearMessage() {
        assertRefused(mutated("contract_version", value = 5.0), "version 5 is not supported")
        assertRefused(mutated("contract_version", value = 1.5), "no integer contract_version")
        assertRefused(mutated("contract_version", value = "1"), "no integer contract_version")
        try {
            ModelContract.parse(mutated("contract_version", value = 5.0)); fail("accepted contract version 5")
        } catch (e: ContractException) {
            assertTrue(AppError.fromContractFailure(e).userMessage.contains("version 5"))
        }
    }

    @Test
    fun version3OutputsAreAboutTheCropCentreAndEarlierOnesAboutTheCorner() {
        val c = ModelContract.parse(text)
        assertEquals(3, c.contractVersion)
        assertEquals(listOf(c.inputWidth / 2.0, c.inputHeight / 2.0, 0.0), c.originPx)
        val outputs = Json.parse(text).asObject("c").list("outputs").map { it.asMap() }
        val noOrigin = outputs.map { it - "origin_px" }
        assertRefused(mutated("outputs", value = noOrigin), "must carry origin_px")
        // A version 2 artifact emitted crop pixels from the corner: nothing to add.
        @Suppress("UNCHECKED_CAST")
        val v2 = Json.parse(mutated("outputs", value = noOrigin)) as MutableMap<String, Any?>
        v2["contract_version"] = 2.0
        assertEquals(ModelIO.CORNER_ORIGIN, ModelContract.parse(Json.write(v2)).originPx)
        val mismatch = outputs.mapIndexed { i, o -> if (i == 2) o + ("origin_px" to listOf(0.0, 0.0, 0.0)) else o }
        assertRefused(mutated("outputs", value = mismatch), "differs from the vertices'")
        // Decoding adds the origin before the crop's scale: the centre of the input lands on the crop's centre.
        val crop = Crop(10.0, 20.0, 2.0)
        val mesh = Decoder.decode(doubleArrayOf(0.0, 0.0, 1.0), doubleArrayOf(1.0), DoubleArray(0), crop,
            c.inputWidth, c.inputHeight, origin = c.originPx)
        assertEquals(10.0 + 2.0 * c.inputWidth / 2.0, mesh.vertices[0], 1e-12)
        assertEquals(20.0 + 2.0 * c.inputHeight / 2.0, mesh.vertices[1], 1e-12)
        assertEquals(2.0, mesh.vertices[2], 1e-12)
    }

    @Test
    fun version2CarriesTheCropConventionAndLicence() {
        val c = ModelContract.parse(text)
        assertTrue(c.contractVersion >= 2)
        val crop = Fixtures.json("contract_xs.json").obj("crop")
        assertEquals(crop.num("box_scale"), c.crop.boxScale, 0.0)
        assertEquals(3, c.crop.padRgb.size)
        assertEquals(true, c.commercialUse)
        assertRefused(mutated("crop", "box_scale", value = -1.0), "crop convention")
    }

    @Test
    fun theGpuPrecisionTheExportGatedIsWhatTheAppAsksLiteRtFor() {
        assertEquals(Fixtures.json("contract_xs.json").str("gpu_precision"), ModelContract.parse(text).gpuPrecision)
        assertEquals("fp16-fp32acc", ModelContract.parse(mutated("gpu_precision", value = "fp16-fp32acc")).gpuPrecision)
        assertEquals(GpuPrecision.DEFAULT, ModelContract.parse(mutated("gpu_precision", value = null)).gpuPrecision)
        // The names of LiteRT's CompiledModel.GpuOptions.Precision values (LiteRT 2.2+ Model.kt).
        assertEquals("FP16_WITH_FP32_ACCUM", GpuPrecision.litertName("fp16-fp32acc"))
        assertEquals("FP32", GpuPrecision.litertName("fp32"))
        assertEquals("FP16", GpuPrecision.litertName("fp16"))
        assertRefused(mutated("gpu_precision", value = "bf16"), "gpu_precision 'bf16'")
        assertRefused(mutated("gpu_precision", value = 16.0), "gpu_precision must be a string")
    }

    @Test
    fun aModelWithoutJointsOrFacesIsAcceptedAndDrawnAsPoints() {
        // The authors' release has no published triangulation and no landmarker without SMPL.
        @Suppress("UNCHECKED_CAST")
        val root = Json.parse(text) as MutableMap<String, Any?>
        root["outputs"] = (root["outputs"] as List<*>).take(2)
        root["joints"] = null
        (root["mesh"] as MutableMap<String, Any?>)["faces"] = emptyList<Any>()
        root["license"] = mapOf("name" to "research", "commercial_use" to false, "notice" to "non-commercial")
        val c = ModelContract.parse(Json.write(root))
        assertFalse(c.hasJoints)
        assertEquals(0, c.numJoints)
        assertTrue(c.faces.isEmpty())
        assertEquals(false, c.commercialUse)
        root["contract_version"] = 1.0
        assertRefused(Json.write(root), "version 1 contract must name the joints output")
    }

    @Test
    fun contractsThatDoNotFitTheAppAreRefused() {
        assertRefused(mutated("input", "name", value = "input_0"), "input 'input_0'")
        assertRefused(mutated("input", "layout", value = "NHWC"), "does not match NHWC")
        assertRefused(mutated("input", "normalization", "baked_in", value = false), "not baked into the graph")
        assertRefused(mutated("visibility_threshold", value = 1.5), "outside [0, 1]")
        assertRefused(mutated("mesh", "faces", value = listOf(listOf(0.0, 1.0, 100000.0))), "mesh face 0")
        val outputs = Json.parse(text).asObject("c").list("outputs").map { it.asMap() }
        assertRefused(mutated("outputs", value = outputs.reversed()), "differ from the app's")
        val badJoints = outputs.mapIndexed { i, o -> if (i == 2) o + ("shape" to listOf(1.0, 16.0, 3.0)) else o }
        assertRefused(mutated("outputs", value = badJoints), "16 joints")
        val badVis = outputs.mapIndexed { i, o -> if (i == 1) o + ("shape" to listOf(1.0, 3.0)) else o }
        assertRefused(mutated("outputs", value = badVis), "visibility shape")
        try {
            ModelContract.parse(text).requireFormat("tflite"); fail("an onnx contract passed as tflite")
        } catch (e: ContractException) {
            assertTrue(e.message!!.contains("'onnx'"))
        }
    }

    @Test
    fun brokenContractsGiveMessagesNotCrashes() {
        val cases = listOf("", "not json", "{}", "{\"contract_version\": 1}", "[1,2]", "{\"contract_version\": 1, \"input\": 3}",
            text.substring(0, text.length / 2), mutated("mesh", "faces", value = listOf("a")), mutated("outputs", value = 7.0))
        for (bad in cases) {
            try {
                ModelContract.parse(bad); fail("accepted: ${bad.take(60)}")
            } catch (e: ContractException) {
                assertTrue(e.message!!.isNotBlank())
                assertTrue(AppError.fromContractFailure(e) is AppError.BadContract)
            }
        }
    }
}
