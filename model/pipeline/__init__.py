"""The frame pipeline's reference: what every runtime does between a camera frame and a mesh.

numpy only; the Swift MeshPoseKit and the Kotlin core mirror it and are tested against
fixtures that these functions write (docs/DESIGN.md §5).

  detector.py  frame -> detector input (MediaPipe's letterbox); raw detector outputs -> people (boxes, keypoints)
  crop.py      person box -> crop of the model's aspect; bilinear sampling of the input
  decode.py    raw outputs -> mesh in frame pixels, and the crop to track it with next
"""
