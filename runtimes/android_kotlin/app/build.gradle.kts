import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

// SDK levels and the JVM target come from gradle/libs.versions.toml (reasons: BUILD_SETTINGS.md).
val jvmTargetVersion = libs.versions.jvmTarget.get()

android {
    namespace = "com.meshpose.sample"
    compileSdk = libs.versions.compileSdk.get().toInt()
    defaultConfig {
        applicationId = "com.meshpose.sample"
        minSdk = libs.versions.minSdk.get().toInt()
        targetSdk = libs.versions.targetSdk.get().toInt()
        versionCode = 1
        versionName = "0.1"
    }
    compileOptions {
        sourceCompatibility = JavaVersion.toVersion(jvmTargetVersion)
        targetCompatibility = JavaVersion.toVersion(jvmTargetVersion)
    }
    // The model is memory-mapped from assets: never compress it.
    androidResources { noCompress += listOf("tflite") }
}

// compilerOptions, not android { kotlinOptions { } }: the kotlinOptions DSL is "Deprecated (with error)"
// in the Kotlin Gradle plugin 2.3 (kotlinlang.org API reference of KotlinJvmOptions.jvmTarget).
kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.fromTarget(jvmTargetVersion)) }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.litert)
    // From LiteRT 2.3.0 the GPU accelerator library is this second artifact (Google's CompiledModel guide).
    implementation(libs.litert.gpu)
    implementation(libs.camera.core)
    implementation(libs.camera.camera2)
    implementation(libs.camera.lifecycle)
    implementation(libs.camera.view)
    implementation(libs.activity.ktx)
}
