package com.meshpose.core

/**
 * Tracks the person crop from frame to frame: the next crop comes from the current mesh's
 * visible bounds (expanded, then smoothed); when visibility collapses the tracker asks for a
 * new detection. Detection itself is platform code (Vision on iOS, see the Android app).
 */
class PersonTracker(
    private val inW: Int,
    private val inH: Int,
    /** Weight of the new crop in the exponential smoothing of centre and scale (1 = no smoothing). */
    var smoothing: Double = 0.6,
) {
    init {
        require(inW > 0 && inH > 0) { "model input size ${inW}x$inH must be positive" }
        require(smoothing in 0.0..1.0 && smoothing > 0) { "smoothing must be in (0, 1], got $smoothing" }
    }

    /** The crop to use for the next frame, or null when a detection is needed. */
    var crop: Crop? = null
        private set

    val needsDetection: Boolean get() = crop == null

    /** Starts tracking from a detected person box (or the whole frame as a fallback). */
    fun startFrom(box: Box) {
        crop = Geometry.cropFromBox(box, inW, inH)
    }

    /** Updates from a decoded frame; returns true while tracking holds. */
    fun update(mesh: DecodedMesh): Boolean {
        val next = mesh.nextCrop
        val cur = crop
        crop = when {
            next == null -> null
            cur == null -> next
            else -> blend(cur, next)
        }
        return crop != null
    }

    private fun blend(a: Crop, b: Crop): Crop {
        val w = smoothing
        // Blend the crop centres and scales (not the corners) so the box does not drift.
        val acx = a.x0 + a.scale * inW / 2; val acy = a.y0 + a.scale * inH / 2
        val bcx = b.x0 + b.scale * inW / 2; val bcy = b.y0 + b.scale * inH / 2
        val s = w * b.scale + (1 - w) * a.scale
        val cx = w * bcx + (1 - w) * acx
        val cy = w * bcy + (1 - w) * acy
        return Crop(cx - s * inW / 2, cy - s * inH / 2, s)
    }

    /** Drops the crop: the next frame asks for a detection. */
    fun reset() {
        crop = null
    }
}
