"""Core ML export: conversion, ANE residency gate, fp16 numpy execution of the MIL program, macOS checks."""

from export.coreml.convert import convert_coreml, load_mil_program
from export.coreml.macos import PlatformNotSupported, compute_plan_check, run_coreml_macos
from export.coreml.mil_numpy import UnsupportedMilOp, run_mil, run_mil_fp16
from export.coreml.residency import ResidencyReport, check_ane_residency

__all__ = [
    "PlatformNotSupported",
    "ResidencyReport",
    "UnsupportedMilOp",
    "check_ane_residency",
    "compute_plan_check",
    "convert_coreml",
    "load_mil_program",
    "run_coreml_macos",
    "run_mil",
    "run_mil_fp16",
]
