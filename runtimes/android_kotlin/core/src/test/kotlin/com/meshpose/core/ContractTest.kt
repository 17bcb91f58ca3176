package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File

class ContractTest {
    private val text = Fixtures.text("contract_xs.json")

    @Test
    fun exportedContractMatchesTheTensorNamesAndShapesTheAppUses() {
        val c = ModelContract.parse(text)
        assertEquals(ModelIO.INPUT, c.inputName)
        assertEquals(ModelIO.OUTPUTS, c.outputs.map { it.name })
        assertEquals(listOf(1, c.numVertices, 3), c.outputs[0].shape)
        assertEquals(listOf(1, c.numVertices), c.outputs[1].shape)
        assertEquals(listOf(1, c.jointNames.size, 3), c.outputs[2].shape)
        assertEquals(listOf(1, 3, c.inputHeight, c.inputWidth), c.inputShape)
        assertTrue(c.faces.all { f -> f.all { it in 0 until c.numVertices } })
        assertEquals(17, c.jointNames.size)
    }

    @Test
    fun appSourcesUseOnlyTheContractNames() {
        // The app module reads tensors through ModelIO; no other tensor name literal may appear.
        val appDir = generateSequence(File("").absoluteFile) { it.parentFile }
            .map { File(it, "runtimes/android_kotlin/app/src/main") }.firstOrNull { it.isDirectory }
            ?: File(System.getProperty("meshpose.repo"), "runtimes/android_kotlin/app/src/main")
        val sources = appDir.walkTopDown().filter { it.extension == "kt" }.map { it.readText() }.joinToString("\n")
        assertTrue("app sources not found under $appDir", sources.isNotEmpty())
        assertTrue(sources.contains("ModelIO.VERTICES") && sources.contains("ModelIO.VISIBILITY"))
        for (literal in listOf("\"vertices\"", "\"visibility\"", "\"joints\"", "\"image\"")) {
            assertFalse("app hard-codes $literal instead of ModelIO", sources.contains(literal))
        }
    }

    @Test
    fun unknownContractVersionIsRefusedWithAClearMessage() {
        val v2 = text.replaceFirst("\"contract_version\": 1", "\"contract_version\": 2")
        try {
            ModelContract.parse(v2); fail("version 2 accepted")
        } catch (e: ContractException) {
            assertTrue(e.message!!.contains("version 2 is not supported"))
            val err = AppError.fromContractFailure(e)
            assertTrue(err.userMessage.contains("version 2"))
        }
    }

    @Test
    fun brokenContractsGiveMessagesNotCrashes() {
        for (bad in listOf("not json", "{}", "{\"contract_version\": 1}", "[1,2]")) {
            try {
                ModelContract.parse(bad); fail("accepted: $bad")
            } catch (e: ContractException) {
                assertTrue(e.message!!.isNotBlank())
            }
        }
    }
}
