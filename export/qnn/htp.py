"""ONNX Runtime's QNN execution provider on the HTP backend: x86-64 runs Qualcomm's HTP simulator.

Sessions disable ONNX Runtime's CPU fallback, so a model with any op the NPU does not take is refused when
the session is created: full NPU residency is checked by construction. The simulator gives the NPU's
numerics (fp16 arithmetic, or int8 for QDQ models), not its speed (seconds per inference here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from export.qnn.sdk import QnnUnavailable, qnn_lib_dir, soc

_registered: list[str] = []


def _qnn_devices():
    """ONNX Runtime's devices of the QNN plugin EP (registered once per process)."""
    import onnxruntime as ort
    import onnxruntime_qnn

    if not _registered:
        ort.register_execution_provider_library(onnxruntime_qnn.EP_NAME, onnxruntime_qnn.get_library_path())
        _registered.append(onnxruntime_qnn.EP_NAME)
    devices = [d for d in ort.get_ep_devices() if d.ep_name == onnxruntime_qnn.EP_NAME]
    if not devices:
        raise QnnUnavailable("ONNX Runtime lists no device of the QNN execution provider")
    return devices


def htp_session(model: Path, soc_name: str, fp16: bool, context_out: Path | None = None):
    """An ONNX Runtime session of `model` on the HTP of `soc_name` (the simulator here), CPU fallback off.
    With `context_out`, the compiled HTP context is written there as an EPContext model."""
    import onnxruntime as ort

    s = soc(soc_name)
    lib_dir = qnn_lib_dir()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the EP's informational warnings go nowhere; errors still raise
    options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    if context_out is not None:
        context_out.parent.mkdir(parents=True, exist_ok=True)
        context_out.unlink(missing_ok=True)
        options.add_session_config_entry("ep.context_enable", "1")
        options.add_session_config_entry("ep.context_embed_mode", "1")
        options.add_session_config_entry("ep.context_file_path", str(context_out))
    provider = {"backend_path": str(lib_dir / "libQnnHtp.so"), "soc_model": str(s.soc_model),
                "htp_arch": str(s.htp_arch)}
    if fp16:
        provider["enable_htp_fp16_precision"] = "1"
    options.add_provider_for_devices(_qnn_devices(), provider)
    try:
        return ort.InferenceSession(str(model), sess_options=options)
    except Exception as exc:  # ORT raises its own Fail/RuntimeException types
        raise RuntimeError(f"QNN HTP ({soc_name}) refused {model.name}: {' '.join(str(exc).split())[:400]}") from None


def run_htp(session, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Outputs by name of one run."""
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs)))
