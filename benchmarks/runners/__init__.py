"""Benchmark runners: host (runs here), Android (adb), iOS (devicectl), macOS (coremltools)."""


class BenchError(RuntimeError):
    """A user-facing failure of a runner: says what was seen and what to do."""
