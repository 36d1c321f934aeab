"""The renderer interface: (reference photo, its pose, a pose sequence) -> a stream of video frames.

Every renderer (the mesh-warping default, the diffusion renderer) implements :class:`Renderer`, so
the pipeline and the CLI can swap them. Frames are yielded one at a time so a long dance is never
held in memory; the caller writes each frame to the encoder as it comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np

from xdancer.pose.sequence import PoseSequence

DEFAULT_HEIGHT = 512


def output_size_for(reference_size: tuple[int, int], height: int = DEFAULT_HEIGHT) -> tuple[int, int]:
    """(width, height) of the video for a photo of ``reference_size`` = (W, H): the photo's aspect
    ratio at ``height`` rows, both sides even (H.264 with yuv420p needs even sizes)."""
    w, h = (int(v) for v in reference_size)
    if w <= 0 or h <= 0:
        raise ValueError(f"reference size must be positive, got {reference_size}")
    if height < 16 or height % 2:
        raise ValueError(f"output height must be an even number of at least 16 pixels, got {height}")
    width = max(2, int(round(height * w / h / 2)) * 2)
    return width, height


@runtime_checkable
class Renderer(Protocol):
    """Animates the person of a reference photo with a pose sequence."""

    def output_size(self, reference_image: np.ndarray, height: int = DEFAULT_HEIGHT) -> tuple[int, int]:
        """(width, height) of the frames :meth:`render` yields for this photo."""
        ...

    def render(
        self,
        reference_image: np.ndarray,
        reference_pose: PoseSequence,
        poses: PoseSequence,
        *,
        height: int = DEFAULT_HEIGHT,
    ) -> Iterator[np.ndarray]:
        """Yield one (height, width, 3) uint8 RGB frame per pose in ``poses``.

        reference_image: (H, W, 3) uint8 RGB photo of one person.
        reference_pose: that person's pose (T=1) in the photo's pixel coordinates.
        poses: the driving sequence (any frame size; it is retargeted to the person).
        """
        ...
