package com.meshpose.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File

/**
 * The app module does not compile here (no Android SDK), so these checks hold its sources to the
 * facts other parts rely on: the benchmark harness's adb commands, the version catalogue, the manifest.
 */
class ProjectFilesTest {
    private val android = File(Fixtures.repo, "runtimes/android_kotlin")
    private fun appSource(name: String) = File(android, "app/src/main/kotlin/com/meshpose/sample/$name").readText()

    /** The value of `const val NAME = "..."` in a Kotlin source. */
    private fun constant(source: String, name: String): String =
        Regex("""const val $name = "([^"]*)"""").find(source)?.groupValues?.get(1) ?: error("no const $name")

    @Test
    fun benchmarkModeMatchesTheAndroidRunnerOfTheHarness() {
        val runner = File(Fixtures.repo, "benchmarks/runners/android.py").readText()
        val bench = appSource("BenchmarkMode.kt")
        val pkg = Regex("""APP_PACKAGE = "([^"]+)"""").find(runner)!!.groupValues[1]
        assertEquals("com.meshpose.sample", pkg)
        assertTrue(File(android, "app/build.gradle.kts").readText().contains("applicationId = \"$pkg\""))
        assertTrue(runner.contains("{APP_PACKAGE}/.MainActivity"))
        assertTrue(runner.contains("/files/${constant(bench, "RESULT_FILE")}\""))
        for (extra in listOf("EXTRA_RUNS", "EXTRA_WARMUP")) {
            assertTrue("the harness does not pass --ei ${constant(bench, extra)}", runner.contains("\"${constant(bench, extra)}\""))
        }
    }

    @Test
    fun reportedLiteRtVersionIsTheOneTheAppIsBuiltWith() {
        val catalogue = File(android, "gradle/libs.versions.toml").readText()
        val litert = Regex("""(?m)^litert = "([^"]+)"""").find(catalogue)!!.groupValues[1]
        assertEquals(litert, constant(appSource("BenchmarkMode.kt"), "LITERT_VERSION"))
    }

    @Test
    fun manifestDeclaresTheCameraAndTheLauncherActivity() {
        val manifest = File(android, "app/src/main/AndroidManifest.xml").readText()
        assertTrue(manifest.contains("android.permission.CAMERA"))
        assertTrue(manifest.contains("android:name=\".MainActivity\""))
        assertTrue(manifest.contains("android.intent.category.LAUNCHER"))
    }
}
