"""Keep the C allocator from handing every tensor's memory back to the kernel (glibc on Linux only).

Why: a training step of `xs` on the CPU frees and re-allocates many megabyte-sized tensors. With
glibc's defaults some of them are served by `mmap` and returned with `munmap` on free (its threshold moves
with what was freed last), and the heap is trimmed back to the kernel, so the next step pays page faults
and zeroing for the same memory again: on the 2-core development host a step of batch 16 spent as much
time in the kernel as in PyTorch (`python -m benchmarks.train_step`, 2 threads: median 0.56-0.69 s per
step, about 15 s of system time in 25 s). With the largest fixed mmap threshold glibc accepts (32 MB)
and no trimming, set here at start: 0.34-0.37 s per step, about 5 s of system time, the same peak memory
(3.1 GB); the same settings given as glibc's environment variables: 0.29-0.33 s. docs/DESIGN.md §7.

Peak memory does not change; what changes is that memory a step freed is not returned until exit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt(3) parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
# The largest fixed mmap threshold glibc accepts on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): allocations up to
# it come from the heap and are reused; larger ones are still mapped and unmapped each time.
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 2**31 - 1  # in effect never trim the heap top
TOP_PAD_BYTES = 256 * 1024 * 1024  # grow the heap in large steps
OPT_OUT_ENV = "MESHPOSE_DEFAULT_MALLOC"
# glibc's own ways to set the same parameters; a process started with any of them keeps what it chose.
USER_TUNING_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Set glibc's allocator to reuse freed memory instead of returning it to the kernel.

    Returns True when the settings were applied; False on a non-glibc platform (macOS, musl), when
    MESHPOSE_DEFAULT_MALLOC=1 asks for the defaults, or when the process was started with glibc's own
    settings for these parameters (MALLOC_MMAP_THRESHOLD_ and the like, or GLIBC_TUNABLES): those win.
    """
    if not sys.platform.startswith("linux") or os.environ.get(OPT_OUT_ENV, "") not in ("", "0"):
        return False
    if any(k in os.environ for k in USER_TUNING_ENV) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # All three together: setting any one stops glibc's dynamic mmap threshold where it is, 128 kB at
    # start, so the trim threshold alone would map nearly every tensor (measured: 1.5 s per step, not 0.6).
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
                and mallopt(_M_TOP_PAD, TOP_PAD_BYTES))
