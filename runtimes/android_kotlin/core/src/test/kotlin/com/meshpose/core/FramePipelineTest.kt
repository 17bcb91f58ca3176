package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** FramePipeline's parts and rules beyond the golden sequence: configuration, IoU, crop blending, failures. */
class FramePipelineTest {
    private val cfg = PipelineConfig(inW = 48, inH = 64)

    private fun refused(what: String, block: () -> Unit) {
        try { block(); throw AssertionError("accepted $what") } catch (e: IllegalArgumentException) { }
    }

    /** A mesh filling the middle of the crop, every vertex visible (or none). */
    private fun raw(visible: Boolean = true) = RawOutputs(
        DoubleArray(3 * 20) { i -> if (i % 3 == 2) 0.0 else 12.0 + (i / 3) % 5 * 6.0 + (i % 3) * (i / 15) * 8.0 },
        DoubleArray(20) { if (visible) 0.9 else 0.1 },
        DoubleArray(0),
    )

    @Test
    fun configHasPythonsDefaultsAndRefusesBadValues() {
        assertEquals(PipelineConfig(48, 64, 1.25, 0.5, 2, 10, 0.3, 0.7, 0.6, 1.0, 0.01, 1.0), cfg)
        refused("inW 0") { cfg.copy(inW = 0) }
        refused("inH -1") { cfg.copy(inH = -1) }
        refused("maxPeople 0") { cfg.copy(maxPeople = 0) }
        refused("detectEvery 0") { cfg.copy(detectEvery = 0) }
        refused("cropSmoothing 0") { cfg.copy(cropSmoothing = 0.0) }
        refused("cropSmoothing 1.5") { cfg.copy(cropSmoothing = 1.5) }
        refused("minCutoff 0") { cfg.copy(minCutoff = 0.0) }
        refused("beta -1") { cfg.copy(beta = -1.0) }
        cfg.copy(cropSmoothing = 1.0) // 1 = no smoothing is allowed
    }

    @Test
    fun iouOfBoxes() {
        val a = Box(0.0, 0.0, 10.0, 10.0)
        assertEquals(1.0, Geometry.iou(a, a), 0.0)
        assertEquals(0.0, Geometry.iou(a, Box(20.0, 0.0, 30.0, 10.0)), 0.0)
        assertEquals(0.0, Geometry.iou(a, Box(10.0, 0.0, 20.0, 10.0)), 0.0) // touching
        assertEquals(50.0 / 150.0, Geometry.iou(a, Box(5.0, 0.0, 15.0, 10.0)), 1e-15)
        assertEquals(25.0 / 100.0, Geometry.iou(a, Box(0.0, 0.0, 5.0, 5.0)), 1e-15) // contained
        assertEquals(0.0, Geometry.iou(Box(1.0, 1.0, 1.0, 1.0), Box(1.0, 1.0, 1.0, 1.0)), 0.0) // no area
    }

    @Test
    fun blendMixesCentresAndScales() {
        val a = Crop(0.0, 0.0, 2.0) // centre (48, 64)
        val b = Crop(100.0, 40.0, 1.0) // centre (124, 72)
        assertEquals(b, Geometry.blendCrops(a, b, 1.0, 48, 64))
        assertEquals(a, Geometry.blendCrops(a, b, 0.0, 48, 64))
        val m = Geometry.blendCrops(a, b, 0.25, 48, 64)
        assertEquals(1.75, m.scale, 1e-12)
        assertEquals(0.75 * 48 + 0.25 * 124, m.x0 + m.scale * 24, 1e-12)
        assertEquals(0.75 * 64 + 0.25 * 72, m.y0 + m.scale * 32, 1e-12)
    }

    @Test
    fun inferReturningTheWrongCountIsAnError() {
        val p = FramePipeline<Unit>(cfg, { listOf(Detection(Box(10.0, 10.0, 60.0, 110.0), 0.9)) }, { _, _ -> emptyList() })
        try {
            p.process(Unit, 0.0)
            throw AssertionError("accepted 0 outputs for 1 crop")
        } catch (e: IllegalStateException) {
            assertTrue(e.message!!.contains("0 outputs for 1 crops"))
        }
    }

    @Test
    fun nothingDetectedMeansNoInferenceAndDetectionEveryFrame() {
        var detects = 0
        val p = FramePipeline<Unit>(cfg, {
            detects++
            listOf(Detection(Box(5.0, 5.0, 5.0, 50.0), 0.9)) // no area: ignored
        }, { _, _ -> throw AssertionError("infer called without crops") })
        repeat(3) { assertEquals(FrameResult(true, emptyList(), emptyList(), emptyList()), p.process(Unit, it / 30.0)) }
        assertEquals(3, detects)
    }

    @Test
    fun newTracksTakeIdsByScoreUpToMaxPeopleAndDuplicatesKeepTheOlderId() {
        // Three overlapping detections, cap 2: the two best become tracks 1 and 2 (best first); both crops
        // see the same person, so track 2 duplicates track 1 and is dropped.
        val dets = listOf(Detection(Box(100.0, 100.0, 150.0, 200.0), 0.6), Detection(Box(101.0, 100.0, 151.0, 200.0), 0.9),
                          Detection(Box(102.0, 100.0, 152.0, 200.0), 0.8))
        val p = FramePipeline<Unit>(cfg, { dets }, { _, crops -> crops.map { raw() } })
        val r = p.process(Unit, 0.0)
        assertEquals(2, r.crops.size)
        assertEquals(Geometry.cropFromBox(dets[1].box, 48, 64), r.crops[0])
        assertEquals(Geometry.cropFromBox(dets[2].box, 48, 64), r.crops[1])
        assertEquals(listOf(1), r.people.map { it.id })
        assertEquals(0.9, r.people[0].score, 0.0)
        assertEquals(dets[1].box, r.people[0].detectionBox)
        assertEquals(listOf(2), r.lost)
    }

    @Test
    fun aTrackWithTooFewVisibleVerticesIsLostAndTheNextFrameDetects() {
        var visible = true
        val p = FramePipeline<Unit>(cfg.copy(detectEvery = 100), { listOf(Detection(Box(100.0, 100.0, 150.0, 200.0), 0.9)) },
            { _, crops -> crops.map { raw(visible) } })
        assertEquals(listOf(1), p.process(Unit, 0.0).people.map { it.id })
        assertEquals(false, p.process(Unit, 0.1).detected) // one person, room for two, but detectEvery not reached
        visible = false
        val lost = p.process(Unit, 0.2)
        assertEquals(listOf(1), lost.lost)
        assertTrue(lost.people.isEmpty())
        visible = true
        val again = p.process(Unit, 0.3)
        assertTrue(again.detected)
        assertEquals(listOf(2), again.people.map { it.id })
    }
}
