package com.meshpose.core

/** The person detector's output tensors -> the frame pipeline's [Detection]s (model/tools/detect.py `person_detector`). */
object DetectorOutputs {
    /**
     * regressors (N x 12 row-major) and score logits (N) of the detector run on the letterboxed input of a
     * [frameWidth] x [frameHeight] frame -> up to [maxPeople] people: person box (frame pixels) and score,
     * highest score first. Letterbox, decoding and NMS are [PersonDetector]'s, in doubles.
     */
    fun toDetections(
        regressors: FloatArray,
        scoreLogits: FloatArray,
        frameWidth: Int,
        frameHeight: Int,
        maxPeople: Int = PersonDetector.DEFAULT_MAX_PEOPLE,
        anchors: Array<DoubleArray> = PersonDetector.generateAnchors(),
    ): List<Detection> {
        val lb = PersonDetector.letterbox(frameWidth, frameHeight)
        val people = PersonDetector.detectPeople(
            regressors.toDoubles(),
            scoreLogits.toDoubles(),
            lb, maxPeople, anchors = anchors,
        )
        return people.map { p -> Detection(Box(p.personBox[0], p.personBox[1], p.personBox[2], p.personBox[3]), p.score) }
    }
}
