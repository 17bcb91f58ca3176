"""What a phone benchmark pushes to the phone, fetched once into a local cache.

- LiteRT's `benchmark_model` for android_arm64; for GPU rows the GPU accelerator it loads at run time
  (`libLiteRtClGlAccelerator.so`, a runtime file of that binary's build); for NPU rows LiteRT's Qualcomm
  dispatch library `libLiteRtDispatch_Qualcomm.so`. All from LiteRT's published binaries for the
  installed `ai-edge-litert` version, the version whose AOT compiler built the per-SoC models (a
  dispatch library of another version may not read them).
- For NPU rows, Qualcomm's QNN runtime for the phone (libQnnHtp.so, libQnnSystem.so, the HTP stub for
  the SoC's Hexagon architecture and its DSP-side skel library): extracted from the QAIRT SDK archive of
  the QNN version that compiled the models (the pinned onnxruntime-qnn wheel's). The archive is large
  (over a gigabyte) and is downloaded once; only the five libraries are kept. These are Qualcomm's files
  under Qualcomm's licence (README), never committed.

Files live under ~/.cache/meshpose/android_arm64 (MESHPOSE_CACHE moves the root). A file already in
place is used as is: with no network, the error names each file and where to put it. The base addresses
can point at a mirror (MESHPOSE_LITERT_BINARIES_URL, MESHPOSE_QAIRT_URL). No checksum is published for
these files, so none is checked; each file's sha256 goes into the benchmark result instead.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.runners import BenchError

# The QAIRT release whose QNN 2.51.0 the pinned onnxruntime-qnn 2.7.0 wheel carries (its libQnnHtp.so says
# v2.51.0.260929...); tests/test_phone_tools.py fails when the wheel's QNN version moves away from it.
QAIRT_VERSION = "2.51.0.260929"
LITERT_BINARIES_URL = "https://storage.googleapis.com/litert/binaries/{version}/android_arm64"
QAIRT_URL = ("https://softwarecenter.qualcomm.com/api/download/software/sdks/Qualcomm_AI_Runtime_Community/All/"
             "{version}/v{version}.zip")
DISPATCH_LIBRARY = "libLiteRtDispatch_Qualcomm.so"
GPU_ACCELERATOR = "libLiteRtClGlAccelerator.so"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CachedFile:
    """One file of the cache: where it lives, where it comes from (a URL, or a member of a zip at a URL)."""

    path: Path
    url: str
    member: str | None = None
    executable: bool = False

    def placement_help(self) -> str:
        """How to put the file in place by hand."""
        source = f"{self.member} from the archive {self.url}" if self.member else self.url
        return f"place {source} at {self.path}"


def cache_root() -> Path:
    """The cache folder for android_arm64 files."""
    root = os.environ.get("MESHPOSE_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "meshpose") / "android_arm64"


def litert_version() -> str:
    """The installed ai-edge-litert version (the AOT compiler's, so the dispatch library's)."""
    try:
        return importlib.metadata.version("ai-edge-litert")
    except importlib.metadata.PackageNotFoundError:
        raise BenchError("ai-edge-litert is not installed: run `make venv`") from None


def benchmark_model_file() -> CachedFile:
    """LiteRT's benchmark_model for android_arm64."""
    version = litert_version()
    base = os.environ.get("MESHPOSE_LITERT_BINARIES_URL") or LITERT_BINARIES_URL.format(version=version)
    return CachedFile(cache_root() / f"litert-{version}" / "benchmark_model", f"{base}/benchmark_model",
                      executable=True)


def litert_library_file(name: str) -> CachedFile:
    """A library of LiteRT's android_arm64 binaries: DISPATCH_LIBRARY (NPU rows) or GPU_ACCELERATOR (GPU rows)."""
    version = litert_version()
    base = os.environ.get("MESHPOSE_LITERT_BINARIES_URL") or LITERT_BINARIES_URL.format(version=version)
    return CachedFile(cache_root() / f"litert-{version}" / name, f"{base}/{name}")


def dispatch_library_file() -> CachedFile:
    """LiteRT's Qualcomm dispatch library for android_arm64 (NPU rows)."""
    return litert_library_file(DISPATCH_LIBRARY)


def gpu_accelerator_file() -> CachedFile:
    """The GPU accelerator LiteRT's benchmark_model loads at run time (GPU rows)."""
    return litert_library_file(GPU_ACCELERATOR)


def qnn_runtime_files(htp_arch: int) -> list[CachedFile]:
    """Qualcomm's QNN runtime for a Hexagon architecture (e.g. 75 for SM8650), from the QAIRT archive."""
    url = os.environ.get("MESHPOSE_QAIRT_URL") or QAIRT_URL.format(version=QAIRT_VERSION)
    folder = cache_root() / f"qairt-{QAIRT_VERSION}" / f"v{htp_arch}"
    android = f"qairt/{QAIRT_VERSION}/lib/aarch64-android"
    names = {"libQnnHtp.so": f"{android}/libQnnHtp.so", "libQnnSystem.so": f"{android}/libQnnSystem.so",
             f"libQnnHtpV{htp_arch}Stub.so": f"{android}/libQnnHtpV{htp_arch}Stub.so",
             f"libQnnHtpV{htp_arch}Skel.so":
                 f"qairt/{QAIRT_VERSION}/lib/hexagon-v{htp_arch}/unsigned/libQnnHtpV{htp_arch}Skel.so"}
    return [CachedFile(folder / name, url, member=member) for name, member in names.items()]


def sha256(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, dest: Path, label: str) -> None:
    """Stream `url` to `dest` through a temporary file, with progress on stderr every 10%."""
    tmp = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=30) as response, tmp.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done, next_report = 0, 0.1
            print(f"downloading {label} from {url}" + (f" ({total / 2**20:.0f} MiB)" if total else ""),
                  file=sys.stderr)
            while block := response.read(_CHUNK):
                out.write(block)
                done += len(block)
                if total and done / total >= next_report:
                    print(f"  {label}: {done / total:.0%}", file=sys.stderr)
                    next_report += 0.1
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def ensure(files: list[CachedFile]) -> list[Path]:
    """The local paths of `files`, downloading the missing ones; one error lists every file still missing."""
    missing = [f for f in files if not f.path.is_file()]
    by_archive: dict[str, list[CachedFile]] = {}
    for f in missing:
        if f.member:
            by_archive.setdefault(f.url, []).append(f)
    failures: list[str] = []
    for f in missing:
        if f.member:
            continue
        try:
            _download(f.url, f.path, f.path.name)
            if f.executable:
                f.path.chmod(0o755)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failures.append(f"{f.path.name}: {_reason(exc)}; {f.placement_help()}")
    for url, members in by_archive.items():
        failures += _extract_from_archive(url, members)
    if failures:
        raise BenchError("could not fetch what the phone run needs (no network, or the address moved):\n  "
                         + "\n  ".join(failures))
    return [f.path for f in files]


def _extract_from_archive(url: str, members: list[CachedFile]) -> list[str]:
    """Download the archive once, copy out the members, drop the archive; failures as lines."""
    archive = members[0].path.parent.parent / Path(url.split("?")[0]).name
    try:
        if not archive.is_file():
            _download(url, archive, archive.name)
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            lost = [m for m in members if m.member not in names]
            if lost:
                return [f"{m.path.name}: not in {archive.name} (no {m.member}); {m.placement_help()}" for m in lost]
            for m in members:
                m.path.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m.member) as src, m.path.with_name(m.path.name + ".part").open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
                m.path.with_name(m.path.name + ".part").replace(m.path)
        archive.unlink()  # over a gigabyte; the members are what is kept
        return []
    except zipfile.BadZipFile:
        archive.unlink(missing_ok=True)  # a truncated download: fetched again next time
        return [f"{m.path.name}: {archive.name} is not a complete zip archive; {m.placement_help()}" for m in members]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return [f"{m.path.name}: {_reason(exc)}; {m.placement_help()}" for m in members]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable ({exc.reason})"
    return str(exc) or type(exc).__name__
