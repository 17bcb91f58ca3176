package com.meshpose.core

import kotlin.math.PI
import kotlin.math.atan2
import kotlin.math.ceil
import kotlin.math.floor
import kotlin.math.hypot
import kotlin.math.max
import kotlin.math.min

/**
 * Everything around MediaPipe's BlazePose person-detector network, ported line by line from the
 * Python reference model/pipeline/detector.py (which cites the MediaPipe calculator and graph option
 * behind every constant) and tested against tests/fixtures/detector_golden.json: letterbox, SSD
 * anchors, box and keypoint decoding, clipped sigmoid scores, MediaPipe's weighted non-maximum
 * suppression, the way back to frame pixels, the person box and the rotated ROI. Doubles throughout:
 * the fixture holds the reference's float64 results, which floats do not reach to 1e-4 px.
 */
object PersonDetector {
    const val INPUT_SIZE = 224
    const val NUM_COORDS = 12
    const val NUM_KEYPOINTS = 4
    const val DECODE_SCALE = 224.0
    const val SCORE_CLIPPING = 100.0
    const val MIN_SCORE = 0.5
    const val NMS_IOU = 0.3
    const val DEFAULT_MAX_PEOPLE = 2
    const val CENTER_KEYPOINT = 0 // mid-hip
    const val SCALE_KEYPOINT = 1 // encodes the full-body size and rotation
    const val ROI_TARGET_ANGLE_DEG = 90.0
    const val ROI_SCALE = 1.25

    // SsdAnchorsCalculatorOptions of the PoseDetectionCpu graph.
    private const val MIN_ANCHOR_SCALE = 0.1484375
    private const val MAX_ANCHOR_SCALE = 0.75
    private val STRIDES = intArrayOf(8, 16, 32, 32, 32)

    /** frame = (x0, y0) + scale * input; padding as fractions of the input (left, top, right, bottom). */
    data class Letterbox(val frameWidth: Int, val frameHeight: Int, val x0: Double, val y0: Double, val scale: Double,
                         val padding: DoubleArray) {
        /** The crop that samples the input as MediaPipe does: input pixel index u reads frame index x0 + s u. */
        val samplingCrop: Crop get() = (0.5 - 0.5 * scale).let { Crop(x0 + it, y0 + it, scale) }
    }

    /** MediaPipe's pose ROI: a square of side [size] about ([cx], [cy]), turned by [rotation] radians. */
    data class Roi(val cx: Double, val cy: Double, val size: Double, val rotation: Double)

    /** One person in frame pixels; the detection's own box is the face box. */
    class Person(val score: Double, val personBox: DoubleArray, val faceBox: DoubleArray, val keypoints: Array<DoubleArray>,
                 val roi: Roi, val anchor: Int)

    /** The square input around a frame: centred, the short side padded equally, scaled to [size]. */
    fun letterbox(frameWidth: Int, frameHeight: Int, size: Int = INPUT_SIZE): Letterbox {
        require(frameWidth > 0 && frameHeight > 0) { "frame size ${frameWidth}x$frameHeight must be positive" }
        val side = max(frameWidth, frameHeight).toDouble()
        val padX = (1.0 - frameWidth / side) / 2.0
        val padY = (1.0 - frameHeight / side) / 2.0
        return Letterbox(frameWidth, frameHeight, frameWidth / 2.0 - side / 2.0, frameHeight / 2.0 - side / 2.0,
            side / size, doubleArrayOf(padX, padY, padX, padY))
    }

    /**
     * The detector input of an RGBA frame: sampled bilinearly at MediaPipe's pixel phase, black outside
     * the frame, then rounded to whole levels (half to even) because MediaPipe resamples the 8-bit image.
     */
    fun sampleInput(sampler: InputSampler, rgba: ByteArray, frameW: Int, frameH: Int, rowStride: Int): Pair<FloatArray, Letterbox> {
        require(sampler.inW == INPUT_SIZE && sampler.inH == INPUT_SIZE) { "the detector input is ${INPUT_SIZE}x$INPUT_SIZE" }
        val lb = letterbox(frameW, frameH)
        val input = sampler.sample(rgba, frameW, frameH, rowStride, lb.samplingCrop)
        for (i in input.indices) input[i] = Math.rint(input[i].toDouble()).coerceIn(0.0, 255.0).toFloat()
        return input to lb
    }

    private fun layerScale(index: Int): Double =
        MIN_ANCHOR_SCALE + (MAX_ANCHOR_SCALE - MIN_ANCHOR_SCALE) * index / (STRIDES.size - 1.0)

    /** (x_centre, y_centre) of the 2254 anchors in normalised input coordinates, the network's output order. */
    fun generateAnchors(): Array<DoubleArray> {
        val out = ArrayList<DoubleArray>()
        var layer = 0
        while (layer < STRIDES.size) {
            var perCell = 0
            var last = layer
            while (last < STRIDES.size && STRIDES[last] == STRIDES[layer]) {
                perCell += 2 // one aspect ratio (1.0) and the interpolated-scale anchor; all fixed 1 x 1
                last++
            }
            val fm = ceil(INPUT_SIZE.toDouble() / STRIDES[layer]).toInt()
            for (y in 0 until fm) for (x in 0 until fm) repeat(perCell) {
                out.add(doubleArrayOf((x + 0.5) / fm, (y + 0.5) / fm))
            }
            layer = last
        }
        return out.toTypedArray()
    }

    private fun iou(a: DoubleArray, b: DoubleArray): Double {
        val iw = min(a[2], b[2]) - max(a[0], b[0])
        val ih = min(a[3], b[3]) - max(a[1], b[1])
        if (iw < 0 || ih < 0) return 0.0
        val inter = iw * ih
        val union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return if (union > 0) inter / union else 0.0
    }

    private fun toFrame(x: Double, y: Double, lb: Letterbox): DoubleArray {
        val side = lb.scale * INPUT_SIZE
        return doubleArrayOf(lb.x0 + side * x, lb.y0 + side * y)
    }

    /** Square around the body circle (mid-hip centre, radius to the full-body point), not clipped. */
    fun personBox(keypoints: Array<DoubleArray>): DoubleArray {
        val (cx, cy) = keypoints[CENTER_KEYPOINT].let { it[0] to it[1] }
        val r = hypot(keypoints[SCALE_KEYPOINT][0] - cx, keypoints[SCALE_KEYPOINT][1] - cy)
        return doubleArrayOf(cx - r, cy - r, cx + r, cy + r)
    }

    /** PoseDetectionToRoi: centre the mid-hip, side 2 r x 1.25, rotation normalised to [-pi, pi). */
    fun poseRoi(keypoints: Array<DoubleArray>): Roi {
        val (x0, y0) = keypoints[CENTER_KEYPOINT].let { it[0] to it[1] }
        val (x1, y1) = keypoints[SCALE_KEYPOINT].let { it[0] to it[1] }
        var rotation = ROI_TARGET_ANGLE_DEG * PI / 180.0 - atan2(-(y1 - y0), x1 - x0)
        rotation -= 2.0 * PI * floor((rotation + PI) / (2.0 * PI))
        return Roi(x0, y0, 2.0 * hypot(x1 - x0, y1 - y0) * ROI_SCALE, rotation)
    }

    /**
     * Raw outputs (regressors N x 12 row-major, score logits N) on a letterboxed frame -> up to
     * [maxPeople] people, highest score first.
     */
    fun detectPeople(regressors: DoubleArray, logits: DoubleArray, lb: Letterbox, maxPeople: Int = DEFAULT_MAX_PEOPLE,
                     threshold: Double = MIN_SCORE, anchors: Array<DoubleArray> = generateAnchors()): List<Person> {
        require(maxPeople >= 1) { "maxPeople must be >= 1, got $maxPeople" }
        require(threshold in 0.0..1.0) { "threshold is a probability in [0, 1], got $threshold" }
        val n = anchors.size
        require(regressors.size == n * NUM_COORDS) { "${regressors.size / NUM_COORDS} regressor rows for $n anchors" }
        require(logits.size == n) { "${logits.size} scores for $n anchors" }
        val boxes = Array(n) { DoubleArray(4) }
        val kps = Array(n) { Array(NUM_KEYPOINTS) { DoubleArray(2) } }
        val probs = DoubleArray(n)
        for (i in 0 until n) {
            val r = i * NUM_COORDS
            val (ax, ay) = anchors[i][0] to anchors[i][1] // fixed anchor size: 1 x 1
            val cx = regressors[r] / DECODE_SCALE + ax
            val cy = regressors[r + 1] / DECODE_SCALE + ay
            val w = regressors[r + 2] / DECODE_SCALE
            val h = regressors[r + 3] / DECODE_SCALE
            boxes[i] = doubleArrayOf(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
            for (k in 0 until NUM_KEYPOINTS) {
                kps[i][k][0] = regressors[r + 4 + 2 * k] / DECODE_SCALE + ax
                kps[i][k][1] = regressors[r + 5 + 2 * k] / DECODE_SCALE + ay
            }
            probs[i] = 1.0 / (1.0 + Math.exp(-logits[i].coerceIn(-SCORE_CLIPPING, SCORE_CLIPPING)))
        }
        val candidates = (0 until n).filter {
            val w = boxes[it][2] - boxes[it][0]
            val h = boxes[it][3] - boxes[it][1]
            probs[it] >= threshold && w >= 0 && h >= 0 && !w.isNaN() && !h.isNaN()
        }
        // Weighted NMS: highest score first (ties: lower anchor first); the best and every box with
        // IoU > 0.3 to it become one detection (score-weighted means of corners and keypoints).
        var order = candidates.sortedWith(compareBy<Int>({ -probs[it] }, { it }))
        val people = ArrayList<Person>()
        while (order.isNotEmpty() && people.size < maxPeople) {
            val top = order[0]
            val members = order.filter { iou(boxes[it], boxes[top]) > NMS_IOU }
            val rest = order.filter { it !in members }
            val box = DoubleArray(4)
            val points = Array(NUM_KEYPOINTS) { DoubleArray(2) }
            if (members.isEmpty()) {
                boxes[top].copyInto(box)
                for (k in 0 until NUM_KEYPOINTS) kps[top][k].copyInto(points[k])
            } else {
                val total = members.sumOf { probs[it] }
                for (m in members) {
                    val wt = probs[m] / total
                    for (c in 0 until 4) box[c] += wt * boxes[m][c]
                    for (k in 0 until NUM_KEYPOINTS) for (c in 0 until 2) points[k][c] += wt * kps[m][k][c]
                }
            }
            val framePoints = Array(NUM_KEYPOINTS) { toFrame(points[it][0], points[it][1], lb) }
            val face = toFrame(box[0], box[1], lb) + toFrame(box[2], box[3], lb)
            people.add(Person(probs[top], personBox(framePoints), face, framePoints, poseRoi(framePoints), top))
            if (rest.size == order.size) break
            order = rest
        }
        return people
    }
}
