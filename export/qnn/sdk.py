"""The QNN libraries (x86-64 HTP compiler and simulator from the pinned onnxruntime-qnn wheel) and the SoCs.

LiteRT's Qualcomm compiler plugin is linked against libQnnLpai.so, a library for Qualcomm's low-power AI
cores that HTP compiles never call and that no package here ships: an empty stand-in library satisfies the
loader. It is built once with the C compiler into build/qnn/ (nothing of Qualcomm's is written or committed).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STANDIN_DIR = REPO / "build" / "qnn"


class QnnUnavailable(RuntimeError):
    """The QNN libraries or a tool they need are missing: the message says what to install."""


@dataclass(frozen=True)
class Soc:
    """A Snapdragon SoC: its Qualcomm model name, QNN's soc_model id and its HTP architecture."""

    name: str
    phone: str
    soc_model: int
    htp_arch: int


# QNN_SOC_MODEL_* ids of the QNN SDK (include/QNN/QnnTypes.h) and their HTP architectures (V73/V75/V79), the
# ORT QNN EP options soc_model / htp_arch.
SOCS = {
    "SM8550": Soc("SM8550", "Snapdragon 8 Gen 2 (Galaxy S23)", 43, 73),
    "SM8650": Soc("SM8650", "Snapdragon 8 Gen 3 (Galaxy S24)", 57, 75),
    "SM8750": Soc("SM8750", "Snapdragon 8 Elite (Galaxy S25)", 69, 79),
}
DEFAULT_SOCS = tuple(SOCS)


def qnn_lib_dir() -> Path:
    """The folder of the onnxruntime-qnn wheel's libraries (libQnnHtp.so, libQnnSystem.so, the EP plugin)."""
    try:
        import onnxruntime_qnn
    except ImportError:
        raise QnnUnavailable("onnxruntime-qnn is not installed: run `make venv` (it is pinned in "
                             "requirements.lock)") from None
    path = Path(onnxruntime_qnn.get_library_path()).parent
    if not (path / "libQnnHtp.so").is_file():
        raise QnnUnavailable(f"{path} holds no libQnnHtp.so: this onnxruntime-qnn build has no HTP backend for "
                             f"this platform (x86-64 Linux is needed)")
    return path


def lpai_standin_dir() -> Path:
    """A folder with the empty libQnnLpai.so the LiteRT Qualcomm plugin's loader asks for (built once)."""
    lib = STANDIN_DIR / "libQnnLpai.so"
    if lib.is_file():
        return STANDIN_DIR
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise QnnUnavailable("no C compiler to build the empty libQnnLpai.so that LiteRT's Qualcomm plugin is linked "
                             "against: install one (Debian: sudo apt-get install gcc)")
    STANDIN_DIR.mkdir(parents=True, exist_ok=True)
    src = STANDIN_DIR / "qnn_lpai_standin.c"
    src.write_text("/* Empty stand-in: HTP compiles never call the LPAI backend. */\n")
    tmp = STANDIN_DIR / ".libQnnLpai.so.tmp"
    done = subprocess.run([cc, "-shared", "-fPIC", "-o", str(tmp), str(src), "-Wl,-soname,libQnnLpai.so"],
                          capture_output=True, text=True)
    if done.returncode:
        raise QnnUnavailable(f"building the stand-in libQnnLpai.so failed: {done.stderr.strip()[:300]}")
    tmp.replace(lib)
    return STANDIN_DIR


def soc(name: str) -> Soc:
    """The SoC called `name`, or QnnUnavailable listing the known ones."""
    try:
        return SOCS[name]
    except KeyError:
        raise QnnUnavailable(f"unknown Snapdragon SoC {name!r}; known: {', '.join(SOCS)}") from None
