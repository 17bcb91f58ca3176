package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.math.abs
import kotlin.random.Random

/** Smoothing and on-screen errors (tracking: FramePipelineTest, SequenceFixtureTest). */
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
    fun oneEuroFirstStepMatchesTheClosedForm() {
        // alpha = 1 / (1 + tau / dt), tau = 1 / (2 pi fc); with beta = 0 the cutoff is minCutoff.
        val f = OneEuroFilter(minCutoff = 2.0, beta = 0.0)
        f.filter(doubleArrayOf(0.0), 0.0)
        val dt = 1.0 / 30
        val alpha = 1.0 / (1.0 + (1.0 / (2 * Math.PI * 2.0)) / dt)
        assertEquals(alpha * 10.0, f.filter(doubleArrayOf(10.0), dt)[0], 1e-12)
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
        assertTrue("lag with beta $eFast not below lag without $eSlow", eFast < 0.5 * eSlow)
    }

    @Test(expected = IllegalArgumentException::class)
    fun oneEuroRefusesANonPositiveCutoff() {
        OneEuroFilter(minCutoff = 0.0).filter(doubleArrayOf(1.0), 0.0)
    }

    @Test
    fun appErrorsHaveMessagesAndRecoverability() {
        assertTrue(AppError.MissingModel("meshpose_xs.tflite").userMessage.contains("meshpose_xs.tflite"))
        val detector = AppError.MissingDetector("blazepose_detector.tflite").userMessage
        assertTrue(detector.contains("blazepose_detector.tflite") && detector.contains("make export-detector"))
        assertTrue(AppError.CameraPermissionDenied().userMessage.contains("Camera permission"))
        val gpu = AppError.AcceleratorUnavailable("GPU", "no OpenCL")
        assertTrue(gpu.recoverable && gpu.userMessage.contains("CPU") && gpu.userMessage.contains("no OpenCL"))
        assertFalse(AppError.InferenceFailed("x").recoverable)
        assertTrue(AppError.fromContractFailure(JsonException("x")) is AppError.BadContract)
        val part = AppError.MissingPart("meshpose_xs_gpu_heads.tflite", "meshpose_xs_gpu_two_part").userMessage
        assertTrue(part.contains("meshpose_xs_gpu_heads.tflite") && part.contains("meshpose_xs_gpu_two_part.contract.json"))
        val mismatch = AppError.PartMismatch("meshpose_xs_gpu_heads.tflite", "assets/meshpose_xs_gpu_heads.tflite",
            "meshpose_xs_gpu_two_part").userMessage
        assertTrue(mismatch.contains("sha256") && mismatch.contains("from one export"))
    }
}
