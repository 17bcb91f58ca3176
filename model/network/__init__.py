"""The MeshPose network, and only the network: a reader sees the paper's model here.

  layers.py        NPU-friendly building blocks (conv + BN + activation, inverted residuals)
  argsoftmax.py    the fused spatial argsoftmax (Eq. 1) and its 1-D form
  backbones/       MobileNetV2 + FPN-lite (mobile variants), HRNet (paper scale)
  heads/           VertexPose heatmaps, the lift head, Eq. 2 UV decoding (training/eval only)
  meshpose.py      backbone + heads + Eq. 5 fusion, seam averaging, landmarker
  deploy.py        the exported graph: BN folded, fixed shapes, named outputs
  int8_region.py   which modules the int8 exports quantise (one list for every exporter and for training)

Variants and their builders are in model/registry.py and model/build.py.
"""
