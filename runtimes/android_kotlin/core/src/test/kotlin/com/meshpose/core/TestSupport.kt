package com.meshpose.core

import java.io.File

/** Locates the repository's shared fixtures (tests/fixtures, written by the Python export) and this module's own. */
object Fixtures {
    /** The repository root: -Dmeshpose.repo (set by the make target and Gradle), else found upwards. */
    val repo: File by lazy {
        System.getProperty("meshpose.repo")?.let { File(it) }
            ?: generateSequence(File("").absoluteFile) { it.parentFile }.first { File(it, "tests/fixtures").isDirectory }
    }

    fun text(name: String): String = File(repo, "tests/fixtures/$name").readText()

    fun json(name: String): Map<String, Any?> = Json.parse(text(name)).asObject(name)

    /** A fixture of this module (core/src/test/resources), read from disk so no classpath setup is needed. */
    fun resource(name: String): Map<String, Any?> =
        Json.parse(File(repo, "runtimes/android_kotlin/core/src/test/resources/$name").readText()).asObject(name)

    /** Where tests leave files for checks outside the JVM (the make target validates them with Python). */
    fun outputDir(): File = File(repo, "build/kotlin-core/out").also { it.mkdirs() }
}

fun Any?.asMap(): Map<String, Any?> = asObject("value")

fun Any?.asDoubles(): DoubleArray = (this as List<*>).map { (it as Double) }.toDoubleArray()

fun Any?.asPoints(): DoubleArray = (this as List<*>).flatMap { (it as List<*>).map { v -> v as Double } }.toDoubleArray()
