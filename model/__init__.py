"""MeshPose in PyTorch: the network and everything offline around it.

  network/      the network of the paper and of the mobile variants (nothing else)
  registry.py   one spec per variant: input, normalisation, tensor names, template, checkpoint
  build.py      create_model / build_deploy_model from a spec
  template/     body template format, loader and builders
  checkpoint.py safetensors checkpoints with an identity header
  pipeline/     the frame pipeline's reference (crop, decode, ...) that the apps mirror
  data/ train/ eval/ tools/   offline tooling: rendering, training, evaluation, demo, model card

docs/DESIGN.md §1 has the layers and which may import which.
"""
