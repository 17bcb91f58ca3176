"""TFLite / LiteRT export: conversion (fp32, fp16 weights, int8), XNNPACK runs, GPU-delegate gates."""

from export.tflite.convert import TFLITE_PRECISIONS, convert_tflite
from export.tflite.gpu import (
    AnalyzerReport,
    GpuRefused,
    GpuRunResult,
    GpuUnavailable,
    analyze_gpu_compat,
    compile_gpu,
    run_gpu,
)
from export.tflite.run import run_xnnpack

__all__ = [
    "TFLITE_PRECISIONS",
    "AnalyzerReport",
    "GpuRefused",
    "GpuRunResult",
    "GpuUnavailable",
    "analyze_gpu_compat",
    "compile_gpu",
    "convert_tflite",
    "run_gpu",
    "run_xnnpack",
]
