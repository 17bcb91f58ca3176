"""The sample apps' build configuration against the recorded version set and the vendors' facts (issue #17).

Each check of tests/app_configs.py passes on the files as they are, and reports its defect on a copy of the
repository where the files it reads are put back as they were before issue #17
(tests/fixtures/apps_before_issue17, copied unmodified from the commit before the fixes).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tests.app_configs import GRADLE_BIN_ZIP_SHA256, GRADLE_WRAPPER_JAR_SHA256, check_android, check_ios

REPO = Path(__file__).resolve().parent.parent
BEFORE = REPO / "tests/fixtures/apps_before_issue17"
IOS_APP = "runtimes/ios_swift/MeshPoseApp"
ANDROID_SRC = "runtimes/android_kotlin/app/src/main/kotlin/com/meshpose/sample"


def _copy_repo(tmp: Path) -> Path:
    root = tmp / "repo"
    ignore = shutil.ignore_patterns(".build", "build", ".gradle", "*.xcodeproj")
    for part in ("runtimes/ios_swift", "runtimes/android_kotlin"):
        shutil.copytree(REPO / part, root / part, ignore=ignore)
    (root / "scripts").mkdir()
    shutil.copy2(REPO / "scripts/kotlin_core_test.sh", root / "scripts")
    return root


def _put_back(root: Path, *paths: str) -> None:
    """Replace each file of the copy by its content from before issue #17."""
    for rel in paths:
        (root / rel).write_text((BEFORE / f"{rel}.txt").read_text())


def test_current_ios_configuration_passes():
    assert check_ios(REPO) == []


def test_current_android_configuration_passes():
    assert check_android(REPO) == []


# defect id -> the files that, put back as they were, must make the checker report it.
BEFORE_ISSUE_17 = {
    "ios.swift-version": ["runtimes/ios_swift/project.yml"],
    "ios.launch-screen": ["runtimes/ios_swift/project.yml"],
    "ios.orientation": ["runtimes/ios_swift/project.yml"],
    "ios.duplicate-resources": ["runtimes/ios_swift/project.yml"],
    "ios.xcodegen-version": ["runtimes/ios_swift/project.yml"],
    "ios.main-actor-load": [f"{IOS_APP}/CameraController.swift"],
    "ios.shared-processor": [f"{IOS_APP}/CameraController.swift"],
    "ios.strides": [f"{IOS_APP}/ModelRunner.swift"],
    "ios.iosurface": [f"{IOS_APP}/FrameProcessor.swift", f"{IOS_APP}/BenchmarkView.swift"],
    "android.kotlin-metadata": ["runtimes/android_kotlin/gradle/libs.versions.toml"],
    "android.kotlin-options": ["runtimes/android_kotlin/app/build.gradle.kts"],
    "android.jvm-toolchain": ["runtimes/android_kotlin/core/build.gradle.kts"],
    "android.distribution-sha": ["runtimes/android_kotlin/gradle/wrapper/gradle-wrapper.properties"],
    "android.edge-to-edge": [f"{ANDROID_SRC}/MainActivity.kt"],
    "android.litert-cache": [f"{ANDROID_SRC}/ModelRunner.kt"],
    "android.core-kotlin": ["scripts/kotlin_core_test.sh"],
}


@pytest.mark.parametrize("defect", sorted(BEFORE_ISSUE_17))
def test_each_check_reports_its_defect_in_the_files_before_issue_17(tmp_path, defect):
    root = _copy_repo(tmp_path)
    _put_back(root, *BEFORE_ISSUE_17[defect])
    check = check_ios if defect.startswith("ios.") else check_android
    found = [p for p in check(root) if p.startswith(f"{defect}:")]
    assert found, f"{defect} not reported on the old {BEFORE_ISSUE_17[defect]}"


def test_all_old_files_together_report_every_defect(tmp_path):
    root = _copy_repo(tmp_path)
    _put_back(root, *sorted({f for files in BEFORE_ISSUE_17.values() for f in files}))
    android = root / "runtimes/android_kotlin"
    for f in ("gradlew", "gradlew.bat", "gradle/wrapper/gradle-wrapper.jar", "gradle/wrapper/wrapper-provenance.json"):
        (android / f).unlink()
    reported = {p.split(":")[0] for p in check_ios(root) + check_android(root)}
    # kotlinOptions was valid with the old Kotlin 2.1; it is a defect only together with the Kotlin that LiteRT
    # 2.3 needs (2.3, where the DSL is an error), which the isolated test above checks.
    assert set(BEFORE_ISSUE_17) - {"android.kotlin-options"} <= reported
    assert "android.wrapper" in reported  # there was no wrapper at all


def test_old_camera_usage_and_permission_were_present_and_their_loss_is_caught(tmp_path):
    # Not defects of issue 17 (they were there), but the checks must still catch their removal.
    root = _copy_repo(tmp_path)
    spec = root / "runtimes/ios_swift/project.yml"
    spec.write_text(re.sub(r"(?m)^\s*INFOPLIST_KEY_NSCameraUsageDescription:.*\n", "", spec.read_text()))
    manifest = root / "runtimes/android_kotlin/app/src/main/AndroidManifest.xml"
    permission = '<uses-permission android:name="android.permission.CAMERA" />'
    manifest.write_text(manifest.read_text().replace(permission, ""))
    assert any(p.startswith("ios.camera-usage:") for p in check_ios(root))
    assert any(p.startswith("android.camera-permission:") for p in check_android(root))


def test_version_set_consistency_checks(tmp_path):
    # AGP 8.13 with the old Gradle 8.10.2, and Kotlin 2.3 with the old AGP 8.7.3: both must be reported.
    root = _copy_repo(tmp_path)
    props = root / "runtimes/android_kotlin/gradle/wrapper/gradle-wrapper.properties"
    props.write_text(props.read_text().replace("gradle-8.13-bin.zip", "gradle-8.10.2-bin.zip"))
    assert any(p.startswith("android.gradle-for-agp:") for p in check_android(root))
    root = _copy_repo(tmp_path / "b")
    cat = root / "runtimes/android_kotlin/gradle/libs.versions.toml"
    cat.write_text(cat.read_text().replace('agp = "8.13.2"', 'agp = "8.7.3"'))
    reported = check_android(root)
    assert any(p.startswith("android.agp-for-kotlin:") for p in reported)
    assert any(p.startswith("android.sdk:") for p in reported)  # compileSdk 36 is above AGP 8.7's API 35


def test_wrapper_files_are_the_recorded_official_ones(tmp_path):
    android = REPO / "runtimes/android_kotlin"
    provenance = json.loads((android / "gradle/wrapper/wrapper-provenance.json").read_text())
    for rel, sha in provenance["files"].items():
        assert hashlib.sha256((android / rel).read_bytes()).hexdigest() == sha, rel
    for rel, blob in provenance["git_blobs"].items():  # the ids Gradle's own 8.13 update diffs show
        data = (android / rel).read_bytes()
        assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob, rel
    gradle = provenance["gradle_version"]
    assert provenance["files"]["gradle/wrapper/gradle-wrapper.jar"] == GRADLE_WRAPPER_JAR_SHA256[gradle]
    props = (android / "gradle/wrapper/gradle-wrapper.properties").read_text()
    assert f"gradle-{gradle}-bin.zip" in props
    assert f"distributionSha256Sum={GRADLE_BIN_ZIP_SHA256[gradle]}" in props
    # One changed byte in the jar is reported.
    root = _copy_repo(tmp_path)
    jar = root / "runtimes/android_kotlin/gradle/wrapper/gradle-wrapper.jar"
    data = bytearray(jar.read_bytes())
    data[len(data) // 2] ^= 0xFF
    jar.write_bytes(bytes(data))
    assert any("gradle-wrapper.jar" in p for p in check_android(root) if p.startswith("android.wrapper:"))


def test_core_suite_compiles_with_the_catalogue_kotlin():
    # The script that `make test-android` runs reads the version from the catalogue instead of its own pin.
    script = (REPO / "scripts/kotlin_core_test.sh").read_text()
    catalogue = tomllib.loads((REPO / "runtimes/android_kotlin/gradle/libs.versions.toml").read_text())
    assert "libs.versions.toml" in script and not re.search(r"(?m)^KOTLIN_VERSION=\d", script)
    assert re.fullmatch(r"\d+\.\d+\.\d+", catalogue["versions"]["kotlin"])
    assert "npm view" in script  # refuses a version that npm does not have, instead of using another compiler
