package com.meshpose.core

import java.io.File

/** Locates the repository's shared fixtures (tests/fixtures), written by the Python export. */
object Fixtures {
    private val repo: File by lazy {
        System.getProperty("meshpose.repo")?.let { File(it) }
            ?: generateSequence(File("").absoluteFile) { it.parentFile }.first { File(it, "tests/fixtures").isDirectory }
    }

    fun text(name: String): String = File(repo, "tests/fixtures/$name").readText()

    @Suppress("UNCHECKED_CAST")
    fun json(name: String): Map<String, Any?> = Json.parse(text(name)) as Map<String, Any?>
}

@Suppress("UNCHECKED_CAST")
fun Any?.asMap(): Map<String, Any?> = this as Map<String, Any?>

fun Any?.asDoubles(): DoubleArray = (this as List<*>).map { (it as Double) }.toDoubleArray()

fun Any?.asPoints(): DoubleArray = (this as List<*>).flatMap { (it as List<*>).map { v -> v as Double } }.toDoubleArray()
