"""Export of the person detector beside the mesh model (`make export-detector`, artifacts/detector/).

The detector goes through the same format pipelines as the mesh (export/{coreml,tflite,onnx}/
pipeline.py) behind a session with the ExportSession interface; only its parity (boxes and
scores, not vertices), its contract and its report are its own.

  session.py   DetectorSession: deploy graph, op policy, golden inputs, PyTorch references
  parity.py    regressor / score errors and the decoded people, with gates per arithmetic
  contract.py  the detector contract JSON (input, letterbox, outputs, anchors, decoding, licence)
  cli.py       `python -m export.detector {coreml,tflite,onnx,all}`
"""
