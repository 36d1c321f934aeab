"""Training data: importers for real dance sources, the dataset format, augmentations and windows."""

from xdancer.data.dataset import Clip, ClipInfo, DanceDataset

__all__ = ["Clip", "ClipInfo", "DanceDataset"]
