"""Photos cut at the waist: a virtual pelvis, and a body anchored to the photo's bottom edge.

Many photos show a person from the head to the waist (a portrait, a selfie, the bundled demo photo):
the pose detector then sees the neck, shoulders, arms and head but no hips, or hips it is unsure of,
and no knees. Such a photo (unsure hips, or no knee inside the photo) is animated from the waist up.
The rig hangs every bone from the pelvis, so when the hips are unsure it gets a virtual one:

- the pelvis lies on the body axis, which is perpendicular to the shoulder line and points away from
  the head, at ``TORSO_PER_SHOULDER`` shoulder widths below the neck; the hips lie on either side of it,
  ``HIPS_PER_SHOULDER`` shoulder widths apart, parallel to the shoulders. Both ratios are the medians
  over the front-facing frames (shoulder width at least 80 % of the clip's 90th percentile) of the
  bundled dance set's first 60 clips (1.54 and 0.61; interquartile ranges 1.39-1.72 and 0.53-0.71);
- only the bones seen in the photo are rigged (torso, neck, head, clavicles, arms, hands): the legs
  of the driving dance have no pixels to move and are not drawn;
- the torso leans with the dance's hip-neck line about the virtual pelvis, the neck and the shoulder
  line turn with the dance's, each by ``TILT`` of the dance's turn from its typical pose and at most
  ``MAX_LEAN`` (the person fills the frame and the pivot lies below it, so a full turn would swing
  the head far and tear the chest; retarget.py), but the pelvis barely
  moves (``SWAY`` of the driving pelvis's horizontal path, none of its vertical one), and the mesh's
  body vertices near the photo's bottom edge are pinned to their place (``pin_weights``), so the body
  stays cut by the frame's edge instead of floating up and leaving a gap beneath it;
- with virtual hips, the person is larger in the frame than in a full-body photo, so the renderer's
  sizes given as fractions of the height (joint blend, arm thickness, reach) are taken of a taller
  frame (``frame_height_for``). With sure hips (a photo cut between the hips and the knees) they
  stay fractions of the frame: measured on ``moore_anyone1_anime.png``, the taller frame lowers the
  detector-recovery PCK from 0.69 to 0.62.
"""

from __future__ import annotations

import numpy as np

from xdancer.errors import InputError
from xdancer.pose.skeleton import kp

TORSO_PER_SHOULDER = 1.54  # neck -> pelvis, in shoulder widths
HIPS_PER_SHOULDER = 0.61  # right hip -> left hip, in shoulder widths
VIRTUAL_CONFIDENCE = 0.5  # confidence given to the virtual hips (above any sane keypoint threshold)
TILT = 0.5  # fraction of the dance's torso lean (hip-neck line from upright) that a cut-off body takes
MAX_LEAN = np.deg2rad(15.0)  # the most a cut-off torso, neck or shoulder line turns from the photo's
UPPER_HEAD_LIMIT = np.deg2rad(25.0)  # the most the head turns from the neck
UPPER_MIN_STRETCH = 0.8  # the shortest those bones get through foreshortening (the photo's chest)
SWAY = 0.2  # fraction of the driving pelvis's horizontal path that a cut-off body follows
PIN_BAND = 0.15  # body vertices within this fraction of the height above the bottom edge are pinned
# The renderer's sizes (blend width, arm thickness, reach) are fractions of the frame height, made for
# full-body photos, where nose to ankle fills about 85 % of the frame and the torso is 0.32 of that
# (median over the same frames; interquartile range 0.29-0.34). A waist-up photo shows a larger person:
# its sizes come from the height a full-body frame of this person would have.
TORSO_PER_FRAME = 0.85 * 0.32
LEG_POINTS = [kp(n) for n in ("right_knee", "left_knee", "right_ankle", "left_ankle")] + list(range(18, 24))
HEAD_POINTS = ("nose", "right_eye", "left_eye", "right_ear", "left_ear")


def lacks_hips(kps: np.ndarray, threshold: float) -> bool:
    """True when one (134, 3) photo pose misses a hip (or is unsure of it)."""
    return bool(min(kps[kp("right_hip"), 2], kps[kp("left_hip"), 2]) < threshold)


def legs_cut(kps: np.ndarray, threshold: float, height: int) -> bool:
    """True when one (134, 3) photo pose (output pixels, frame ``height`` rows) shows no knee inside
    the photo: the photo is cut above the knees (or the detector cannot find them)."""
    knees = kps[[kp("right_knee"), kp("left_knee")]]
    return not bool(((knees[:, 2] >= threshold) & (knees[:, 1] < height - 1)).any())


def waist_up_pose(kps: np.ndarray, threshold: float) -> np.ndarray:
    """Copy of one (134, 3) photo pose cut at the waist: hips that the detector is unsure of become
    virtual ones (``with_virtual_hips``); sure ones stay; the legs are dropped."""
    if lacks_hips(kps, threshold):
        return with_virtual_hips(kps, threshold)
    out = np.array(kps, dtype=np.float64)
    out[LEG_POINTS, 2] = 0.0
    return out


def with_virtual_hips(kps: np.ndarray, threshold: float) -> np.ndarray:
    """Copy of one (134, 3) photo pose whose hips are replaced by virtual ones (module docstring).

    Raises InputError when the photo does not show at least the head (nose) and both shoulders with
    the neck: without them there is no body axis to hang a torso from.
    """
    need = ("neck", "right_shoulder", "left_shoulder", "nose")
    missing = [n for n in need if kps[kp(n), 2] < threshold]
    if missing:
        raise InputError(
            f"the photo's pose lacks {', '.join(missing)}; use a photo that shows the person from the "
            "head to at least the shoulders"
        )
    out = np.array(kps, dtype=np.float64)
    neck = out[kp("neck"), :2]
    across = out[kp("left_shoulder"), :2] - out[kp("right_shoulder"), :2]
    width = float(np.linalg.norm(across))
    if width < 1e-3:
        raise InputError(
            "the photo's shoulders coincide; use a photo that shows the person facing the camera"
        )
    axis = np.array([-across[1], across[0]]) / width  # perpendicular to the shoulder line
    head = out[[kp(n) for n in HEAD_POINTS]]
    head_xy = head[head[:, 2] >= threshold, :2].mean(axis=0)
    if axis @ (head_xy - neck) > 0:  # point away from the head
        axis = -axis
    pelvis = neck + TORSO_PER_SHOULDER * width * axis
    half = 0.5 * HIPS_PER_SHOULDER * across
    out[kp("right_hip")] = (*(pelvis - half), VIRTUAL_CONFIDENCE)
    out[kp("left_hip")] = (*(pelvis + half), VIRTUAL_CONFIDENCE)
    out[LEG_POINTS, 2] = 0.0  # what the detector guessed below unsure hips is not trusted either
    return out


def frame_height_for(kps: np.ndarray, height: int) -> float:
    """Height (px) of the full-body frame that would show the person of a waist-up photo pose (134, 3),
    with virtual hips, as large as this one; at least ``height``."""
    neck = kps[kp("neck"), :2]
    pelvis = 0.5 * (kps[kp("right_hip"), :2] + kps[kp("left_hip"), :2])
    return max(float(height), float(np.linalg.norm(pelvis - neck)) / TORSO_PER_FRAME)


def pin_weights(vertices: np.ndarray, body_weight: np.ndarray, height: int) -> np.ndarray:
    """(V,) how firmly each mesh vertex stays where it is in the photo: 1 on the bottom edge, easing
    to 0 at ``PIN_BAND`` of the height above it, times the vertex's weight on the body (torso) bones
    (an arm that reaches the bottom edge stays free to move)."""
    band = PIN_BAND * height
    x = np.clip((vertices[:, 1] - (height - 1 - band)) / band, 0.0, 1.0)
    return (x * x * (3.0 - 2.0 * x)) * np.clip(body_weight, 0.0, 1.0)
