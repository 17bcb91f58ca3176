"""The phone tools' cache: fetched once from a (local, fake) server, QNN libraries out of the SDK archive,
one error naming every file and where to put it when nothing can be downloaded."""

import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from benchmarks import phone_tools
from benchmarks.runners import BenchError


def _qairt_zip(arch: int, skip: str | None = None) -> bytes:
    root = f"qairt/{phone_tools.QAIRT_VERSION}/lib"
    members = {f"{root}/aarch64-android/libQnnHtp.so": b"htp", f"{root}/aarch64-android/libQnnSystem.so": b"system",
               f"{root}/aarch64-android/libQnnHtpV{arch}Stub.so": b"stub",
               f"{root}/hexagon-v{arch}/unsigned/libQnnHtpV{arch}Skel.so": b"skel",
               f"{root}/aarch64-android/libQnnGpu.so": b"not wanted"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            if skip is None or not name.endswith(skip):
                zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server: /litert/<file> and /qairt.zip; counts requests."""
    files = {"/litert/benchmark_model": b"\x7fELF bench", f"/litert/{phone_tools.DISPATCH_LIBRARY}": b"dispatch",
             "/qairt.zip": _qairt_zip(75)}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setenv("MESHPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MESHPOSE_LITERT_BINARIES_URL", f"{base}/litert")
    monkeypatch.setenv("MESHPOSE_QAIRT_URL", f"{base}/qairt.zip")
    yield files, hits
    httpd.shutdown()


def test_fetches_once_and_keeps_only_the_wanted_libraries(server, tmp_path):
    _, hits = server
    wanted = [phone_tools.benchmark_model_file(), phone_tools.dispatch_library_file(),
              *phone_tools.qnn_runtime_files(75)]
    paths = phone_tools.ensure(wanted)
    assert [p.read_bytes() for p in paths] == [b"\x7fELF bench", b"dispatch", b"htp", b"system", b"stub", b"skel"]
    assert paths[0].stat().st_mode & 0o111  # the binary is executable
    assert paths[5].name == "libQnnHtpV75Skel.so"
    cached = {p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    assert "qairt.zip" not in cached and "libQnnGpu.so" not in cached  # the archive is dropped after extraction
    assert not any(p.name.endswith(".part") for p in (tmp_path / "cache").rglob("*"))
    n = len(hits)
    assert phone_tools.ensure(wanted) == paths and len(hits) == n  # cached: no second download


def test_the_cache_is_per_litert_and_qairt_version(server):
    assert f"litert-{phone_tools.litert_version()}" in str(phone_tools.benchmark_model_file().path)
    assert f"qairt-{phone_tools.QAIRT_VERSION}" in str(phone_tools.qnn_runtime_files(79)[0].path)


def test_no_network_names_every_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MESHPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MESHPOSE_LITERT_BINARIES_URL", "http://127.0.0.1:9/litert")  # discard port: refused
    monkeypatch.setenv("MESHPOSE_QAIRT_URL", "http://127.0.0.1:9/qairt.zip")
    wanted = [phone_tools.benchmark_model_file(), phone_tools.dispatch_library_file(),
              *phone_tools.qnn_runtime_files(75)]
    with pytest.raises(BenchError) as err:
        phone_tools.ensure(wanted)
    text = str(err.value)
    for f in wanted:
        assert f"at {f.path}" in text
    assert "unreachable" in text and "libQnnHtpV75Skel.so from the archive" in text
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))  # nothing half-written is left


def test_a_file_placed_by_hand_is_used_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("MESHPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MESHPOSE_LITERT_BINARIES_URL", "http://127.0.0.1:9/litert")
    binary = phone_tools.benchmark_model_file()
    binary.path.parent.mkdir(parents=True)
    binary.path.write_bytes(b"mine")
    assert phone_tools.ensure([binary]) == [binary.path]


def test_http_errors_and_a_missing_archive_member_are_named(server, monkeypatch):
    files, _ = server
    files["/qairt.zip"] = _qairt_zip(75, skip="libQnnHtpV75Skel.so")
    del files[f"/litert/{phone_tools.DISPATCH_LIBRARY}"]
    with pytest.raises(BenchError) as err:
        phone_tools.ensure([phone_tools.dispatch_library_file(), *phone_tools.qnn_runtime_files(75)])
    text = str(err.value)
    assert f"{phone_tools.DISPATCH_LIBRARY}: HTTP 404" in text
    assert "libQnnHtpV75Skel.so: not in qairt.zip" in text and "libQnnHtp.so:" not in text


def test_a_truncated_archive_is_dropped_and_fetched_again(server):
    files, hits = server
    good = files["/qairt.zip"]
    files["/qairt.zip"] = good[: len(good) // 2]
    qnn = phone_tools.qnn_runtime_files(75)
    with pytest.raises(BenchError, match="not a complete zip archive"):
        phone_tools.ensure(qnn)
    files["/qairt.zip"] = good
    assert [p.read_bytes() for p in phone_tools.ensure(qnn)] == [b"htp", b"system", b"stub", b"skel"]
    assert hits.count("/qairt.zip") == 2


def test_qairt_version_is_the_one_the_npu_models_are_compiled_with():
    """The phone's QNN runtime must be the compiler's: the pinned onnxruntime-qnn wheel's QNN version."""
    info = pytest.importorskip("onnxruntime_qnn.build_and_package_info")
    assert phone_tools.QAIRT_VERSION.startswith(info.qnn_version + ".")
    lib = Path(info.__file__).with_name("libQnnHtp.so").read_bytes()
    assert f"v{phone_tools.QAIRT_VERSION}".encode() in lib  # e.g. v2.51.0.260929181845: build of that release
