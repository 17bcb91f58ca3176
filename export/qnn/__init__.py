"""Snapdragon NPUs (Hexagon HTP) through Qualcomm's QNN, checked on this x86-64 machine without a phone.

- aot.py: LiteRT's ahead-of-time compile of the .tflite for one SoC, with its NPU residency report;
- htp.py: ONNX Runtime's QNN execution provider on the HTP simulator (parity, full residency with CPU
  fallback disabled) and the per-SoC context binary (EPContext model);
- sdk.py: where the QNN libraries come from (the onnxruntime-qnn wheel) and the SoC table;
- pipeline.py: `make export-qnn`, both paths for every Snapdragon target with contracts and parity.
"""
