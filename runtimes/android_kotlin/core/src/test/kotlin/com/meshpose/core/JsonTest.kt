package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class JsonTest {
    @Test
    fun roundTripKeepsValuesAndEscapes() {
        val v = mapOf("a" to listOf(1.5, "x\"y\\z\n\u0001", true, null), "b" to mapOf("c" to -2e-3, "d" to 1e21), "e" to listOf<Any>())
        assertEquals(v, Json.parse(Json.write(v)))
    }

    @Test
    fun parsesStandardJson() {
        val v = Json.parse(" {\"k\" : [0, -0.5, 1E3, 2e-2, \"\\u00e9\\/\"], \"n\": null, \"t\": true, \"f\": false, \"o\": {}} ").asMap()
        assertEquals(listOf(0.0, -0.5, 1000.0, 0.02, "é/"), v["k"])
        assertEquals(null, v["n"]); assertEquals(true, v["t"]); assertEquals(false, v["f"]); assertEquals(emptyMap<String, Any?>(), v["o"])
    }

    @Test
    fun writesIntegersWithoutFractionAndNonFiniteAsNull() {
        assertEquals("{\"i\":3,\"d\":0.25,\"nan\":null}", Json.write(linkedMapOf("i" to 3, "d" to 0.25, "nan" to Double.NaN)))
    }

    @Test
    fun malformedInputFailsWithJsonExceptionOnly() {
        val bad = listOf("", "[", "{", "{\"a\"", "{\"a\":", "[1,]", "{,}", "{1:2}", "[1 2]", "\"abc", "\"\\u12\"", "\"\\x\"",
            "01", "1.", "-", "+1", "NaN", "tru", "[1] x", "{\"a\":1,}", "\"a\u0001\"", "[".repeat(10_000))
        for (text in bad) {
            try {
                Json.parse(text); fail("accepted ${text.take(20)}")
            } catch (e: JsonException) {
                assertTrue(e.message!!.isNotBlank())
            }
        }
    }
}
