"""Heads of the network: VertexPose heatmaps (2D) and the 1-D argsoftmax lifts (3D)."""

from model.network.heads.lift import LiftHead
from model.network.heads.paper_lift import PaperLiftHead
from model.network.heads.uv_decode import UV_DECODE_METHODS, uv_decode
from model.network.heads.vertexpose import VertexPoseHead

__all__ = ["UV_DECODE_METHODS", "LiftHead", "PaperLiftHead", "VertexPoseHead", "uv_decode"]
