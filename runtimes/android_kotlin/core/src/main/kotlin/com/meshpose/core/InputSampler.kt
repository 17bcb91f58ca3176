package com.meshpose.core

import kotlin.math.floor

/**
 * Camera RGBA frame -> model input (model/pipeline/crop.py `sample_crop`, docs/CONTRACTS.md §3):
 * pixel (u, v) of the input samples the frame bilinearly at (x0 + s (u + 0.5), y0 + s (v + 0.5)),
 * frame pixel centres at integer + 0.5; samples outside the frame read [padRgb] (the contract's
 * crop.pad_rgb: 0 for our variants, the release's (127.5, 0, 0) for `paper`). Output is float RGB
 * in [0, 255] (the graph normalises), laid out NCHW or NHWC as the contract says.
 */
class InputSampler(val inW: Int, val inH: Int, val nhwc: Boolean, padRgb: List<Double> = listOf(0.0, 0.0, 0.0)) {
    private val pad = FloatArray(3) { padRgb[it].toFloat() }

    init {
        require(inW > 0 && inH > 0) { "model input size ${inW}x$inH must be positive" }
        require(padRgb.size == 3) { "padRgb needs 3 values (R, G, B), got ${padRgb.size}" }
    }

    /** Reused between frames: the analysis loop must not allocate a new input every frame. */
    val buffer = FloatArray(3 * inW * inH)

    /**
     * Fills [buffer] from an RGBA_8888 frame of [frameW] x [frameH] pixels whose rows are
     * [rowStride] bytes apart (CameraX pads rows), and returns it.
     */
    fun sample(rgba: ByteArray, frameW: Int, frameH: Int, rowStride: Int, crop: Crop): FloatArray {
        require(frameW > 0 && frameH > 0) { "frame ${frameW}x$frameH is empty" }
        require(rowStride >= 4 * frameW) { "row stride $rowStride is shorter than 4 x width ${4 * frameW}" }
        require(rgba.size >= rowStride * (frameH - 1) + 4 * frameW) { "RGBA buffer of ${rgba.size} bytes is too small" }
        require(crop.scale > 0) { "crop scale ${crop.scale} must be positive" }
        val plane = inW * inH
        for (v in 0 until inH) {
            val fy = crop.y0 + crop.scale * (v + 0.5) - 0.5 // to centre-at-integer indices
            val y0 = floor(fy).toInt()
            val ay = (fy - y0).toFloat()
            for (u in 0 until inW) {
                val fx = crop.x0 + crop.scale * (u + 0.5) - 0.5
                val x0 = floor(fx).toInt()
                val ax = (fx - x0).toFloat()
                for (c in 0 until 3) {
                    val p00 = px(rgba, frameW, frameH, rowStride, x0, y0, c)
                    val p10 = px(rgba, frameW, frameH, rowStride, x0 + 1, y0, c)
                    val p01 = px(rgba, frameW, frameH, rowStride, x0, y0 + 1, c)
                    val p11 = px(rgba, frameW, frameH, rowStride, x0 + 1, y0 + 1, c)
                    val top = p00 * (1 - ax) + p10 * ax
                    val bottom = p01 * (1 - ax) + p11 * ax
                    val value = top * (1 - ay) + bottom * ay
                    if (nhwc) buffer[(v * inW + u) * 3 + c] = value else buffer[c * plane + v * inW + u] = value
                }
            }
        }
        return buffer
    }

    private fun px(rgba: ByteArray, w: Int, h: Int, stride: Int, x: Int, y: Int, c: Int): Float =
        if (x < 0 || y < 0 || x >= w || y >= h) pad[c] else (rgba[y * stride + 4 * x + c].toInt() and 0xff).toFloat()
}
