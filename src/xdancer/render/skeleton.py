"""SkeletonRenderer: the dance drawn as an OpenPose skeleton on black, at the photo's aspect.

The quickest way to look at a dance, and the pose preview of the web page. It implements the same
Renderer interface as the warp and diffusion renderers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from xdancer.pose.sequence import PoseSequence
from xdancer.render.base import output_size_for


def fit_to_frame(poses: PoseSequence, size: tuple[int, int]) -> np.ndarray:
    """(T, 134, 3) keypoints scaled (keeping aspect) and centred from ``poses.frame_size`` into ``size``."""
    (w0, h0), (w1, h1) = poses.frame_size, size
    scale = min(w1 / w0, h1 / h0)
    out = poses.keypoints.copy()
    out[..., 0] = out[..., 0] * scale + (w1 - w0 * scale) / 2
    out[..., 1] = out[..., 1] * scale + (h1 - h0 * scale) / 2
    return out


class SkeletonRenderer:
    def output_size(self, reference_image: np.ndarray, height: int) -> tuple[int, int]:
        return output_size_for((reference_image.shape[1], reference_image.shape[0]), height)

    def render(
        self,
        reference_image: np.ndarray,
        reference_pose: PoseSequence,
        poses: PoseSequence,
        *,
        height: int = 512,
    ) -> Iterator[np.ndarray]:
        from xdancer.pose.draw import draw_pose

        w, h = self.output_size(reference_image, height)
        keypoints = fit_to_frame(poses, (w, h))
        for frame in keypoints:
            yield draw_pose(np.zeros((h, w, 3), np.uint8), frame)
