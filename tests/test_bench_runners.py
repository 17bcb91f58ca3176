"""Runner error paths and flows, with a fake adb; the host runner on the tiny variant."""

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from benchmarks.cli import main as bench_main
from benchmarks.registry import UnknownDevice, devices, get_device
from benchmarks.results import ResultError, load_results, validate_result, write_result
from benchmarks.runners import BenchError
from benchmarks.runners.android import Adb, PhoneTools, big_core_mask, run_android_app, run_android_model

BENCH = Path(__file__).resolve().parent / "fixtures" / "bench"

FAKE_ADB = r'''#!{python}
"""Fake adb: behaviour from environment variables, call log appended to $FAKE_ADB_LOG."""
import os, sys
args = sys.argv[1:]
if args[:1] == ["-s"]:
    args = args[2:]
log = os.environ["FAKE_ADB_LOG"]
with open(log, "a") as f:
    f.write(" ".join(args) + "\n")
n_bench = sum(1 for line in open(log) if "benchmark_model --graph" in line)
if args[:1] == ["devices"]:
    print("List of devices attached")
    for line in os.environ.get("FAKE_ADB_DEVICES", "").split(";"):
        if line:
            print(line)
    sys.exit(0)
if "benchmark_model" in " ".join(args) and "--graph" in " ".join(args):
    lose_after = int(os.environ.get("FAKE_ADB_LOSE_AFTER", "1000"))
    if n_bench > lose_after:
        print("error: device 'FAKE123' not found", file=sys.stderr)
        sys.exit(1)
    print(open(os.environ["FAKE_ADB_OUTPUT"]).read())
    sys.exit(0)
if args[:2] == ["shell", "getprop"]:
    soc = os.environ.get("FAKE_ADB_SOC", "GS301")
    print({{"ro.product.model": "Pixel 8", "ro.build.version.release": "15", "ro.soc.model": soc}}.get(args[2], ""))
    sys.exit(0)
if args[-1:] == ["--help"]:  # the binary's flag list: LiteRT's has the dispatch options
    extra = "--dispatch_library_path= string optional Dispatch library path." \
        if os.environ.get("FAKE_ADB_FLAVOUR", "tflite") == "litert" else ""
    print("usage: benchmark_model\nFlags:\n--use_gpu=false bool optional\n" + extra)
    sys.exit(1)
if args[:1] == ["shell"] and "cpufreq" in " ".join(args):
    print("0 1704000\n1 1704000\n2 1704000\n3 1704000\n4 2367000\n5 2367000\n6 2367000\n7 2914000")
    sys.exit(0)
if args[:2] == ["shell", "ls"]:
    if os.environ.get("FAKE_ADB_APP_RESULT"):
        print(args[2]); sys.exit(0)
    print("ls: No such file or directory"); sys.exit(1)
if args[:1] == ["pull"] and os.environ.get("FAKE_ADB_APP_RESULT"):
    open(args[2], "w").write(open(os.environ["FAKE_ADB_APP_RESULT"]).read())
    sys.exit(0)
if args[:2] == ["shell", "am"]:
    print("Starting: Intent {{ cmp=com.meshpose.sample/.MainActivity }}"); sys.exit(0)
sys.exit(0)
'''


@pytest.fixture
def fake_adb(tmp_path, monkeypatch):
    path = tmp_path / "adb"
    path.write_text(FAKE_ADB.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FAKE_ADB_LOG", str(tmp_path / "adb.log"))
    monkeypatch.setenv("FAKE_ADB_OUTPUT", str(BENCH / "benchmark_model_gpu_full.txt"))
    return path


@pytest.fixture
def model_files(tmp_path):
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake")
    model = tmp_path / "meshpose_xs.tflite"
    model.write_bytes(b"TFL3 fake")
    return binary, model


def test_registry_has_the_issue_devices():
    assert {"pixel8", "pixel9", "galaxy-s24", "iphone15pro", "iphone16", "mac", "host"} <= set(devices())
    with pytest.raises(UnknownDevice, match="known devices: pixel8"):
        get_device("nokia3310")


def test_unknown_device_lists_known_ones(capsys):
    assert bench_main(["run", "--device", "nokia3310"]) == 2
    assert "known devices" in capsys.readouterr().err


def test_no_adb_on_path(model_files, monkeypatch, tmp_path):
    binary, model = model_files
    with pytest.raises(BenchError, match="adb not found"):
        run_android_model(get_device("pixel8"), model, tools=PhoneTools(binary), adb=Adb(str(tmp_path / "none")),
                          runs=10, warmup=2, sustained_s=0, cooldown_s=0, variant="xs", results_dir=tmp_path)


def test_no_phone_attached_says_what_it_saw(fake_adb, model_files, monkeypatch, tmp_path):
    binary, model = model_files
    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE999\tunauthorized")
    with pytest.raises(BenchError) as err:
        run_android_model(get_device("pixel8"), model, tools=PhoneTools(binary), adb=Adb(str(fake_adb)),
                          runs=10, warmup=2, sustained_s=0, cooldown_s=0, variant="xs", results_dir=tmp_path)
    assert "FAKE999\tunauthorized" in str(err.value) and "USB debugging" in str(err.value)


def test_missing_benchmark_model_binary_says_where_to_get_it(fake_adb, model_files, monkeypatch, tmp_path):
    _, model = model_files
    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE123\tdevice")
    with pytest.raises(BenchError, match="BENCHMARK_MODEL="):
        run_android_model(get_device("pixel8"), model, tools=PhoneTools(tmp_path / "nothing"), adb=Adb(str(fake_adb)),
                          runs=10, warmup=2, sustained_s=0, cooldown_s=0, variant="xs", results_dir=tmp_path)


def test_android_model_run_parses_pins_and_validates(fake_adb, model_files, monkeypatch, tmp_path):
    binary, model = model_files
    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE123\tdevice")
    res = run_android_model(get_device("pixel8"), model, tools=PhoneTools(binary), adb=Adb(str(fake_adb)),
                            runs=100, warmup=10, sustained_s=0, cooldown_s=0, variant="xs", results_dir=tmp_path)
    validate_result(res)
    assert res["timings_ms"]["mean"] == pytest.approx(6.60145) and res["timings_ms"]["p50"] is None
    assert res["timings_ms"]["first_inference"] == pytest.approx(21.873)
    assert res["memory"]["peak_mb"] == pytest.approx(71.2266) and res["delegation"]["fully_delegated"] is True
    assert res["device"]["model"] == "Pixel 8" and res["complete"]
    calls = (tmp_path / "adb.log").read_text()
    assert "taskset 80" in calls  # only cpu7 has the top frequency
    assert "--require_full_delegation=true" in calls and "--use_gpu=true" in calls
    assert Path(res["raw_output_file"]).read_text().startswith("STARTING!")


def test_disconnect_mid_sustained_run_keeps_done_chunks(fake_adb, model_files, monkeypatch, tmp_path):
    binary, model = model_files
    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE123\tdevice")
    monkeypatch.setenv("FAKE_ADB_LOSE_AFTER", "3")  # main run + 2 sustained chunks, then the phone is gone
    res = run_android_model(get_device("pixel8"), model, tools=PhoneTools(binary), adb=Adb(str(fake_adb)),
                            runs=100, warmup=10, sustained_s=30, cooldown_s=0, variant="xs", results_dir=tmp_path)
    assert res["complete"] is False
    assert len(res["sustained"]["trend"]) == 2 and "stopped at 10 s" in res["notes"]
    path = write_result(res, tmp_path / "results")
    assert json.loads(path.read_text())["complete"] is False


def test_unparsed_output_is_saved_raw(fake_adb, model_files, monkeypatch, tmp_path):
    binary, model = model_files
    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE123\tdevice")
    monkeypatch.setenv("FAKE_ADB_OUTPUT", str(BENCH / "benchmark_model_truncated.txt"))
    with pytest.raises(BenchError, match="raw output saved to") as err:
        run_android_model(get_device("pixel8"), model, tools=PhoneTools(binary), adb=Adb(str(fake_adb)),
                          runs=100, warmup=10, sustained_s=0, cooldown_s=0, variant="xs", results_dir=tmp_path)
    raw = Path(str(err.value).rsplit("saved to ", 1)[1])
    assert raw.read_text().startswith("STARTING!")


def test_android_app_mode_pulls_and_validates(fake_adb, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE123\tdevice")
    sample = json.loads(next((Path(__file__).parent.parent / "benchmarks" / "results").glob("*/*_fp32_b1.json"))
                        .read_text())
    sample["device"] = {"name": "pixel8", "platform": "android", "model": "Pixel 8", "os": "Android 15"}
    app_json = tmp_path / "app.json"
    app_json.write_text(json.dumps(sample))
    monkeypatch.setenv("FAKE_ADB_APP_RESULT", str(app_json))
    res = run_android_app(get_device("pixel8"), adb=Adb(str(fake_adb)), runs=50, warmup=5, variant="xs",
                          results_dir=tmp_path, poll_s=0.01, timeout_s=5)
    assert res["device"]["name"] == "pixel8"
    calls = (tmp_path / "adb.log").read_text()
    assert "benchmark_runs 50" in calls and "start -S" in calls and "model meshpose_xs.tflite" in calls
    run_android_app(get_device("pixel8"), adb=Adb(str(fake_adb)), runs=50, warmup=5, variant="xs",
                    model="meshpose_xs_gpu_two_part", results_dir=tmp_path, poll_s=0.01, timeout_s=5)
    assert "model meshpose_xs_gpu_two_part" in (tmp_path / "adb.log").read_text()


def test_android_app_mode_keeps_an_incomplete_result(fake_adb, monkeypatch, tmp_path):
    """An app run that stopped early is kept, marked incomplete, and the CLI exits 3 after storing it."""
    from benchmarks.cli import main

    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE123\tdevice")
    monkeypatch.setenv("ADB", str(fake_adb))
    sample = json.loads(next((Path(__file__).parent.parent / "benchmarks" / "results").glob("*/*_fp32_b1.json"))
                        .read_text())
    sample["device"] = {"name": "pixel8", "platform": "android", "model": "Pixel 8", "os": "Android 15"}
    sample["complete"] = False
    sample["notes"] = "stopped after 37 of 50 runs: app sent to background"
    app_json = tmp_path / "app.json"
    app_json.write_text(json.dumps(sample))
    monkeypatch.setenv("FAKE_ADB_APP_RESULT", str(app_json))
    res = run_android_app(get_device("pixel8"), adb=Adb(str(fake_adb)), runs=50, warmup=5, variant="xs",
                          results_dir=tmp_path, poll_s=0.01, timeout_s=5)
    assert res["complete"] is False and "37 of 50" in res["notes"]
    out_dir = tmp_path / "results"
    code = main(["run", "--device", "pixel8", "--mode", "app", "--runs", "50", "--variant", "xs",
                 "--results", str(out_dir)])
    assert code == 3
    stored = [json.loads(f.read_text()) for f in out_dir.glob("*/*.json")]  # in the run's folder
    assert len(stored) == 1 and stored[0]["complete"] is False


def test_ios_and_mac_runners_refuse_off_platform(tmp_path, monkeypatch):
    from benchmarks.runners.ios import run_ios_app
    from benchmarks.runners.macos import run_macos

    monkeypatch.setenv("PATH", str(tmp_path))  # no xcrun
    with pytest.raises(BenchError, match="xcrun not found"):
        run_ios_app(get_device("iphone15pro"), udid=None, app=None, runs=10, warmup=2, results_dir=tmp_path)
    if sys.platform != "darwin":
        with pytest.raises(BenchError, match="needs macOS"):
            run_macos(get_device("mac"), tmp_path / "x.mlpackage", variant="xs", runs=1, warmup=1)


def test_mac_runner_times_every_core_ml_package_at_its_contract_precision(tmp_path):
    from benchmarks.runners.common import artifact_info, base_result
    from benchmarks.runners.macos import coreml_packages

    missing = "meshpose_xs.mlpackage missing; run `make export-coreml VARIANT=xs`"
    with pytest.raises(BenchError, match=re.escape(missing)):
        coreml_packages(tmp_path / "meshpose_xs.mlpackage", "xs")
    for name, precision in (("meshpose_xs", "fp16"), ("meshpose_xs_w8a8", "w8a8"),
                            ("meshpose_xs_palettize8", "palettize8"), ("meshpose_s_w8a8", "w8a8")):
        (tmp_path / f"{name}.mlpackage").mkdir()
        (tmp_path / f"{name}.mlpackage.contract.json").write_text(json.dumps({"precision": precision}))
    found = coreml_packages(tmp_path / "meshpose_xs.mlpackage", "xs")
    assert [(p.name, prec) for p, prec in found] == [("meshpose_xs.mlpackage", "fp16"),
                                                      ("meshpose_xs_palettize8.mlpackage", "palettize8"),
                                                      ("meshpose_xs_w8a8.mlpackage", "w8a8")]
    # A W8A8 row is a valid result.
    (tmp_path / "meshpose_xs_w8a8.mlpackage" / "weights.bin").write_bytes(b"w")
    row = base_result(get_device("mac"), {"name": "coreml", "version": "9.0", "accelerator": "cpu_and_ne",
                                          "precision": "w8a8", "threads": None, "functional_only": False},
                      artifact_info(tmp_path / "meshpose_xs_w8a8.mlpackage", "xs"),
                      {"warmup_runs": 1, "timed_runs": 3, "batch": 1, "sustained_seconds": None,
                       "cooldown_seconds": None}, 2.0, 10.0, [1.0, 1.1, 0.9], "benchmarks.runners.macos")
    row["run"] = {"id": "test"}
    validate_result(row)
    (tmp_path / "meshpose_xs_palettize8.mlpackage.contract.json").unlink()
    with pytest.raises(BenchError, match=re.escape("meshpose_xs_palettize8.mlpackage.contract.json missing")):
        coreml_packages(tmp_path / "meshpose_xs.mlpackage", "xs")


def test_result_schema_rejects_garbage(tmp_path):
    with pytest.raises(ResultError):
        validate_result({"schema_version": 1})
    (tmp_path / "bad.json").write_text('{"schema_version": 2}')
    with pytest.raises(ResultError):
        load_results(tmp_path)


def test_committed_host_results_validate_and_render(tmp_path):
    from benchmarks.report import main as report_main

    src = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
    results = load_results(src)
    assert any(r["runtime"]["functional_only"] for r in results)  # the lavapipe GPU row is labelled
    runs = sorted({r["_run"] for r in results})
    assert len(runs) >= 2 and all((src / run).is_dir() for run in runs)  # every result lies in its run's folder
    report = report_main([src], tmp_path)
    text = report.read_text()
    assert "functional only" in text and all(f"## Run `{run}`" in text for run in runs)
    assert "timed one after another" in text  # the earlier, sequential runs say their ratios are not reported
    for run in runs:
        assert (tmp_path / f"latency_{run}.png").stat().st_size > 1000
    assert (tmp_path / "fps_vs_accuracy.png").is_file()


@pytest.fixture(scope="module")
def tiny_artifacts(tmp_path_factory):
    from export.cli import main as export_main

    out = tmp_path_factory.mktemp("art")
    assert export_main(["tflite", "--variant", "tiny", "--out", str(out), "--no-gpu"]) == 0
    assert export_main(["onnx", "--variant", "tiny", "--out", str(out)]) == 0
    return out


def test_host_runner_short_run_on_tiny(tiny_artifacts, tmp_path, monkeypatch):
    from benchmarks.report import main as report_main

    monkeypatch.setenv("MESHPOSE_BENCH_GPU", "0")
    code = bench_main(["run", "--device", "host", "--variant", "tiny", "--runs", "10", "--warmup", "2", "--quick",
                       "--artifacts", str(tiny_artifacts), "--results", str(tmp_path)])
    assert code == 0
    results = load_results(tmp_path)
    assert len({r["_run"] for r in results}) == 1 and all(r["run"]["id"] == results[0]["_run"] for r in results)
    runtimes = {(r["runtime"]["name"], r["runtime"]["precision"]) for r in results}
    assert {("tflite", "fp32"), ("tflite", "fp16-weights"), ("pytorch", "fp32"), ("onnxruntime", "fp32")} <= runtimes
    fp32 = next(r for r in results if r["runtime"]["name"] == "tflite" and r["runtime"]["precision"] == "fp32")
    assert fp32["end_to_end_ms"]["p50"] > 0 and 0 < fp32["roofline"]["ratio"] < 1.5
    assert fp32["timings_ms"]["p50"] > 0 and os.path.basename(fp32["artifact"]["file"]) == "meshpose_tiny.tflite"
    # every batch-1 CPU runtime was timed in the same interleaved rounds as PyTorch, its speed-up with a spread
    torch_row = next(r for r in results if r["runtime"]["name"] == "pytorch" and r["method"]["batch"] == 1)
    assert torch_row.get("interleaved") is None and torch_row["method"]["timed_runs"] == fp32["method"]["timed_runs"]
    q = fp32["interleaved"]
    assert q["baseline"] == "PyTorch eager b1" and q["rounds"] == 3 and len(q["per_round"]) == 3
    assert q["iqr"][0] <= q["median"] <= q["iqr"][1]
    # the two-part GPU deployment's files chained on the CPU, timed in the same rounds as the one-file graph
    split = next(r for r in results if r["artifact"]["file"] == "meshpose_tiny_gpu_two_part")
    assert split["runtime"]["precision"] == "fp32" and split["timings_ms"]["p50"] > 0
    assert "x the one-file fp32 time in the same rounds" in split["notes"]
    report = report_main([tmp_path], tmp_path / "report")
    assert "Speed-ups over PyTorch eager" in report.read_text()


def test_frame_pipeline_matches_reference_sampling():
    import numpy as np

    from benchmarks.runners.host import FramePipeline
    from model.pipeline.crop import sample_crop

    pipe = FramePipeline(48, 64, nhwc=True)
    fast = pipe.preprocess()[0]
    ref = sample_crop(pipe.frame[..., :3].astype(np.float32), pipe.crop, 48, 64)
    assert np.abs(fast - ref).max() <= 1.0  # uint8 rounding of OpenCV's fixed-point bilinear


def test_big_core_mask():
    assert big_core_mask({0: 1700, 1: 1700, 2: 2900, 3: 2900}) == "c"
    assert big_core_mask({}) == "ff"


def test_accuracy_comes_from_an_evaluation_of_the_same_weights_or_not_at_all(tmp_path, monkeypatch):
    import benchmarks.report as report

    monkeypatch.setattr(report, "ARTIFACTS", tmp_path)
    row = {"artifact": {"variant": "xs", "checkpoint_sha256": "abc"}, "runtime": {"precision": "fp32"}}
    assert report._eval_of(row) is None  # not evaluated: nothing is made up
    (tmp_path / "xs").mkdir()

    def evaluation(sha: str, samples: int, value: float | None = 41.5) -> None:
        (tmp_path / "xs" / "eval.json").write_text(json.dumps(
            {"variant": "xs", "checkpoint_sha256": sha, "results": {"model": {"samples": samples}},
             "headline": {"name": "keypoint AP (synthetic test)", "value": value}}))

    evaluation("abc", 500)
    assert report._eval_of(row) == (41.5, "keypoint AP (synthetic test)", 500)
    evaluation("abc", 16)  # too few samples to stand for the model
    assert report._eval_of(row) is None
    evaluation("other", 500)  # another checkpoint's evaluation
    assert report._eval_of(row) is None
    evaluation("abc", 500, None)
    assert report._eval_of(row) is None
    evaluation("abc", 500)
    assert report._eval_of({**row, "runtime": {"precision": "int8"}}) is None  # int8 was not evaluated


@pytest.fixture
def phone_setup(fake_adb, tmp_path, monkeypatch):
    """An attached Snapdragon phone (SM8650) running LiteRT's benchmark_model, the xs artifacts, and the
    phone tools already in the cache (so nothing is downloaded)."""
    from benchmarks import phone_tools

    monkeypatch.setenv("FAKE_ADB_DEVICES", "FAKE123\tdevice")
    monkeypatch.setenv("FAKE_ADB_SOC", "SM8650")
    monkeypatch.setenv("FAKE_ADB_FLAVOUR", "litert")
    monkeypatch.setenv("FAKE_ADB_OUTPUT", str(BENCH / "benchmark_model_litert_npu.txt"))
    monkeypatch.setenv("ADB", str(fake_adb))
    monkeypatch.setenv("MESHPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MESHPOSE_LITERT_BINARIES_URL", "http://127.0.0.1:9/litert")  # refused: no network
    monkeypatch.setenv("MESHPOSE_QAIRT_URL", "http://127.0.0.1:9/qairt.zip")
    artifacts = tmp_path / "artifacts"
    (artifacts / "xs").mkdir(parents=True)
    (artifacts / "xs" / "meshpose_xs.tflite").write_bytes(b"TFL3 portable")
    (artifacts / "xs" / "meshpose_xs_qnn_SM8650.tflite").write_bytes(b"TFL3 aot")
    (artifacts / "xs" / "meshpose_xs_qnn_SM8650.tflite.contract.json").write_text('{"precision": "fp16"}')

    def place_tools():
        for f in [phone_tools.benchmark_model_file(), phone_tools.dispatch_library_file(),
                  phone_tools.gpu_accelerator_file(), *phone_tools.qnn_runtime_files(75)]:
            f.path.parent.mkdir(parents=True, exist_ok=True)
            f.path.write_bytes(f.path.name.encode())
    return artifacts, place_tools


def _run_phone(artifacts, tmp_path, *extra):
    return bench_main(["run", "--device", "galaxy-s24", "--variant", "xs", "--runs", "100", "--warmup", "10",
                       "--cooldown", "0", "--artifacts", str(artifacts), "--results", str(tmp_path / "runs"),
                       *extra])


def test_galaxy_s24_runs_npu_gpu_and_cpu_rows(phone_setup, tmp_path, capsys):
    artifacts, place_tools = phone_setup
    place_tools()
    assert _run_phone(artifacts, tmp_path) == 0
    stored = [json.loads(f.read_text()) for f in sorted((tmp_path / "runs").glob("*/*.json"))]
    rows = {r["runtime"]["accelerator"]: r for r in stored}
    assert set(rows) == {"npu", "gpu", "cpu"}
    assert rows["npu"]["artifact"]["file"] == "meshpose_xs_qnn_SM8650.tflite"
    assert rows["gpu"]["artifact"]["file"] == rows["cpu"]["artifact"]["file"] == "meshpose_xs.tflite"
    assert rows["npu"]["delegation"]["fully_delegated"] is True and rows["cpu"]["delegation"]["fully_delegated"] is None
    assert rows["npu"]["runtime"]["name"] == "litert benchmark_model"
    assert "libQnnHtpV75Skel.so sha256" in rows["npu"]["notes"]
    assert rows["npu"]["timings_ms"]["mean"] == pytest.approx(1.2)
    calls = (tmp_path / "adb.log").read_text().splitlines()
    runs = [c for c in calls if "benchmark_model --graph" in c]
    npu, gpu, cpu = runs  # NPU first, then GPU, then CPU
    assert "--use_npu=true" in npu and "--use_cpu=false" in npu and "--require_full_delegation=true" in npu
    assert "--dispatch_library_path=/data/local/tmp/meshpose" in npu
    remote = "/data/local/tmp/meshpose"
    assert npu.startswith(f'shell LD_LIBRARY_PATH={remote} ADSP_LIBRARY_PATH="{remote};')
    assert "--use_gpu=true" in gpu and "--gpu-precision=fp16" in gpu and "--use_cpu=false" in gpu
    assert gpu.startswith(f"shell LD_LIBRARY_PATH={remote} taskset") and "ADSP_LIBRARY_PATH" not in gpu
    assert cpu.startswith("shell taskset") and "--use_cpu=true" in cpu and "--use_gpu" not in cpu
    pushes = [c.split()[1] for c in calls if c.startswith("push ")]
    assert sum(p.endswith("benchmark_model") for p in pushes) == 1  # each file pushed once per run
    assert {Path(p).name for p in pushes} >= {"libLiteRtDispatch_Qualcomm.so", "libQnnHtp.so", "libQnnSystem.so",
                                              "libQnnHtpV75Stub.so", "libQnnHtpV75Skel.so",
                                              "libLiteRtClGlAccelerator.so"}


def test_phone_rows_wait_for_adb_and_artifacts_before_fetching(phone_setup, tmp_path, capsys, monkeypatch):
    artifacts, _ = phone_setup
    (artifacts / "xs" / "meshpose_xs_qnn_SM8650.tflite").unlink()
    assert _run_phone(artifacts, tmp_path) == 2
    err = capsys.readouterr().err
    assert "meshpose_xs_qnn_SM8650.tflite" in err and "make export-qnn VARIANT=xs" in err
    assert "could not fetch" not in err  # the missing artifact is named before any download is tried


def test_phone_rows_without_network_name_the_files_to_place(phone_setup, tmp_path, capsys):
    artifacts, _ = phone_setup
    assert _run_phone(artifacts, tmp_path) == 2
    err = capsys.readouterr().err
    assert "could not fetch what the phone run needs" in err
    lines = err.splitlines()
    for name in ("benchmark_model", "libLiteRtDispatch_Qualcomm.so", "libLiteRtClGlAccelerator.so", "libQnnHtp.so",
                 "libQnnHtpV75Skel.so"):
        line = next(ln for ln in lines if ln.strip().startswith(f"{name}: unreachable"))
        assert f" at {tmp_path / 'cache' / 'android_arm64'}" in line and line.rstrip().endswith(name)


def test_a_phone_without_a_compiled_npu_skips_that_row_and_says_why(phone_setup, tmp_path, capsys, monkeypatch):
    artifacts, place_tools = phone_setup
    place_tools()
    monkeypatch.setenv("FAKE_ADB_SOC", "s5e9945")  # the Exynos Galaxy S24
    assert _run_phone(artifacts, tmp_path) == 0
    assert "skipped npu: this phone's SoC is s5e9945" in capsys.readouterr().err
    stored = [json.loads(f.read_text()) for f in (tmp_path / "runs").glob("*/*.json")]
    assert sorted(r["runtime"]["accelerator"] for r in stored) == ["cpu", "gpu"]
    assert _run_phone(artifacts, tmp_path, "--accelerator", "npu") == 2  # asked for by name: an error
    assert "compiled for SM8550, SM8650, SM8750" in capsys.readouterr().err


def test_tflite_benchmark_binary_cannot_make_an_npu_row(phone_setup, tmp_path, capsys, monkeypatch):
    artifacts, place_tools = phone_setup
    place_tools()
    monkeypatch.setenv("FAKE_ADB_FLAVOUR", "tflite")
    mine = tmp_path / "my_benchmark_model"
    mine.write_bytes(b"\x7fELF")
    assert _run_phone(artifacts, tmp_path, "--benchmark-model", str(mine), "--accelerator", "npu") == 2
    assert "TFLite's benchmark_model cannot load LiteRT's NPU dispatch" in capsys.readouterr().err


def test_pixel8_has_no_npu_row(phone_setup, tmp_path, capsys):
    artifacts, place_tools = phone_setup
    place_tools()
    code = bench_main(["run", "--device", "pixel8", "--accelerator", "npu", "--artifacts", str(artifacts),
                       "--results", str(tmp_path / "runs")])
    assert code == 2 and "pixel8 has no npu row: the Tensor NPU compiler" in capsys.readouterr().err
