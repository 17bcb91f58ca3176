package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Test

/** Camera frame -> model input must match Python's model.pipeline.crop.sample_crop (tests/fixtures/sampler_cases.json). */
class InputSamplerTest {
    private val fx = Fixtures.json("sampler_cases.json")
    private val frame = fx.obj("frame")
    private val rgba = frame.list("rgba").map { (it as Double).toInt().toByte() }.toByteArray()
    private val inW = fx.obj("input").int("width")
    private val inH = fx.obj("input").int("height")

    private fun crop(case: Map<String, Any?>) = case.obj("crop").let { Crop(it.num("x0"), it.num("y0"), it.num("scale")) }

    @Test
    fun nhwcSamplingMatchesPython() {
        val sampler = InputSampler(inW, inH, nhwc = true)
        for (case in fx.list("cases").map { it.asMap() }) {
            val got = sampler.sample(rgba, frame.int("width"), frame.int("height"), frame.int("row_stride"), crop(case))
            val want = case["hwc"].asDoubles()
            for (i in want.indices) assertEquals("${case.str("name")}[$i]", want[i], got[i].toDouble(), 1e-3)
        }
    }

    @Test
    fun outsideTheFrameReadsTheContractsPad() {
        val pad = fx.list("paper_pad_rgb").map { it as Double }
        val sampler = InputSampler(inW, inH, nhwc = true, padRgb = pad)
        for (case in fx.list("cases").map { it.asMap() }) {
            val got = sampler.sample(rgba, frame.int("width"), frame.int("height"), frame.int("row_stride"), crop(case))
            val want = case["hwc_paper_pad"].asDoubles()
            for (i in want.indices) assertEquals("${case.str("name")}[$i]", want[i], got[i].toDouble(), 1e-3)
        }
    }

    @Test
    fun nchwIsTheSameSamplesInPlanes() {
        val nchw = InputSampler(inW, inH, nhwc = false)
        val plane = inW * inH
        for (case in fx.list("cases").map { it.asMap() }) {
            val got = nchw.sample(rgba, frame.int("width"), frame.int("height"), frame.int("row_stride"), crop(case))
            val want = case["hwc"].asDoubles()
            for (p in 0 until plane) for (c in 0 until 3) {
                assertEquals(want[3 * p + c], got[c * plane + p].toDouble(), 1e-3)
            }
        }
    }

    @Test(expected = IllegalArgumentException::class)
    fun aStrideShorterThanTheRowIsRefused() {
        InputSampler(inW, inH, nhwc = true).sample(rgba, frame.int("width"), frame.int("height"), 8, Crop(0.0, 0.0, 1.0))
    }

    @Test(expected = IllegalArgumentException::class)
    fun aTruncatedFrameIsRefused() {
        InputSampler(inW, inH, nhwc = true).sample(rgba.copyOf(100), frame.int("width"), frame.int("height"),
            frame.int("row_stride"), Crop(0.0, 0.0, 1.0))
    }
}
