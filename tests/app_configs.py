"""Static checks of the two sample apps' build configuration (issue #17).

Neither app can be built here (no Xcode, no Android SDK, no Maven), so these checks read the XcodeGen spec,
the Gradle files, the wrapper and a few source patterns, and compare them with facts taken from the vendors'
documentation. Each fact below names its source. `check_ios(root)` and `check_android(root)` return a list
of defects, each "<id>: <what is wrong>"; an empty list means the configuration passes. `root` is the
repository root (or a copy of it). tests/test_app_configs.py runs them on the real files and on copies of
the files as they were before issue #17, where each check must report its defect.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from pathlib import Path

import yaml

IOS = Path("runtimes/ios_swift")
ANDROID = Path("runtimes/android_kotlin")

# --- facts -----------------------------------------------------------------------------------------------

# SWIFT_VERSION takes a language mode. Xcode 16 stops with "SWIFT_VERSION '3.0' is unsupported, supported
# versions are: 4.0, 4.2, 5.0, 6.0." for anything else (Xcode's build-system error text, as quoted in
# public build logs; Apple documents no list).
SWIFT_LANGUAGE_MODES = {"4.0", "4.2", "5.0", "6.0"}

# XcodeGen puts .mlpackage in the Sources phase (so Xcode compiles it to .mlmodelc) from 2.38.0 on
# (XcodeGen CHANGELOG 2.38.0, "`.mlpackage` files now default to being a source type #1398").
XCODEGEN_MLPACKAGE_AS_SOURCE = (2, 38, 0)

# Oldest Kotlin compiler that reads the metadata of a LiteRT release's Kotlin classes (a compiler reads
# metadata up to one minor version ahead of itself: "The actual metadata version is 2.4.0, but the compiler
# version 2.2.0 can read versions up to 2.3.0"). Sources: LiteRT issue #4887 (2.1.0 is built with Kotlin
# 2.2.0); google-ai-edge/litert-samples commit 6e81d3e8 "Kotlin 2.2.10 (read litert 2.1.5 metadata)";
# for 2.2.0 and later (built with rules_kotlin 2.3.20) Google's samples moved to Kotlin 2.3.0 together with
# LiteRT 2.1.6 (litert-samples 1dcc9618, 572d5122). The metadata version of LiteRT 2.3.0's classes was not
# read here (no Maven repository is reachable), so 2.3 is the floor that Google's own samples build with.
LITERT_MIN_KOTLIN = [((2, 2, 0), (2, 3, 0)), ((2, 1, 5), (2, 2, 0)), ((2, 1, 0), (2, 1, 0))]

# Earliest Android Gradle plugin for each Kotlin release (developer.android.com/build/kotlin-support;
# AGP 8.13.2 release notes: "Kotlin 2.3 support: Android Gradle plugin 8.13.2 uses R8 8.13.19").
KOTLIN_MIN_AGP = {(2, 1): (8, 6, 0), (2, 2): (8, 10, 0), (2, 3): (8, 13, 2)}

# Minimum Gradle and maximum compileSdk of an AGP minor release (AGP release notes, "Compatibility").
AGP_MIN_GRADLE = {(8, 7): (8, 9), (8, 13): (8, 13)}
AGP_MAX_API = {(8, 7): 35, (8, 13): 36}

# Gradle's published checksums. Wrapper jar: Gradle's own list that gradle/actions/wrapper-validation
# checks against (github.com/gradle/actions, sources/src/wrapper-validation/wrapper-checksums.json).
# Distribution zip: as pinned by Gradle's own repository gradle/develocity-export-api-samples (PR 118) and
# reported from gradle.org/release-checksums by the Update Gradle Wrapper action; gradle.org itself is not
# reachable from this machine.
GRADLE_WRAPPER_JAR_SHA256 = {"8.13": "81a82aaea5abcc8ff68b3dfcb58b3c3c429378efd98e7433460610fecd7ae45f"}
GRADLE_BIN_ZIP_SHA256 = {"8.13": "20f1b1176237254a6fc204d8434196fa11a4cfb387567519c61556e8710aed78"}

# The kotlinOptions DSL is "Deprecated (with error)" in the Kotlin Gradle plugin 2.3 API reference
# (KotlinJvmOptions.jvmTarget); in 2.2 it is deprecated with a warning.
KOTLIN_OPTIONS_ERROR_FROM = (2, 3)

# Android 15 draws apps that target API 35 edge to edge (Android 15 behaviour changes).
EDGE_TO_EDGE_TARGET_SDK = 35


def version(text: str) -> tuple[int, ...]:
    """'2.3.0' -> (2, 3, 0); a pre-release suffix is dropped ('2.4.0-Beta1' -> (2, 4, 0))."""
    return tuple(int(p) for p in re.findall(r"\d+", text.split("-")[0]))


def _truthy(value) -> bool:
    # PyYAML reads YAML 1.1, where YES is a boolean; Xcode wants the string "YES".
    return value is True or str(value).upper() == "YES"


def _code(text: str) -> str:
    """Source text without // and /* */ comments (good enough for the patterns below)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


# --- iOS ---------------------------------------------------------------------------------------------------


def check_ios(root: Path) -> list[str]:
    ios = root / IOS
    spec = yaml.safe_load((ios / "project.yml").read_text())
    problems: list[str] = []
    options = spec.get("options", {})
    minimum = str(options.get("minimumXcodeGenVersion", "0"))
    if version(minimum) < XCODEGEN_MLPACKAGE_AS_SOURCE:
        problems.append(f"ios.xcodegen-version: minimumXcodeGenVersion {minimum} does not guarantee that the "
                        ".mlpackage is compiled (2.38.0 or later does)")
    for name, target in spec.get("targets", {}).items():
        base = target.get("settings", {}).get("base", {})
        swift = base.get("SWIFT_VERSION")
        swift = f"{swift:.1f}" if isinstance(swift, float) else str(swift)
        if swift not in SWIFT_LANGUAGE_MODES:
            problems.append(f"ios.swift-version: {name} sets SWIFT_VERSION {swift}, not a language mode "
                            f"({', '.join(sorted(SWIFT_LANGUAGE_MODES))})")
        if target.get("type") != "application":
            continue
        if not _truthy(base.get("GENERATE_INFOPLIST_FILE")):
            problems.append(f"ios.info-plist: {name} does not generate its Info.plist, so no INFOPLIST_KEY_* applies")
        if not str(base.get("INFOPLIST_KEY_NSCameraUsageDescription", "")).strip():
            problems.append(f"ios.camera-usage: {name} has no NSCameraUsageDescription "
                            "(iOS ends the app when it asks for the camera)")
        if not (_truthy(base.get("INFOPLIST_KEY_UILaunchScreen_Generation"))
                or base.get("INFOPLIST_KEY_UILaunchStoryboardName")):
            problems.append(f"ios.launch-screen: {name} has no launch screen key, so iOS letterboxes the app")
        orientations = str(base.get("INFOPLIST_KEY_UISupportedInterfaceOrientations_iPhone",
                                    base.get("INFOPLIST_KEY_UISupportedInterfaceOrientations", ""))).split()
        if orientations != ["UIInterfaceOrientationPortrait"]:
            problems.append(f"ios.orientation: {name} allows {orientations or 'every orientation'} while capture "
                            "is fixed at 90 degrees (portrait)")
        sources = [Path(s if isinstance(s, str) else s["path"]) for s in target.get("sources", [])]
        for i, a in enumerate(sources):
            for b in sources[i + 1:]:
                if a == b or a in b.parents or b in a.parents:
                    problems.append(f"ios.duplicate-resources: {name} lists {a} and {b}, which overlap: the "
                                    "files inside are added twice (a folder entry copies the raw .mlpackage)")
    problems += _check_ios_sources(ios / "MeshPoseApp")
    return problems


def _check_ios_sources(app: Path) -> list[str]:
    problems: list[str] = []
    for path in sorted(app.glob("*.swift")):
        code = _code(path.read_text())
        if re.search(r"\.dataPointer\b", code):
            problems.append(f"ios.strides: {path.name} reads a multi-array through dataPointer as if contiguous; "
                            "Core ML's storage may not be contiguous: read it through strides")
        for call in re.finditer(r"CVPixelBufferCreate\(([^;]*?)&", code, flags=re.S):
            if re.search(r",\s*nil\s*,\s*$", call.group(1)) or "kCVPixelBufferIOSurfacePropertiesKey" not in code:
                problems.append(f"ios.iosurface: {path.name} creates a pixel buffer without "
                                "kCVPixelBufferIOSurfacePropertiesKey, so it is not IOSurface-backed")
        if "@MainActor" in code:
            sync_load = r"(?<![.\w])ModelRunner\(|MLModel\(contentsOf|MLComputePlan\.load|ComputePlanReport\.summary\("
            if re.search(sync_load, code):
                problems.append(f"ios.main-actor-load: {path.name} is @MainActor and loads the model or its compute "
                                "plan synchronously or on the main actor (seconds on the first Neural Engine compile)")
            if re.search(r"nonisolated\(unsafe\)[^\n]*\bvar\s+processor\b", code):
                problems.append(f"ios.shared-processor: {path.name} writes `processor` on the main actor and reads "
                                "it on the capture queue without synchronisation")
    return problems


# --- Android -----------------------------------------------------------------------------------------------


def _catalogue(android: Path) -> dict:
    return tomllib.loads((android / "gradle/libs.versions.toml").read_text())


def _sdk(build: str, versions: dict, name: str) -> int | None:
    m = re.search(rf"\b{name}\s*=\s*(\d+)", build)
    if m:
        return int(m.group(1))
    if re.search(rf"\b{name}\s*=\s*libs\.versions\.{name}\.get\(\)\.toInt\(\)", build) and name in versions:
        return int(versions[name])
    return None


def _wrapper_properties(android: Path) -> dict[str, str]:
    path = android / "gradle/wrapper/gradle-wrapper.properties"
    props = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            props[key.strip()] = value.strip().replace("\\:", ":")
    return props


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_android(root: Path) -> list[str]:
    android = root / ANDROID
    problems: list[str] = []
    cat = _catalogue(android)
    versions = cat.get("versions", {})
    kotlin, agp, litert = (versions.get(k, "0") for k in ("kotlin", "agp", "litert"))

    for litert_from, kotlin_min in LITERT_MIN_KOTLIN:
        if version(litert) >= litert_from:
            if version(kotlin)[:2] < kotlin_min[:2]:
                problems.append(f"android.kotlin-metadata: Kotlin {kotlin} cannot read the Kotlin metadata of LiteRT "
                                f"{litert}; it needs Kotlin {'.'.join(map(str, kotlin_min[:2]))} or later")
            break
    agp_min = KOTLIN_MIN_AGP.get(version(kotlin)[:2])
    if agp_min and version(agp) < agp_min:
        problems.append(f"android.agp-for-kotlin: Kotlin {kotlin} needs AGP {'.'.join(map(str, agp_min))} or later, "
                        f"the catalogue has {agp}")

    props = _wrapper_properties(android)
    url = props.get("distributionUrl", "")
    m = re.search(r"gradle-([\d.]+)-(bin|all)\.zip$", url)
    gradle = m.group(1) if m else "?"
    gradle_min = AGP_MIN_GRADLE.get(version(agp)[:2])
    if gradle_min and version(gradle) < gradle_min:
        problems.append(f"android.gradle-for-agp: AGP {agp} needs Gradle {'.'.join(map(str, gradle_min))} or later, "
                        f"the wrapper has {gradle}")
    known_zip = GRADLE_BIN_ZIP_SHA256.get(gradle) if m and m.group(2) == "bin" else None
    if props.get("distributionSha256Sum") is None:
        problems.append("android.distribution-sha: gradle-wrapper.properties has no distributionSha256Sum")
    elif known_zip and props["distributionSha256Sum"] != known_zip:
        problems.append(f"android.distribution-sha: distributionSha256Sum is not Gradle's published sum of {url}")
    problems += _check_wrapper(android, gradle)

    builds = {p.relative_to(android).as_posix(): p.read_text() for p in android.rglob("*.gradle.kts")}
    app_build = builds.get("app/build.gradle.kts", "")
    for rel, text in builds.items():
        code = _code(text)
        if "kotlinOptions" in code and version(kotlin)[:2] >= KOTLIN_OPTIONS_ERROR_FROM:
            problems.append(f"android.kotlin-options: {rel} uses the kotlinOptions DSL, an error in the Kotlin "
                            f"Gradle plugin {kotlin}; use compilerOptions")
        if re.search(r"jvmToolchain\s*\(|\btoolchain\s*\{", code) and "foojay-resolver" not in builds.get(
                "settings.gradle.kts", ""):
            problems.append(f"android.jvm-toolchain: {rel} requests a JVM toolchain but no toolchain resolver is "
                            "configured, so the build fails wherever that JDK is not installed")
    compile_sdk = _sdk(app_build, versions, "compileSdk")
    target_sdk = _sdk(app_build, versions, "targetSdk")
    max_api = AGP_MAX_API.get(version(agp)[:2])
    if compile_sdk is None or target_sdk is None:
        problems.append("android.sdk: compileSdk or targetSdk of the app cannot be read")
    else:
        if max_api and compile_sdk > max_api:
            problems.append(f"android.sdk: compileSdk {compile_sdk} is above AGP {agp}'s maximum API {max_api}")
        if target_sdk > compile_sdk:
            problems.append(f"android.sdk: targetSdk {target_sdk} is above compileSdk {compile_sdk}")

    sources = android / "app/src/main/kotlin/com/meshpose/sample"
    main_activity = _code((sources / "MainActivity.kt").read_text())
    if target_sdk and target_sdk >= EDGE_TO_EDGE_TARGET_SDK and not re.search(
            r"setOnApplyWindowInsetsListener|WindowInsetsCompat|safeDrawing", main_activity):
        problems.append(f"android.edge-to-edge: targetSdk {target_sdk} draws the app under the system bars and "
                        "MainActivity applies no window insets, so the status text sits under the status bar")
    for path in sorted(sources.glob("*.kt")):
        if re.search(r"Environment\.create\(\s*\)", _code(path.read_text())):
            problems.append(f"android.litert-cache: {path.name} calls Environment.create() without a Context, which "
                            "leaves LiteRT's compiled-kernel cache off (the GPU recompiles on every launch)")
    manifest = (android / "app/src/main/AndroidManifest.xml").read_text()
    if not re.search(r'<uses-permission\s+android:name="android\.permission\.CAMERA"', manifest):
        problems.append("android.camera-permission: the manifest does not declare android.permission.CAMERA")

    script = (root / "scripts/kotlin_core_test.sh").read_text()
    if re.search(r"(?m)^KOTLIN_VERSION=\d", script) or "libs.versions.toml" not in script:
        problems.append("android.core-kotlin: scripts/kotlin_core_test.sh does not take its Kotlin version from "
                        "the app's version catalogue, so the core suite is compiled by another compiler than the app")
    return problems


def _check_wrapper(android: Path, gradle: str) -> list[str]:
    problems: list[str] = []
    files = ["gradlew", "gradlew.bat", "gradle/wrapper/gradle-wrapper.jar"]
    missing = [f for f in files if not (android / f).is_file()]
    if missing:
        return [f"android.wrapper: {', '.join(missing)} missing: no Gradle wrapper to build with"]
    if not os.access(android / "gradlew", os.X_OK):
        problems.append("android.wrapper: gradlew is not executable")
    provenance_path = android / "gradle/wrapper/wrapper-provenance.json"
    if not provenance_path.is_file():
        return [*problems, "android.wrapper: gradle/wrapper/wrapper-provenance.json (origin and SHA-256) missing"]
    provenance = json.loads(provenance_path.read_text())
    for f in files:
        if _sha256(android / f) != provenance["files"].get(f):
            problems.append(f"android.wrapper: {f} differs from the SHA-256 recorded in wrapper-provenance.json")
    jar = _sha256(android / "gradle/wrapper/gradle-wrapper.jar")
    if GRADLE_WRAPPER_JAR_SHA256.get(provenance.get("gradle_version")) != jar:
        problems.append("android.wrapper: gradle-wrapper.jar is not Gradle's published wrapper jar of "
                        f"{provenance.get('gradle_version')}")
    if provenance.get("gradle_version") != gradle:
        problems.append(f"android.wrapper: the wrapper comes from Gradle {provenance.get('gradle_version')} but "
                        f"gradle-wrapper.properties asks for {gradle}")
    return problems
