package com.meshpose.core

import java.io.InputStream
import java.security.MessageDigest

/** SHA-256 digests as lowercase hex, the form contracts and benchmark results carry. */
object Sha256 {
    /** The digest of everything [stream] holds (read to its end, not closed). */
    fun of(stream: InputStream): String {
        val md = MessageDigest.getInstance("SHA-256")
        val buf = ByteArray(1 shl 16)
        while (true) {
            val n = stream.read(buf)
            if (n < 0) break
            md.update(buf, 0, n)
        }
        return hex(md.digest())
    }

    /** The digest of [text]'s UTF-8 bytes. */
    fun of(text: String): String = hex(MessageDigest.getInstance("SHA-256").digest(text.toByteArray(Charsets.UTF_8)))

    /**
     * What a deployment of [parts] is identified by in results: the digest of its parts' digests joined in run order,
     * as export/evaluate.py hashes it for `make eval`.
     */
    fun ofDeployment(parts: List<ModelPart>): String = of(parts.joinToString("") { it.sha256 })

    private fun hex(digest: ByteArray): String = digest.joinToString("") { "%02x".format(it) }
}
