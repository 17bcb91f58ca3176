"""ONNX export: the dynamo exporter, onnx.checker, and onnxruntime runs for parity."""

from export.onnx.convert import export_onnx, run_onnxruntime

__all__ = ["export_onnx", "run_onnxruntime"]
