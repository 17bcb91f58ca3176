package com.meshpose.core

import kotlin.math.max
import kotlin.math.min

/** frame = (x0, y0) + scale * crop: maps model-input pixels to camera-frame pixels (docs/CONTRACTS.md §3). */
data class Crop(val x0: Double, val y0: Double, val scale: Double) {
    init {
        require(scale > 0 && scale.isFinite() && x0.isFinite() && y0.isFinite()) { "invalid crop ($x0, $y0, scale $scale)" }
    }

    fun toFrame(x: Double, y: Double): Pair<Double, Double> = Pair(x0 + scale * x, y0 + scale * y)
    fun toCrop(x: Double, y: Double): Pair<Double, Double> = Pair((x - x0) / scale, (y - y0) / scale)
}

/** Axis-aligned box [x0, y0, x1, y1] in frame pixels. */
data class Box(val x0: Double, val y0: Double, val x1: Double, val y1: Double) {
    val width get() = x1 - x0
    val height get() = y1 - y0
}

object Geometry {
    const val DEFAULT_EXPAND = 1.25
    const val MIN_VISIBLE_FRACTION = 0.10

    /** Crop of the model aspect around a person box, enlarged by [expand]. */
    fun cropFromBox(box: Box, inW: Int, inH: Int, expand: Double = DEFAULT_EXPAND): Crop {
        var w = box.width
        var h = box.height
        require(w > 0 && h > 0) { "person box $box has no area" }
        val cx = (box.x0 + box.x1) / 2.0
        val cy = (box.y0 + box.y1) / 2.0
        if (w / h > inW.toDouble() / inH) h = w * inH / inW else w = h * inW / inH
        val scale = expand * w / inW
        return Crop(cx - scale * inW / 2.0, cy - scale * inH / 2.0, scale)
    }

    /** Bounds of the visible vertices (frame pixels), or null when none is visible. */
    fun visibleBounds(vertices: DoubleArray, visible: BooleanArray): Box? {
        var x0 = Double.POSITIVE_INFINITY; var y0 = Double.POSITIVE_INFINITY
        var x1 = Double.NEGATIVE_INFINITY; var y1 = Double.NEGATIVE_INFINITY
        var any = false
        for (i in visible.indices) {
            if (!visible[i]) continue
            any = true
            x0 = min(x0, vertices[3 * i]); x1 = max(x1, vertices[3 * i])
            y0 = min(y0, vertices[3 * i + 1]); y1 = max(y1, vertices[3 * i + 1])
        }
        return if (any) Box(x0, y0, x1, y1) else null
    }

    /** Next frame's crop from this frame's visible bounds; null means "re-detect the person". */
    fun nextCrop(bounds: Box?, numVisible: Int, numVertices: Int, inW: Int, inH: Int, expand: Double = DEFAULT_EXPAND): Crop? {
        if (bounds == null || numVisible < MIN_VISIBLE_FRACTION * numVertices) return null
        if (bounds.width <= 0 || bounds.height <= 0) return null
        return cropFromBox(bounds, inW, inH, expand)
    }

    /** Intersection over union of two boxes (0 when the union has no area), as model/pipeline/tracker.py `iou`. */
    fun iou(a: Box, b: Box): Double {
        val ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
        val iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
        val inter = ix * iy
        val union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
        return if (union > 0) inter / union else 0.0
    }

    /** Crop whose centre and scale are (1 - weight) a + weight b: blending corners would drift the box. */
    fun blendCrops(a: Crop, b: Crop, weight: Double, inW: Int, inH: Int): Crop {
        val acx = a.x0 + a.scale * inW / 2; val acy = a.y0 + a.scale * inH / 2
        val bcx = b.x0 + b.scale * inW / 2; val bcy = b.y0 + b.scale * inH / 2
        val s = weight * b.scale + (1 - weight) * a.scale
        val cx = weight * bcx + (1 - weight) * acx
        val cy = weight * bcy + (1 - weight) * acy
        return Crop(cx - s * inW / 2, cy - s * inH / 2, s)
    }
}

/** Aspect-fit placement of a camera frame in a view (the preview's letterbox), frame <-> screen. */
data class Letterbox(val frameW: Int, val frameH: Int, val viewW: Int, val viewH: Int) {
    init {
        require(frameW > 0 && frameH > 0 && viewW > 0 && viewH > 0) { "letterbox of ${frameW}x$frameH into ${viewW}x$viewH" }
    }

    val scale: Double = min(viewW.toDouble() / frameW, viewH.toDouble() / frameH)
    val offsetX: Double = (viewW - frameW * scale) / 2.0
    val offsetY: Double = (viewH - frameH * scale) / 2.0
    fun toScreen(x: Double, y: Double): Pair<Double, Double> = Pair(offsetX + scale * x, offsetY + scale * y)
    fun toFrame(sx: Double, sy: Double): Pair<Double, Double> = Pair((sx - offsetX) / scale, (sy - offsetY) / scale)
}
