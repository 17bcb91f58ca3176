package com.meshpose.core

/** A person found by the detector: box in frame pixels and its score. */
data class Detection(val box: Box, val score: Double)

/**
 * One crop's model outputs, batch dimension removed, in crop pixels: vertices (V*3), visibility (V),
 * joints (J*3, empty for a model without joints). Doubles, so replayed fixtures decode exactly as in Python.
 */
class RawOutputs(val vertices: DoubleArray, val visibility: DoubleArray, val joints: DoubleArray) {
    companion object {
        /** From the model's float tensors (widened exactly). */
        fun fromFloats(vertices: FloatArray, visibility: FloatArray, joints: FloatArray) =
            RawOutputs(vertices.toDoubles(), visibility.toDoubles(), joints.toDoubles())
    }
}

/** One person's result in one frame. */
data class Person(
    val id: Int,
    /** The visible bounds of the mesh. */
    val box: Box,
    /** The detector score that started or last confirmed the track. */
    val score: Double,
    /** That detector box. */
    val detectionBox: Box,
    /** The crop the model saw. */
    val crop: Crop,
    /** Frame pixels; vertices and joints smoothed. */
    val mesh: DecodedMesh,
)

/** Everything the pipeline did with one frame: whether it ran the detector, the crops inferred, people in id order, lost ids. */
data class FrameResult(val detected: Boolean, val crops: List<Crop>, val people: List<Person>, val lost: List<Int>)

/** A model's float tensor widened exactly to doubles (the ports compute in doubles, as the Python reference). */
fun FloatArray.toDoubles(): DoubleArray = DoubleArray(size) { this[it].toDouble() }
