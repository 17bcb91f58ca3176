package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.math.abs
import kotlin.random.Random

/** Smoothing, tracking and on-screen errors. */
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
        val mesh = meshWithVisible(514, 300, crop)
        assertTrue(t.update(mesh))
        assertFalse(t.needsDetection)
        assertEquals(mesh.nextCrop, t.crop) // smoothing 1: the new crop as is
        assertTrue(t.update(meshWithVisible(514, 52, crop))) // 52 >= 10% of 514: still tracking
        assertFalse(t.update(meshWithVisible(514, 51, crop))) // 51 < 10% of 514
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
        fun centre(c: Crop) = Pair(c.x0 + c.scale * 96, c.y0 + c.scale * 128)
        assertEquals((centre(before).first + centre(target).first) / 2, centre(after).first, 1e-9)
        assertEquals((centre(before).second + centre(target).second) / 2, centre(after).second, 1e-9)
    }

    @Test
    fun appErrorsHaveMessagesAndRecoverability() {
        assertTrue(AppError.MissingModel("meshpose_xs.tflite").userMessage.contains("meshpose_xs.tflite"))
        assertTrue(AppError.CameraPermissionDenied().userMessage.contains("Camera permission"))
        val gpu = AppError.AcceleratorUnavailable("GPU", "no OpenCL")
        assertTrue(gpu.recoverable && gpu.userMessage.contains("CPU") && gpu.userMessage.contains("no OpenCL"))
        assertFalse(AppError.InferenceFailed("x").recoverable)
        assertTrue(AppError.fromContractFailure(JsonException("x")) is AppError.BadContract)
    }
}
