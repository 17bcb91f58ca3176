package com.meshpose.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** Decoding and crop geometry must match Python's (tests/fixtures/golden_xs.json) within 1e-4 px. */
class GoldenFixtureTest {
    private val fx = Fixtures.json("golden_xs.json")
    private val inW = fx.obj("input").num("width").toInt()
    private val inH = fx.obj("input").num("height").toInt()
    private val threshold = fx.num("visibility_threshold")
    private val origin = fx["origin_px"].asDoubles().toList()
    private val tol = 1e-4

    private fun cases() = fx.list("cases").map { it.asMap() }

    @Test
    fun fixtureHasTheContractVersionThisAppReads() {
        assertTrue((fx["contract_version"] as Double).toInt() in ModelIO.SUPPORTED_CONTRACT_VERSIONS)
        assertTrue(cases().size >= 3)
    }

    @Test
    fun cropFromPersonBoxMatchesPython() {
        for (case in cases()) {
            val b = case.list("person_box").map { it as Double }
            val crop = Geometry.cropFromBox(Box(b[0], b[1], b[2], b[3]), inW, inH)
            val want = case.obj("crop")
            assertEquals(want.num("x0"), crop.x0, 1e-9)
            assertEquals(want.num("y0"), crop.y0, 1e-9)
            assertEquals(want.num("scale"), crop.scale, 1e-12)
        }
    }

    @Test
    fun decodedMeshMatchesPython() {
        for (case in cases()) {
            val c = case.obj("crop")
            val crop = Crop(c.num("x0"), c.num("y0"), c.num("scale"))
            val raw = case.obj("raw")
            val mesh = Decoder.decode(
                raw["vertices"].asPoints().map { it.toFloat() }.toFloatArray(),
                raw["visibility"].asDoubles().map { it.toFloat() }.toFloatArray(),
                raw["joints"].asPoints().map { it.toFloat() }.toFloatArray(),
                crop, inW, inH, threshold, origin = origin,
            )
            val dec = case.obj("decoded")
            assertArrayEquals(case.str("name"), dec["vertices"].asPoints(), mesh.vertices, tol)
            assertArrayEquals(dec["joints"].asPoints(), mesh.joints, tol)
            assertEquals((dec["visible"] as List<*>).map { it as Boolean }, mesh.visible.toList())
            val wantBounds = dec["visible_bounds"] as List<*>?
            if (wantBounds == null) assertNull(mesh.visibleBounds) else {
                val got = mesh.visibleBounds!!
                assertArrayEquals(wantBounds.map { it as Double }.toDoubleArray(),
                    doubleArrayOf(got.x0, got.y0, got.x1, got.y1), tol)
            }
            val wantNext = dec["next_crop"]?.asMap()
            if (wantNext == null) assertNull(case.str("name"), mesh.nextCrop) else {
                val n = assertNotNullAndGet(mesh.nextCrop)
                assertEquals(wantNext.num("x0"), n.x0, tol)
                assertEquals(wantNext.num("y0"), n.y0, tol)
                assertEquals(wantNext.num("scale"), n.scale, 1e-6)
            }
        }
    }

    @Test
    fun cropGeometryRoundTrips() {
        val crop = Geometry.cropFromBox(Box(100.0, 50.0, 380.0, 700.0), inW, inH)
        for ((x, y) in listOf(0.0 to 0.0, 95.5 to 128.25, inW.toDouble() to inH.toDouble())) {
            val (fx2, fy2) = crop.toFrame(x, y)
            val (bx, by) = crop.toCrop(fx2, fy2)
            assertEquals(x, bx, 1e-9); assertEquals(y, by, 1e-9)
        }
        val lb = Letterbox(1920, 1080, 1080, 2340)
        val (sx, sy) = lb.toScreen(960.0, 540.0)
        val (rx, ry) = lb.toFrame(sx, sy)
        assertEquals(960.0, rx, 1e-9); assertEquals(540.0, ry, 1e-9)
        assertEquals(1080.0 / 1920.0, lb.scale, 1e-12)
        assertEquals(0.0, lb.offsetX, 1e-12)
        assertEquals((2340 - 1080 * 1080.0 / 1920.0) / 2, lb.offsetY, 1e-9) // letterboxed above and below
        val pillar = Letterbox(720, 1280, 2000, 1000) // a portrait frame in a landscape view
        assertEquals(1000.0 / 1280.0, pillar.scale, 1e-12)
        assertEquals((2000 - 720 * 1000.0 / 1280.0) / 2, pillar.offsetX, 1e-9)
        // Model input corner -> frame -> screen -> frame -> model input.
        val (sx2, sy2) = pillar.toScreen(crop.x0, crop.y0)
        val (fx3, fy3) = pillar.toFrame(sx2, sy2)
        val (u, v) = crop.toCrop(fx3, fy3)
        assertEquals(0.0, u, 1e-9); assertEquals(0.0, v, 1e-9)
    }

    private fun <T> assertNotNullAndGet(v: T?): T { assertNotNull(v); return v!! }
}
