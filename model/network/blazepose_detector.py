"""BlazePose person detector (MediaPipe pose_detection.tflite) re-implemented in PyTorch.

Work in progress on branch `detector`: the module, its weight import from the .tflite
flatbuffer and its parity against LiteRT follow in the next commits.
"""
