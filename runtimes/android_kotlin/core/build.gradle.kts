// Pure Kotlin/JVM: contract, geometry, decoding, smoothing, tracking, benchmark statistics.
plugins {
    alias(libs.plugins.kotlin.jvm)
}
kotlin { jvmToolchain(17) }
dependencies {
    testImplementation(libs.junit)
}
tasks.test {
    // The shared fixtures live at the repository root (tests/fixtures).
    systemProperty("meshpose.repo", rootDir.resolve("../..").canonicalPath)
}
