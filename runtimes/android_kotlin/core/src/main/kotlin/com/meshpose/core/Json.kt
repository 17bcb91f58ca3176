package com.meshpose.core

/**
 * A small JSON reader and writer: contracts, fixtures and benchmark results are plain JSON,
 * and the core module stays dependency-free so that it compiles anywhere (no Maven here).
 */
object Json {
    /** Parses a JSON document into Map / List / Double / String / Boolean / null. */
    fun parse(text: String): Any? {
        val p = Parser(text)
        val value = p.value()
        p.skipWs()
        if (p.pos != text.length) throw JsonException("trailing characters at ${p.pos}")
        return value
    }

    /** Serialises Map / List / Number / String / Boolean / null (and arrays of numbers). */
    fun write(value: Any?): String = StringBuilder().also { writeTo(it, value) }.toString()

    private fun writeTo(sb: StringBuilder, v: Any?) {
        when (v) {
            null -> sb.append("null")
            is String -> writeString(sb, v)
            is Boolean -> sb.append(v)
            is Int, is Long -> sb.append(v)
            is Number -> {
                val d = v.toDouble()
                if (d.isNaN() || d.isInfinite()) sb.append("null") else sb.append(d)
            }
            is Map<*, *> -> {
                sb.append('{')
                v.entries.forEachIndexed { i, (k, x) ->
                    if (i > 0) sb.append(',')
                    writeString(sb, k.toString()); sb.append(':'); writeTo(sb, x)
                }
                sb.append('}')
            }
            is Iterable<*> -> {
                sb.append('[')
                v.forEachIndexed { i, x -> if (i > 0) sb.append(','); writeTo(sb, x) }
                sb.append(']')
            }
            is DoubleArray -> writeTo(sb, v.toList())
            is FloatArray -> writeTo(sb, v.map { it.toDouble() })
            else -> throw JsonException("cannot serialise ${v::class.simpleName}")
        }
    }

    private fun writeString(sb: StringBuilder, s: String) {
        sb.append('"')
        for (c in s) {
            when (c) {
                '"' -> sb.append("\\\"")
                '\\' -> sb.append("\\\\")
                '\n' -> sb.append("\\n")
                '\r' -> sb.append("\\r")
                '\t' -> sb.append("\\t")
                else -> if (c < ' ') sb.append(String.format("\\u%04x", c.code)) else sb.append(c)
            }
        }
        sb.append('"')
    }

    /** Recursive-descent reader; every malformed input ends in a [JsonException] naming the offset. */
    private class Parser(val s: String) {
        var pos = 0
        private var depth = 0

        fun skipWs() {
            while (pos < s.length && s[pos] in " \t\r\n") pos++
        }

        /** The next character, or a JsonException at the end of the text. */
        private fun next(): Char {
            if (pos >= s.length) throw JsonException("unexpected end of JSON at $pos")
            return s[pos++]
        }

        private fun peek(): Char {
            if (pos >= s.length) throw JsonException("unexpected end of JSON at $pos")
            return s[pos]
        }

        fun value(): Any? {
            skipWs()
            return when (val c = peek()) {
                '{' -> nested { obj() }
                '[' -> nested { arr() }
                '"' -> str()
                't' -> lit("true", true)
                'f' -> lit("false", false)
                'n' -> lit("null", null)
                else -> if (c == '-' || c in '0'..'9') num() else throw JsonException("unexpected '$c' at $pos")
            }
        }

        /** Bounds nesting so that hostile input fails with a message, not a StackOverflowError. */
        private inline fun <T> nested(body: () -> T): T {
            if (++depth > MAX_DEPTH) throw JsonException("nesting deeper than $MAX_DEPTH at $pos")
            try { return body() } finally { depth-- }
        }

        private fun lit(word: String, v: Any?): Any? {
            if (!s.startsWith(word, pos)) throw JsonException("bad literal at $pos")
            pos += word.length
            return v
        }

        private fun num(): Double {
            val start = pos
            while (pos < s.length && (s[pos] in '0'..'9' || s[pos] in "+-.eE")) pos++
            val text = s.substring(start, pos)
            // toDoubleOrNull alone would also take "NaN", "1f" or hex; JSON numbers are narrower.
            if (!NUMBER.matches(text)) throw JsonException("bad number '$text' at $start")
            return text.toDouble()
        }

        private fun str(): String {
            if (next() != '"') throw JsonException("expected a string at ${pos - 1}")
            val sb = StringBuilder()
            while (true) {
                when (val c = next()) {
                    '"' -> return sb.toString()
                    '\\' -> when (val e = next()) {
                        'n' -> sb.append('\n')
                        't' -> sb.append('\t')
                        'r' -> sb.append('\r')
                        'b' -> sb.append('\b')
                        'f' -> sb.append('\u000c')
                        '"', '\\', '/' -> sb.append(e)
                        'u' -> {
                            val hex = if (pos + 4 <= s.length) s.substring(pos, pos + 4) else ""
                            val code = hex.toIntOrNull(16) ?: throw JsonException("bad \\u escape at $pos")
                            sb.append(code.toChar()); pos += 4
                        }
                        else -> throw JsonException("bad escape '\\$e' at ${pos - 1}")
                    }
                    else -> if (c < ' ') throw JsonException("control character in string at ${pos - 1}") else sb.append(c)
                }
            }
        }

        private fun arr(): List<Any?> {
            pos++
            val out = ArrayList<Any?>()
            skipWs()
            if (peek() == ']') { pos++; return out }
            while (true) {
                out.add(value())
                skipWs()
                when (next()) {
                    ',' -> continue
                    ']' -> return out
                    else -> throw JsonException("expected , or ] at ${pos - 1}")
                }
            }
        }

        private fun obj(): Map<String, Any?> {
            pos++
            val out = LinkedHashMap<String, Any?>()
            skipWs()
            if (peek() == '}') { pos++; return out }
            while (true) {
                skipWs()
                val k = str()
                skipWs()
                if (next() != ':') throw JsonException("expected : at ${pos - 1}")
                out[k] = value()
                skipWs()
                when (next()) {
                    ',' -> continue
                    '}' -> return out
                    else -> throw JsonException("expected , or } at ${pos - 1}")
                }
            }
        }

        companion object {
            const val MAX_DEPTH = 256
            private val NUMBER = Regex("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")
        }
    }
}

class JsonException(message: String) : RuntimeException(message)

/** Typed accessors on parsed JSON, with errors that name the missing or mistyped field. */
@Suppress("UNCHECKED_CAST")
fun Any?.asObject(what: String): Map<String, Any?> =
    this as? Map<String, Any?> ?: throw JsonException("$what is not a JSON object")

fun Map<String, Any?>.obj(key: String): Map<String, Any?> =
    this[key].asObject("'$key'")

fun Map<String, Any?>.list(key: String): List<Any?> =
    this[key] as? List<Any?> ?: throw JsonException("missing array '$key'")

fun Map<String, Any?>.num(key: String): Double =
    (this[key] as? Double) ?: throw JsonException("missing number '$key'")

/** An integral number (JSON has one number type; 1.5 where a count is expected is an error). */
fun Map<String, Any?>.int(key: String): Int {
    val d = num(key)
    if (d != Math.floor(d) || d !in Int.MIN_VALUE.toDouble()..Int.MAX_VALUE.toDouble()) {
        throw JsonException("'$key' is not an integer: $d")
    }
    return d.toInt()
}

fun Map<String, Any?>.str(key: String): String =
    (this[key] as? String) ?: throw JsonException("missing string '$key'")

/** A JSON array of integers, e.g. a shape or a face. */
fun Any?.asIntArray(what: String): IntArray {
    val items = this as? List<*> ?: throw JsonException("$what is not an array")
    return IntArray(items.size) { i ->
        val d = items[i] as? Double ?: throw JsonException("$what[$i] is not a number")
        if (d != Math.floor(d)) throw JsonException("$what[$i] is not an integer: $d")
        d.toInt()
    }
}

fun Map<String, Any?>.intList(key: String): List<Int> = this[key].asIntArray("'$key'").toList()
