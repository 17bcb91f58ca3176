package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File

/** The two-part GPU deployment: its version 4 contract, the refusals export/contract.py mirrors, and the chain. */
class DeploymentContractTest {
    private val text = Fixtures.text(FIXTURE)

    /** The fixture, changed by [change] on its mutable JSON tree. */
    @Suppress("UNCHECKED_CAST")
    private fun mutated(change: (root: MutableMap<String, Any?>, parts: MutableList<MutableMap<String, Any?>>) -> Unit): String {
        val root = Json.parse(text) as MutableMap<String, Any?>
        change(root, root["parts"] as MutableList<MutableMap<String, Any?>>)
        return Json.write(root)
    }

    @Suppress("UNCHECKED_CAST")
    private fun tensors(part: MutableMap<String, Any?>, key: String) = part[key] as MutableList<MutableMap<String, Any?>>

    private fun assertRefused(contract: String, messagePart: String) {
        try {
            ModelContract.parse(contract); fail("accepted a contract that should fail with '$messagePart'")
        } catch (e: ContractException) {
            assertTrue("message '${e.message}' lacks '$messagePart'", e.message!!.contains(messagePart))
            assertTrue("message '${e.message}' does not say what to do", e.message!!.contains("export"))
            assertTrue(AppError.fromContractFailure(e) is AppError.BadContract)
        }
    }

    @Test
    fun theExportedDeploymentContractNamesTwoChainedPartsAndTheirPrecisions() {
        val c = ModelContract.parse(text).also { it.requireFormat("tflite") }
        assertEquals(4, c.contractVersion)
        assertEquals("meshpose_xs_gpu_two_part", c.artifact)
        assertEquals(listOf("meshpose_xs_gpu_backbone.tflite", "meshpose_xs_gpu_heads.tflite"), c.parts.map { it.artifact })
        assertEquals(listOf("fp32", "fp16-fp32acc"), c.parts.map { it.gpuPrecision })
        val (backbone, heads) = c.parts
        assertEquals(listOf(TensorSpec(ModelIO.INPUT, listOf(1, 3, c.inputHeight, c.inputWidth))), backbone.inputs)
        assertEquals(setOf("fine", "coarse"), backbone.outputs.map { it.name }.toSet())
        assertEquals(backbone.outputs.toSet(), heads.inputs.toSet())
        assertEquals(c.outputs.map { TensorSpec(it.name, it.shape) }, heads.outputs)
        assertEquals(ModelIO.OUTPUTS, heads.outputs.map { it.name })
        assertTrue(c.parts.all { Regex("[0-9a-f]{64}").matches(it.sha256) })
        // What the single-file contract of the same graph says holds for the deployment too.
        val single = ModelContract.parse(Fixtures.text("contract_xs.json"))
        assertEquals(single.numVertices, c.numVertices)
        assertEquals(single.jointNames, c.jointNames)
        assertEquals(single.originPx, c.originPx)
    }

    @Test
    fun partsAndVersion4ComeTogether() {
        assertRefused(mutated { root, _ -> root.remove("parts") }, "lists none")
        assertRefused(mutated { root, _ -> root["contract_version"] = 3.0 }, "only version 4 contracts describe a deployment of parts")
        assertRefused(mutated { root, _ -> root["gpu_precision"] = "fp16" }, "a gpu_precision per part, not one for the whole")
        assertTrue(ModelContract.parse(Fixtures.text("contract_xs.json")).parts.isEmpty())
    }

    @Test
    fun aDeploymentOfOnePartIsRefused() {
        assertRefused(mutated { _, parts -> parts.removeAt(1) }, "at least 2 parts, the contract lists 1")
        assertRefused(mutated { root, _ -> root["parts"] = "backbone" }, "parts must be a list")
    }

    @Test
    fun eachPartNeedsAKnownPrecisionAndAHash() {
        assertRefused(mutated { _, parts -> parts[1]["gpu_precision"] = "bf16" }, "gpu_precision 'bf16' is not one this app knows")
        assertRefused(mutated { _, parts -> parts[0].remove("gpu_precision") }, "has no gpu_precision")
        assertRefused(mutated { _, parts -> parts[0]["sha256"] = "AB".repeat(32) }, "is not 64 lowercase hex digits")
        assertRefused(mutated { _, parts -> parts[1]["sha256"] = "ab" }, "parts[1] (meshpose_xs_gpu_heads.tflite): sha256")
        assertRefused(mutated { _, parts -> parts[0]["artifact"] = "" }, "parts[0] has no artifact")
        assertRefused(mutated { _, parts -> tensors(parts[1], "inputs")[0]["dtype"] = "float16" }, "is not float32")
        assertRefused(mutated { _, parts -> tensors(parts[0], "outputs").clear() }, "outputs are empty")
    }

    @Test
    fun aBrokenChainIsRefused() {
        val renamed = mutated { _, parts -> tensors(parts[1], "inputs")[0]["name"] = "features" }
        assertRefused(renamed, "parts[1] (meshpose_xs_gpu_heads.tflite) takes")
        assertRefused(mutated { _, parts -> tensors(parts[1], "inputs")[1]["shape"] = listOf(1.0, 8.0, 8.0, 6.0) }, "but is fed")
        assertRefused(mutated { _, parts -> tensors(parts[0], "inputs")[0]["shape"] = listOf(1.0, 3.0, 128.0, 96.0) }, "parts[0]")
        assertRefused(mutated { _, parts -> tensors(parts[0], "outputs").removeAt(1) }, "parts[1]")
        // The heads' inputs may come in any order.
        val swapped = mutated { _, parts -> tensors(parts[1], "inputs").reverse() }
        assertEquals(ModelContract.parse(text).parts[1].inputs.reversed(), ModelContract.parse(swapped).parts[1].inputs)
    }

    @Test
    fun theLastPartMustGiveTheContractsOutputsInOrder() {
        assertRefused(mutated { _, parts -> tensors(parts[1], "outputs").reverse() }, "not the contract's outputs")
        assertRefused(mutated { _, parts -> tensors(parts[1], "outputs")[0]["shape"] = listOf(1.0, 7.0, 3.0) }, "the last part")
    }

    @Test
    fun theChainFeedsEachPartThePreviousOnesOutputsByName() {
        val c = ModelContract.parse(text)
        val (backbone, heads) = c.parts
        val image = FloatArray(backbone.inputs.single().elementCount) { it.toFloat() }
        val fed = ArrayList<Map<String, FloatArray>>()
        val out = PartsChain.run(c.parts, image) { i, inputs ->
            fed.add(inputs)
            // Each fake part tags its outputs with its index and the output's position, in reverse order of the contract.
            c.parts[i].outputs.withIndex().reversed().associate { (k, spec) -> spec.name to FloatArray(spec.elementCount) { 10f * i + k } }
        }
        assertTrue(fed[0].getValue(ModelIO.INPUT) === image)
        assertEquals(heads.inputs.map { it.name }.toSet(), fed[1].keys)
        backbone.outputs.forEachIndexed { k, spec -> assertEquals(k.toFloat(), fed[1].getValue(spec.name)[0]) }
        assertEquals(ModelIO.OUTPUTS, out.keys.toList())
        heads.outputs.forEachIndexed { k, spec ->
            assertEquals(spec.elementCount, out.getValue(spec.name).size)
            assertEquals(10f + k, out.getValue(spec.name)[0])
        }
    }

    @Test
    fun theChainRefusesArraysThatDoNotFitTheContract() {
        val parts = ModelContract.parse(text).parts
        val image = FloatArray(parts[0].inputs.single().elementCount)
        fun fake(shortOf: String?, missing: String? = null) = { i: Int, _: Map<String, FloatArray> ->
            parts[i].outputs.filter { it.name != missing }
                .associate { it.name to FloatArray(it.elementCount - if (it.name == shortOf) 1 else 0) }
        }
        val fine = parts[0].outputs[0]
        assertChainRefused(parts, image, fake(fine.name),
            "output '${fine.name}' of part 1 of 2 (meshpose_xs_gpu_backbone.tflite) has ${fine.elementCount - 1} values")
        assertChainRefused(parts, image, fake(ModelIO.VISIBILITY), "output 'visibility' of part 2 of 2")
        assertChainRefused(parts, image, fake(null, missing = ModelIO.JOINTS), "gave no output 'joints'")
        try {
            PartsChain.run(parts, FloatArray(3), fake(null)); fail("accepted an image of the wrong size")
        } catch (e: IllegalArgumentException) {
            assertTrue(e.message!!.contains("the image has 3 values"))
        }
    }

    private fun assertChainRefused(
        parts: List<ModelPart>, image: FloatArray, runPart: (Int, Map<String, FloatArray>) -> Map<String, FloatArray>, messagePart: String,
    ) {
        try {
            PartsChain.run(parts, image, runPart); fail("the chain accepted arrays that should fail with '$messagePart'")
        } catch (e: ContractException) {
            assertTrue("message '${e.message}' lacks '$messagePart'", e.message!!.contains(messagePart))
            assertTrue(e.message!!.contains("from one export"))
        }
    }

    @Test
    fun aBenchmarkResultNamesTheDeploymentItsHeadsPrecisionAndBothParts() {
        val c = ModelContract.parse(text)
        assertEquals("fp16-fp32acc", BenchmarkResult.gpuPrecisionOf(c))
        assertEquals("fp16-fp32acc", BenchmarkResult.precisionOf("GPU", c.precision, BenchmarkResult.gpuPrecisionOf(c)))
        assertEquals("fp16", BenchmarkResult.gpuPrecisionOf(ModelContract.parse(Fixtures.text("contract_xs.json"))))
        assertEquals("backbone fp32 + heads fp16-fp32acc (two-part deployment)", BenchmarkResult.deploymentNote(c.parts, onGpu = true))
        assertEquals("backbone + heads (two-part deployment)", BenchmarkResult.deploymentNote(c.parts, onGpu = false))
        // export/evaluate.py: hashlib.sha256("".join(part hashes).encode()).hexdigest()
        val fake = listOf("a", "b").map { ModelPart("$it.tflite", it.repeat(64), "fp32", emptyList(), emptyList()) }
        assertEquals("fa0dafbf43f1f551e536353e9d1a942a8e86e41a0b58dfeaf264ef217f6b862a", Sha256.ofDeployment(fake))
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Sha256.of("abc"))
        val ctx = BenchmarkContext("pixel8", "android", "Pixel 8", "Android 15", "Tensor G3", "litert", "2.3.0", "gpu",
            BenchmarkResult.gpuPrecisionOf(c), c.artifact, Sha256.ofDeployment(c.parts), c.variant, c.contractVersion)
        val rec = BenchmarkRecorder(warmupRuns = 0, timedRuns = 2)
        listOf(9.0, 8.0, 8.0).forEachIndexed { i, ms -> rec.record(ms, ms + 1.0, 0.01 * (i + 1)) }
        val json = BenchmarkResult.toJson(ctx, rec, "2026-01-01T00:00:00Z", "LiteRT GPU accelerator; " +
            BenchmarkResult.deploymentNote(c.parts, onGpu = true))
        File(Fixtures.outputDir(), "result_two_part.json").writeText(json) // validated against the schema by the make target
        val artifact = Json.parse(json).asObject("result").obj("artifact")
        assertEquals("meshpose_xs_gpu_two_part", artifact.str("file"))
        assertEquals(4, artifact.int("contract_version"))
    }

    @Test
    fun exportedDeploymentsInArtifactsAreAcceptedWithTheirPartsBesideThem() {
        // Present only after `make export-tflite`; the committed fixture covers a clean checkout.
        val found = File(Fixtures.repo, "artifacts").walkTopDown().filter { it.name.endsWith("$DEPLOYMENT_SUFFIX.contract.json") }.toList()
        for (f in found) {
            val c = ModelContract.parse(f.readText()).also { it.requireFormat("tflite") }
            assertEquals(f.name.removeSuffix(".contract.json"), c.artifact)
            for (part in c.parts) {
                val file = File(f.parentFile, part.artifact)
                assertTrue("${f.name} names ${part.artifact}, which is not beside it", file.isFile)
                assertEquals("${file.name} differs from its contract's hash", part.sha256, file.inputStream().use { Sha256.of(it) })
            }
        }
    }

    private companion object {
        const val FIXTURE = "contract_xs_gpu_two_part.json"
        /** export/tflite/two_part.py's DEPLOYMENT_SUFFIX. */
        const val DEPLOYMENT_SUFFIX = "_gpu_two_part"
    }
}
