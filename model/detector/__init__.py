"""The person detector: where its weights come from, how the deployed graph is built.

  spec.py      pinned source (the mediapipe wheel and its pose_detection.tflite), paths, tensor names,
               normalisation, licence: the single source of truth every other layer reads
  build.py     the deployed detector graph (model/network/blazepose_detector.py) with the converted weights

The frame-side reference (anchors, decoding, NMS, person box) is model/pipeline/detector.py;
fetching and converting the weights is model/tools/detector_fetch.py and blazepose_import.py.
"""
