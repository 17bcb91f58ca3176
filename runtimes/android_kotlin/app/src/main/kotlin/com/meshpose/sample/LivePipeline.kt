package com.meshpose.sample

import com.meshpose.core.Crop
import com.meshpose.core.Detection
import com.meshpose.core.DetectorOutputs
import com.meshpose.core.FramePipeline
import com.meshpose.core.FrameResult
import com.meshpose.core.InputSampler
import com.meshpose.core.PersonDetector
import com.meshpose.core.PipelineConfig
import com.meshpose.core.RawOutputs

/** One upright RGBA_8888 camera frame; rows are [rowStride] bytes apart (CameraX pads them). */
class CameraFrame(val rgba: ByteArray, val width: Int, val height: Int, val rowStride: Int)

/**
 * The app's side of the core [FramePipeline]: detect() samples the letterboxed detector input and runs the
 * detector, infer() samples each crop and runs the mesh model once per crop (batch-1 models). Everything
 * else (tracking, smoothing, losing and re-finding people) is the core's, tested against Python there.
 * Call from one thread (the analysis executor).
 */
class LivePipeline(private val mesh: ModelRunner, private val detector: DetectorRunner, maxPeople: Int = DEFAULT_MAX_PEOPLE) {
    private val meshSampler = InputSampler(mesh.contract.inputWidth, mesh.contract.inputHeight, mesh.contract.nhwc,
        mesh.contract.crop.padRgb)
    private val detectorSampler = InputSampler(PersonDetector.INPUT_SIZE, PersonDetector.INPUT_SIZE, detector.contract.nhwc)
    private val anchors = PersonDetector.generateAnchors()

    /** Milliseconds the last [process] spent in the detector (0 when it did not detect) and in the mesh model. */
    var detectorMs = 0.0
        private set
    var meshMs = 0.0
        private set

    private val pipeline = FramePipeline<CameraFrame>(
        PipelineConfig(
            inW = mesh.contract.inputWidth, inH = mesh.contract.inputHeight, boxScale = mesh.contract.crop.boxScale,
            visibilityThreshold = mesh.contract.visibilityThreshold, maxPeople = maxPeople,
            originPx = mesh.contract.originPx,
        ),
        detect = ::detect,
        infer = ::infer,
    )

    private fun detect(f: CameraFrame): List<Detection> {
        val (input, _) = PersonDetector.sampleInput(detectorSampler, f.rgba, f.width, f.height, f.rowStride)
        val t0 = System.nanoTime()
        val out = detector.run(input)
        detectorMs = (System.nanoTime() - t0) / 1e6
        return DetectorOutputs.toDetections(out.regressors, out.scoreLogits, f.width, f.height, pipeline.config.maxPeople, anchors)
    }

    private fun infer(f: CameraFrame, crops: List<Crop>): List<RawOutputs> = crops.map { crop ->
        val input = meshSampler.sample(f.rgba, f.width, f.height, f.rowStride, crop)
        val t0 = System.nanoTime()
        val out = mesh.run(input)
        meshMs += (System.nanoTime() - t0) / 1e6
        RawOutputs.fromFloats(out.vertices, out.visibility, out.joints)
    }

    /** The people in [frame], taken at [tSeconds] (the camera's clock). */
    fun process(frame: CameraFrame, tSeconds: Double): FrameResult {
        detectorMs = 0.0
        meshMs = 0.0
        return pipeline.process(frame, tSeconds)
    }

    companion object {
        /** People tracked at once: each costs one mesh inference per frame. */
        const val DEFAULT_MAX_PEOPLE = 2
    }
}
