"""Person mask for the reference photo: MediaPipe Selfie Segmentation, refined at the edges.

1. MediaPipe Selfie Segmentation (the general model bundled in ``mediapipe==0.10.21``) gives a soft
   person probability at 256 x 256; it is resized to the photo.
2. Only the person that the pose belongs to is kept: connected components of the thresholded mask
   that contain none of the confident body keypoints (other people, posters, statues) are dropped.
3. The edges are refined with a guided filter (He et al., "Guided Image Filtering", ECCV 2010; the
   opencv-contrib ximgproc implementation) steered by the photo, so the soft alpha follows real
   colour edges (hair, sleeves) instead of the network's blurry upsampled boundary.
4. ``near_skeleton`` keeps only what lies near the photo's skeleton (a glowing floor, a pet or a bag
   that touches the person stays in the background).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from xdancer.errors import InputError
from xdancer.pose.skeleton import kp
from xdancer.render.retarget import complete_reference
from xdancer.render.rig import BONES, rig_joints


@dataclass
class SegmentConfig:
    """threshold: probability above which a pixel belongs to the person (hard mask).
    guided_radius: guided-filter radius as a fraction of the image height.
    guided_eps: guided-filter regularisation (on [0, 1] intensities; smaller = sharper edges).
    keypoint_confidence: body keypoints above this confidence select the person's components.
    min_area: a mask smaller than this fraction of the image means "no person".
    extent_threshold: probability above which a pixel near the person counts to their soft extent
        (glows, translucent sleeves, motion blur: what the background plate must cover, though it is
        too faint to move with the person), within ``extent_reach`` (fraction of the image height)
        of the person (a lit floor farther off stays).
    """

    threshold: float = 0.5
    guided_radius: float = 0.004
    guided_eps: float = 1e-3
    keypoint_confidence: float = 0.3
    min_area: float = 0.005
    extent_threshold: float = 0.1
    extent_reach: float = 0.03

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must lie in (0, 1), got {self.threshold}")
        if not 0 <= self.guided_radius < 0.1:
            raise ValueError(f"guided_radius must lie in [0, 0.1), got {self.guided_radius}")
        if self.guided_eps <= 0:
            raise ValueError(f"guided_eps must be positive, got {self.guided_eps}")
        if not 0 < self.min_area < 1:
            raise ValueError(f"min_area must lie in (0, 1), got {self.min_area}")
        if not 0 <= self.extent_reach < 0.5:
            raise ValueError(f"extent_reach must lie in [0, 0.5), got {self.extent_reach}")
        if not 0 < self.extent_threshold <= self.threshold:
            raise ValueError(f"extent_threshold must lie in (0, threshold], got {self.extent_threshold}")


def selfie_probability(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) float32 person probability from MediaPipe Selfie Segmentation."""
    import mediapipe as mp

    from xdancer.pose.mediapipe_runtime import native_stderr_silenced

    # model_selection=0 is the general (256 x 256) model; it handles full-body portrait photos better
    # than the landscape model. MediaPipe's native log lines would bury the progress bars.
    with native_stderr_silenced(), mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        result = seg.process(np.ascontiguousarray(rgb))
    prob = result.segmentation_mask
    if prob is None:
        raise InputError("person segmentation failed on the photo")
    return np.clip(prob.astype(np.float32), 0.0, 1.0)


def keep_person_components(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Keep the connected components of a binary (H, W) mask that contain any of ``points`` (N, 2).

    A point inside no component selects the component nearest to it, so a keypoint that lies a few
    pixels outside the silhouette (a wrist on the boundary) still counts.
    """
    n, labels, _, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    keep = set()
    for x, y in np.round(points).astype(int):
        if 0 <= x < w and 0 <= y < h and labels[y, x] > 0:
            keep.add(int(labels[y, x]))
    if not keep and len(points):
        ys, xs = np.nonzero(labels)
        cx, cy = points.mean(axis=0)
        nearest = np.argmin((xs - cx) ** 2 + (ys - cy) ** 2)
        keep.add(int(labels[ys[nearest], xs[nearest]]))
    return np.isin(labels, sorted(keep))


def segment_person(
    rgb: np.ndarray,
    body_points: np.ndarray | None = None,
    config: SegmentConfig | None = None,
    *,
    with_extent: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Soft alpha (H, W) float32 in [0, 1] of the person in ``rgb`` (H, W, 3) uint8.

    body_points: (N, 2) confident keypoints of the person to keep (pixels); None keeps every component.
    with_extent: also return the person's soft extent (H, W) float32 in [0, 1]: the alpha, and 1 where
    the segmenter's probability is above ``extent_threshold`` close to the person (the halo of a
    glowing dress, a translucent sleeve). Faint and with the background showing through, those pixels
    stay out of the alpha, but the plate must not keep them: left in, they would stay behind as a
    ghost of the limb that moves away.
    Raises InputError when no person is found.
    """
    cfg = config or SegmentConfig()
    h, w = rgb.shape[:2]
    prob = selfie_probability(rgb)
    hard = prob > cfg.threshold
    if body_points is not None and len(body_points):
        hard = keep_person_components(hard, np.asarray(body_points, dtype=np.float32))
    if hard.mean() < cfg.min_area:
        raise InputError(
            "no person found in the photo (the person mask is empty); use a photo with one person, "
            "visible from head to at least the hips"
        )
    # The network's 0.5 contour is tight on the test photos but stair-stepped (256 x 256 input);
    # a small guided filter steered by the photo anti-aliases it along real colour edges. Wider
    # filters or a soft network band produce a halo of background that then moves with the person.
    radius = max(1, int(round(cfg.guided_radius * h)))
    guide = rgb.astype(np.float32) / 255.0
    alpha = cv2.ximgproc.guidedFilter(guide, hard.astype(np.float32), radius, cfg.guided_eps)
    band = cv2.dilate(hard.astype(np.uint8), np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0
    alpha = (np.clip(alpha, 0.0, 1.0) * band).astype(np.float32)
    if not with_extent:
        return alpha
    faint = (prob > cfg.extent_threshold) | band
    grow = max(1, int(round(cfg.extent_reach * h)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
    near = cv2.dilate(hard.astype(np.uint8), disc)
    return alpha, np.maximum(alpha, (faint & (near > 0)).astype(np.float32))


NARROW_BONES = ("upper_arm", "forearm", "hand", "shin", "foot")  # limbs: nothing wide hangs off them
NARROW_REACH = 0.25  # their reach, relative to the wide parts'


def near_skeleton(alpha: np.ndarray, kps: np.ndarray, threshold: float, reach: float) -> np.ndarray:
    """Keep only the part of the person alpha near the photo's skeleton: within ``reach`` pixels of
    the torso, hips, thighs and head (wide clothes, hair), within a quarter of it of the arms, shins and
    feet.

    The segmenter sometimes counts what touches the person as the person (a glowing floor, a pet at
    the feet, a bag on the ground); left in, it would dance along with the nearest limb. Cut off,
    it stays in the background plate, where it belongs.
    """
    joints = complete_reference(rig_joints(kps, threshold), threshold)
    keep = np.zeros(alpha.shape, np.float32)
    for narrow in (False, True):
        lines = np.full(alpha.shape, 255, np.uint8)
        for b in BONES:
            if b.name.endswith(NARROW_BONES) != narrow:
                continue
            if min(joints[b.parent_joint, 2], joints[b.child_joint, 2]) >= threshold:
                p, q = (tuple(np.round(joints[j, :2]).astype(int)) for j in (b.parent_joint, b.child_joint))
                cv2.line(lines, p, q, 0, 2)
        if not narrow:  # the head's keypoints too (hair and hats are wide)
            head = [kp(n) for n in ("nose", "right_eye", "left_eye", "right_ear", "left_ear")]
            for x, y in np.round(kps[head][kps[head, 2] >= threshold, :2]).astype(int):
                cv2.circle(lines, (int(x), int(y)), 1, 0, -1)
        limit = NARROW_REACH * reach if narrow else reach
        dist = cv2.distanceTransform(lines, cv2.DIST_L2, 5)
        keep = np.maximum(keep, np.clip((limit - dist) / 2.0 + 0.5, 0.0, 1.0))
    return alpha * keep
