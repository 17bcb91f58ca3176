package com.meshpose.sample

import com.meshpose.core.Crop

/**
 * Camera RGBA frame -> model input: pixel (u, v) of the input samples the frame bilinearly at
 * (x0 + s (u + 0.5), y0 + s (v + 0.5)) (docs/CONTRACTS.md §3); outside the frame is 0.
 */
class FrameConverter(private val inW: Int, private val inH: Int, private val nhwc: Boolean) {
    val buffer = FloatArray(3 * inW * inH)

    /** Fills [buffer] from an RGBA_8888 frame (row stride in bytes) and returns it. */
    fun convert(rgba: ByteArray, frameW: Int, frameH: Int, rowStride: Int, crop: Crop): FloatArray {
        val plane = inW * inH
        for (v in 0 until inH) {
            val fy = crop.y0 + crop.scale * (v + 0.5) - 0.5
            val y0 = kotlin.math.floor(fy).toInt()
            val ay = (fy - y0).toFloat()
            for (u in 0 until inW) {
                val fx = crop.x0 + crop.scale * (u + 0.5) - 0.5
                val x0 = kotlin.math.floor(fx).toInt()
                val ax = (fx - x0).toFloat()
                for (c in 0 until 3) {
                    val p00 = px(rgba, frameW, frameH, rowStride, x0, y0, c)
                    val p10 = px(rgba, frameW, frameH, rowStride, x0 + 1, y0, c)
                    val p01 = px(rgba, frameW, frameH, rowStride, x0, y0 + 1, c)
                    val p11 = px(rgba, frameW, frameH, rowStride, x0 + 1, y0 + 1, c)
                    val top = p00 + (p10 - p00) * ax
                    val bottom = p01 + (p11 - p01) * ax
                    val value = top + (bottom - top) * ay
                    if (nhwc) buffer[(v * inW + u) * 3 + c] = value else buffer[c * plane + v * inW + u] = value
                }
            }
        }
        return buffer
    }

    private fun px(rgba: ByteArray, w: Int, h: Int, stride: Int, x: Int, y: Int, c: Int): Float =
        if (x < 0 || y < 0 || x >= w || y >= h) 0f else (rgba[y * stride + 4 * x + c].toInt() and 0xff).toFloat()
}
