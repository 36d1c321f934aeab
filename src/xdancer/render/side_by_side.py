"""Side-by-side frames: the photo | the skeleton being danced | the rendered result."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from xdancer.pose.sequence import PoseSequence
from xdancer.render.skeleton import SkeletonRenderer


def side_by_side_frames(
    image: np.ndarray, poses: PoseSequence, rendered: Iterable[np.ndarray], height: int
) -> Iterator[np.ndarray]:
    skeleton = SkeletonRenderer()
    w, h = skeleton.output_size(image, height)
    photo = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    for sk, frame in zip(skeleton.render(image, poses, poses, height=height), rendered, strict=True):
        if frame.shape[:2] != (h, w):
            frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        yield np.concatenate([photo, sk, frame], axis=1)
