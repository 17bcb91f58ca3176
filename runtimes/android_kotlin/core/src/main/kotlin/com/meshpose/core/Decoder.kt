package com.meshpose.core

/** Raw model outputs of one frame mapped to frame pixels (the same decoding as model/pipeline/decode.py). */
data class DecodedMesh(
    val vertices: DoubleArray,
    val visible: BooleanArray,
    val joints: DoubleArray,
    val visibleBounds: Box?,
    val nextCrop: Crop?,
) {
    val numVisible: Int get() = visible.count { it }
}

object Decoder {
    /**
     * vertices (V*3) and joints (J*3) in crop pixels about [origin] with root-relative depth, visibility (V):
     * x_f = x0 + s (x + o_x), y_f = y0 + s (y + o_y), z_f = s z; visible = visibility >= threshold; the next
     * crop is the visible bounds enlarged by [expand] (the contract's crop.box_scale). [origin] is the
     * contract's origin_px ([ModelContract.originPx]).
     */
    fun decode(
        vertices: DoubleArray,
        visibility: DoubleArray,
        joints: DoubleArray,
        crop: Crop,
        inW: Int,
        inH: Int,
        threshold: Double = 0.5,
        expand: Double = Geometry.DEFAULT_EXPAND,
        origin: List<Double> = ModelIO.CORNER_ORIGIN,
    ): DecodedMesh {
        require(vertices.size == 3 * visibility.size) { "vertices (${vertices.size}) must be 3 x visibility (${visibility.size})" }
        require(joints.size % 3 == 0) { "joints must hold (x, y, z) triples" }
        require(origin.size == 3) { "origin must be (x, y, z), got $origin" }
        val v = mapPoints(vertices, crop, origin)
        val visible = BooleanArray(visibility.size) { visibility[it] >= threshold }
        val bounds = Geometry.visibleBounds(v, visible)
        return DecodedMesh(
            vertices = v,
            visible = visible,
            joints = mapPoints(joints, crop, origin),
            visibleBounds = bounds,
            nextCrop = Geometry.nextCrop(bounds, visible.count { it }, visible.size, inW, inH, expand),
        )
    }

    /** [decode] of float model outputs (widened exactly to doubles). */
    fun decode(
        vertices: FloatArray,
        visibility: FloatArray,
        joints: FloatArray,
        crop: Crop,
        inW: Int,
        inH: Int,
        threshold: Double = 0.5,
        expand: Double = Geometry.DEFAULT_EXPAND,
        origin: List<Double> = ModelIO.CORNER_ORIGIN,
    ): DecodedMesh =
        decode(vertices.toDoubles(), visibility.toDoubles(), joints.toDoubles(), crop, inW, inH, threshold, expand, origin)

    private fun mapPoints(p: DoubleArray, crop: Crop, origin: List<Double>): DoubleArray {
        val o = origin.toDoubleArray() // unboxed once per call, not per coordinate: this runs every frame
        return DoubleArray(p.size) { i ->
            val s = crop.scale * (p[i] + o[i % 3])
            when (i % 3) {
                0 -> crop.x0 + s
                1 -> crop.y0 + s
                else -> s
            }
        }
    }
}
