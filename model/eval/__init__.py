"""Evaluation: mesh, joint, visibility, mask and keypoint metrics with a mean-template baseline."""
