"""Whole-body 2D pose: the 134-point layout, pose sequences, detection and drawing."""

from xdancer.pose.sequence import PoseSequence

__all__ = ["PoseSequence"]
