package com.meshpose.core

/**
 * What the frame pipeline needs besides the model (model/pipeline/tracker.py `PipelineConfig`, same
 * defaults): the model input size and crop enlargement from the contract, the rest tunable.
 */
data class PipelineConfig(
    val inW: Int,
    val inH: Int,
    /** The contract's crop.box_scale: how much larger than the person box a crop is. */
    val boxScale: Double = Geometry.DEFAULT_EXPAND,
    val visibilityThreshold: Double = 0.5,
    /** At most this many people are tracked; detection runs only while there is room. */
    val maxPeople: Int = 2,
    /** Frames between detections while fewer than [maxPeople] are tracked (and some are). */
    val detectEvery: Int = 10,
    /** Least box IoU for a detection to confirm an existing track. */
    val iouMatch: Double = 0.3,
    /** Two tracks whose boxes overlap more than this are one person: the newer is dropped. */
    val duplicateIou: Double = 0.7,
    /** Weight of the new crop when blending it into the current one (1 = no smoothing). */
    val cropSmoothing: Double = 0.6,
    val minCutoff: Double = 1.0,
    val beta: Double = 0.01,
    val dCutoff: Double = 1.0,
    /** The contract's origin_px: added to raw vertices and joints before the crop maps them to the frame. */
    val originPx: List<Double> = ModelIO.CORNER_ORIGIN,
) {
    init {
        require(inW > 0 && inH > 0 && maxPeople >= 1 && detectEvery >= 1) { "bad pipeline configuration $this" }
        require(originPx.size == 3) { "originPx must be (x, y, z), got $originPx" }
        require(cropSmoothing > 0 && cropSmoothing <= 1) { "cropSmoothing must be in (0, 1], got $cropSmoothing" }
        // Python refuses these when the first track's filter is made; here before any frame.
        require(minCutoff > 0 && dCutoff > 0 && beta >= 0) {
            "One Euro parameters must be minCutoff > 0, dCutoff > 0, beta >= 0 (got $minCutoff, $dCutoff, $beta)"
        }
    }
}
