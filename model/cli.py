"""What every command-line tool of the project does the same way with bad input.

One error path: a tool's `main` raises, `run_main` prints one line (`error: <what, which file, what to
do>`) and exits 2; Ctrl-C prints one line and exits 130; the traceback appears only with DEBUG=1.
The readers below name the file in every message, so that line is enough to act on.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from model.process_memory import keep_freed_memory

# Larger images are refused: the rasteriser, the detector and the crops work on the full frame, and a
# 10000x10000 photo spends minutes and >12 GB before failing. Smaller ones hold no person to mesh.
MAX_IMAGE_SIDE = 4096
MIN_IMAGE_SIDE = 32
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


_terminal: list = []  # the real stderr while third-party output goes to a log (innermost last)
_last_log: list[Path] = []  # where run_main sends what libraries print while the interpreter shuts down


def say(msg: str) -> None:
    """A line for the user on the terminal, also while third-party output is sent to a log file."""
    print(msg, file=_terminal[-1] if _terminal else sys.stderr, flush=True)


@contextmanager
def third_party_output_to(log_path: str | os.PathLike) -> Iterator[Path]:
    """Send everything libraries print (C++ logs on file descriptors 1 and 2, Python prints, warnings)
    to `log_path` (appended); the tool's own lines still reach the terminal through `say`.

    Converters print hundreds of INFO lines and plugin-loading failures that look like errors and are
    not; the log keeps them for when something does go wrong.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    py_streams = sys.stdout, sys.stderr
    if not _last_log:
        atexit.register(_exit_output_to_log)
    _last_log[:] = [log_path]
    with open(log_path, "a", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        _terminal.append(terminal)
        try:
            yield log_path
        finally:
            _terminal.pop()
            log.flush()
            sys.stdout, sys.stderr = py_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            terminal.close()


class InputError(ValueError):
    """Bad input from the user: the message names the file and what to do."""


def debug_enabled() -> bool:
    """True when DEBUG is set to anything but empty or 0 (then errors keep their traceback)."""
    return os.environ.get("DEBUG", "") not in ("", "0")


def run_main(main: Callable[[], int | None]) -> int:
    """Run a tool's `main` and turn any exception into one line on stderr and an exit status."""
    keep_freed_memory()  # tensors' memory is reused rather than returned to the kernel (model/process_memory.py)
    try:
        return int(main() or 0)
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C); files being written were discarded", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:
        if debug_enabled():
            raise
        print(f"error: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _exit_output_to_log() -> None:
    """At interpreter exit: libraries that wrote into a third-party log also print when their objects are
    destroyed after Python has finished (LiteRT's accelerator registry); those lines go to the same log,
    not under the tool's last line."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        fd = os.open(_last_log[0], os.O_WRONLY | os.O_APPEND)
    except (OSError, IndexError, ValueError):
        return  # the log is gone (a test's temporary folder): leave the streams as they are
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def describe(exc: BaseException) -> str:
    """One line for an exception: the project's own messages as they are, others with their type."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (ValueError, OSError)) or type(exc).__module__.split(".")[0] in ("model", "export",
                                                                                         "benchmarks"):
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
            text = f"{exc.filename}: {text}"
        return text
    return f"{type(exc).__name__}: {text} (unexpected; run again with DEBUG=1 for the traceback)"


def read_json(path: str | os.PathLike, what: str, required: Iterable[str] = (), hint: str = "") -> Any:
    """A JSON file's content, or InputError naming the file: missing, not JSON (truncated?), or
    lacking one of the `required` top-level keys. `what` says what the file should be."""
    path = Path(path)
    tail = f"; {hint}" if hint else ""
    if not path.is_file():
        raise InputError(f"{what} {path} not found{tail}")
    try:
        data = json.loads(path.read_text())
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not a text file{tail}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}; "
                         f"a truncated file?){tail}") from None
    missing = [k for k in required if not isinstance(data, dict) or k not in data]
    if missing:
        raise InputError(f"{what} {path} lacks {', '.join(repr(k) for k in missing)}{tail}")
    return data


def read_image(path: str | os.PathLike, what: str = "image", max_side: int = MAX_IMAGE_SIDE,
               min_side: int = MIN_IMAGE_SIDE, fit: bool = False) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3), refused in one line when missing, unreadable, or of a size
    outside [min_side, max_side] pixels a side (checked from the header, before decoding). With `fit`, a
    larger image is downscaled to max_side on its longer side instead (JPEGs decoded at a reduced size)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} not found")
    try:
        with warnings.catch_warnings():  # the size is checked below, before any pixel is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            w, h = im.size
            too_big = max(w, h) > max_side
            if too_big and fit and min(w, h) * max_side / max(w, h) >= min_side:
                im.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2, 1/4 or 1/8 size, not at full size
                rgb = im.convert("RGB")
                rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                return np.asarray(rgb)
            if too_big or min(w, h) < min_side:
                hint = " (resize it first, or let the tool downscale it: FIT=1)" if too_big else ""
                raise InputError(f"{what} {path} is {w}x{h}; images of {min_side} to {max_side} pixels a side are "
                                 f"accepted{hint}")
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
        raise InputError(f"{what} {path} is not a readable image ({' '.join(str(exc).split())})") from None


def remove_outputs(*paths: str | os.PathLike) -> None:
    """Remove a run's previous outputs before it writes new ones, so a failed run leaves nothing stale."""
    for p in paths:
        Path(p).unlink(missing_ok=True)
