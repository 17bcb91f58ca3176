"""Backbones: each returns (stride-4 features, deepest features) and exposes their channel counts."""

from model.network.backbones.hrnet import HRNet, HRNetConfig
from model.network.backbones.mobilenet_fpn import MobileNetFPN, MobileNetFPNConfig

__all__ = ["HRNet", "HRNetConfig", "MobileNetFPN", "MobileNetFPNConfig"]
