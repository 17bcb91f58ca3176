import org.jetbrains.kotlin.gradle.dsl.JvmTarget

// Pure Kotlin/JVM: contract, geometry, decoding, smoothing, tracking, benchmark statistics.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

// No jvmToolchain(17): a toolchain request fails wherever no JDK 17 is installed and no toolchain
// resolver plugin is configured (Gradle user guide, "Toolchains for JVM projects"). The JDK that runs
// Gradle (17 or newer, AGP 8.13's minimum) compiles for the target below instead; Java and Kotlin
// targets must agree, or the Kotlin Gradle plugin stops with "Inconsistent JVM-target compatibility".
val jvmTargetVersion = libs.versions.jvmTarget.get()
java {
    sourceCompatibility = JavaVersion.toVersion(jvmTargetVersion)
    targetCompatibility = JavaVersion.toVersion(jvmTargetVersion)
}
kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.fromTarget(jvmTargetVersion)) }
}
dependencies {
    testImplementation(libs.junit)
}
tasks.test {
    // The shared fixtures live at the repository root (tests/fixtures).
    systemProperty("meshpose.repo", rootDir.resolve("../..").canonicalPath)
}
