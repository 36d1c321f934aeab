"""Retargeting: driving poses -> the photographed person's skeleton, frame by frame.

The generated (or captured) poses keep their motion -- bone directions, foreshortening, the path of
the pelvis, steps and jumps -- but take the person's own bone lengths and place in the photo:

- bone lengths: each bone keeps the person's length, times the driving bone's foreshortening
  (its length in this frame over its typical length in the whole sequence, clipped), so a limb
  that points at the camera still shortens;
- scale: driving translations are scaled by the median ratio of the person's bone lengths to the
  driving skeleton's, so a short person stays short and moves proportionally less;
- ground: the lowest foot point is put on the photo's ground line whenever the driving dancer's
  lowest foot is on theirs; when the dancer jumps, the person rises by the same scaled height. The
  driving dancer's ground line is local in time (the median of their lowest foot over
  ``ground_frames`` frames around each frame, 1 s at 30 fps; a median follows steady travel without
  lag, and a jump shorter than half the window does not move it): a dancer who travels towards or away
  from a perspective camera moves their feet down or up the image without leaving the floor, and a
  ground line fixed for the whole sequence would read that as floating;
- confidence: a bone whose driving keypoints are unsure keeps its previous angle relative to its
  parent bone (at first: the photo's own), so missing hands or feet hold still instead of flying off;
- girdles: the clavicles and the halves of the pelvis keep the photo's shoulder and hip lines (within
  ``GIRDLE_TURN`` of them, at least ``GIRDLE_MIN_STRETCH`` of their length): in a 2D dance they mostly
  say how far the dancer has turned, which a photo cannot show, and narrowed shoulders would pull the
  arms in over a torso that keeps its width. The limbs below them keep the dancer's own direction
  (but for a waist-up photo's arms, which turn with its leaning chest);
- turning round: a photo shows one side of the person, so while the driving dancer shows the other
  (their shoulders the other way round than the photo's), their left and right are swapped: the limb
  on the image's left is driven by the limb the dancer shows there. Without the swap, each arm would
  cross the body to reach its own side and the person would come out twisted. The turn is taken when
  the shoulders cross by ``TURN_SPAN`` of their width, and undone when they uncross by as much, so a
  dancer seen in profile does not flicker between the two;
- photos cut at the waist (``upper_body``, upper_body.py): the scale comes from the clavicles and arms
  alone (the photo's pelvis is a guess), and the pelvis follows only ``SWAY`` of the driving pelvis's
  horizontal path and none of its vertical one, so the body stays cut by the photo's bottom edge; the
  torso, neck and shoulder line keep the photo's pose plus ``TILT`` of the dance's turns from its
  typical pose (at most ``MAX_LEAN``), shorten at most to ``UPPER_MIN_STRETCH``, and the head turns at
  most ``UPPER_HEAD_LIMIT`` from the neck.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xdancer.pose.skeleton import MIRROR_PERMUTATION
from xdancer.render.rig import BONE_INDEX, BONES, END_BONE_EXTENT, J, rig_joints
from xdancer.render.upper_body import MAX_LEAN, SWAY, TILT, UPPER_HEAD_LIMIT, UPPER_MIN_STRETCH

STRUCTURAL = ("torso", "right_clavicle", "left_clavicle", "right_upper_arm", "left_upper_arm",
              "right_forearm", "left_forearm", "right_pelvis", "left_pelvis", "right_thigh",
              "left_thigh", "right_shin", "left_shin")  # fmt: skip
VIRTUAL_BONES = ("torso", "right_pelvis", "left_pelvis")  # their length is a guess in a waist-up photo
# A waist-up photo takes only part of the dance's lean of these (the body fills the frame, so their
# turns move much of it), and none of a turn so large that it is the dancer turning round.
LEAN_BONES = ("torso", "neck", "right_clavicle", "left_clavicle")
FOOT_JOINTS = (J["right_ankle"], J["right_toe"], J["left_ankle"], J["left_toe"])
HEAD_LIMIT = np.deg2rad(45.0)  # the head turns at most this far from the neck's direction
TURN_SPAN = 0.25  # shoulders crossed (uncrossed) by this much of their width: turned round (back)
# The girdles: short bones whose direction in a 2D pose tells more of how far the dancer has turned
# (and of the detector's noise) than of a shrug or a tilted hip. A photo cannot turn and its torso
# keeps its width, so they keep the photo's shoulder and hip lines to within GIRDLE_TURN and shorten
# to no less than GIRDLE_MIN_STRETCH: the limbs stay on the shoulders and hips the texture shows
# (docs/render.md: detector recovery on generated dances up 0.05-0.10 on four of the five photos).
GIRDLE = ("right_clavicle", "left_clavicle", "right_pelvis", "left_pelvis")
GIRDLE_TURN = np.deg2rad(15.0)
GIRDLE_MIN_STRETCH = 0.9


def wrap(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to (-pi, pi]."""
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def _angle(v: np.ndarray) -> float:
    return float(np.arctan2(v[1], v[0]))


def eye_angle(joints_kps: np.ndarray, threshold: float) -> float | None:
    """Angle of the right-eye -> left-eye line (ears as a fallback) of one (134, 3) pose, or None."""
    from xdancer.pose.skeleton import kp

    for a, b in (("right_eye", "left_eye"), ("right_ear", "left_ear")):
        pa, pb = joints_kps[kp(a)], joints_kps[kp(b)]
        if pa[2] >= threshold and pb[2] >= threshold and np.hypot(*(pb[:2] - pa[:2])) > 1e-3:
            return _angle(pb[:2] - pa[:2])
    return None


def complete_reference(joints: np.ndarray, threshold: float) -> np.ndarray:
    """Fill missing hand and toe joints of the photo's rig by extending their parent bone."""
    joints = joints.copy()
    for name, extent in END_BONE_EXTENT.items():
        bone = BONES[BONE_INDEX[name]]
        parent = BONES[bone.parent_bone]
        if (
            joints[bone.child_joint, 2] < threshold
            and min(joints[parent.parent_joint, 2], joints[parent.child_joint, 2]) >= threshold
        ):
            d = joints[parent.child_joint, :2] - joints[parent.parent_joint, :2]
            joints[bone.child_joint, :2] = joints[bone.parent_joint, :2] + extent * d
            joints[bone.child_joint, 2] = joints[parent.child_joint, 2]
    return joints


@dataclass
class RetargetedFrame:
    joints: np.ndarray  # (J, 2) rig joints in output pixels
    rotation: np.ndarray  # (B,) rotation of each bone from the photo, radians
    stretch: np.ndarray  # (B,) length of each bone over its length in the photo
    facing_away: bool  # the driving dancer shows the side the photo does not (left and right swapped)


class Retargeter:
    """Maps a driving sequence (T, 134, 3) onto a reference rig (J, 3), one frame at a time."""

    def __init__(self, reference_kps: np.ndarray, driving_kps: np.ndarray, *, threshold: float = 0.3,
                 min_stretch: float = 0.5, upper_body: bool = False, ground_frames: int = 31) -> None:  # fmt: skip
        self.threshold = threshold
        self.upper_body = upper_body
        self.min_stretch = min_stretch
        ref = complete_reference(rig_joints(reference_kps, threshold), threshold)
        self.ref = ref
        self.ref_kps = np.asarray(reference_kps, dtype=np.float64)
        self.ref_shoulder_sign = np.sign(ref[J["left_shoulder"], 0] - ref[J["right_shoulder"], 0]) or 1.0
        drive_kps = np.asarray(driving_kps, dtype=np.float64)
        self.turned = self._turned_round(drive_kps)  # (T,)
        self.drive_kps = drive_kps.copy()
        self.drive_kps[self.turned] = drive_kps[self.turned][:, MIRROR_PERMUTATION]
        self.drive = rig_joints(self.drive_kps, threshold)  # (T, J, 3), left and right as the photo's
        ok = ref[:, 2] >= threshold
        pj = np.array([b.parent_joint for b in BONES])
        cj = np.array([b.child_joint for b in BONES])
        self.active = ok[pj] & ok[cj]  # bones present in the photo
        self.ref_vec = ref[cj, :2] - ref[pj, :2]
        self.ref_len = np.linalg.norm(self.ref_vec, axis=1)
        self.ref_angle = np.arctan2(self.ref_vec[:, 1], self.ref_vec[:, 0])
        self.ref_head = eye_angle(self.ref_kps, threshold)

        # Driving bones: per-frame validity, length and its typical value over the sequence.
        dv = self.drive[:, cj, :2] - self.drive[:, pj, :2]  # (T, B, 2)
        self.drive_len = np.linalg.norm(dv, axis=-1)
        self.drive_ok = (np.minimum(self.drive[:, pj, 2], self.drive[:, cj, 2]) >= threshold) & (
            self.drive_len > 1e-3
        )
        self.nominal = np.array([
            np.percentile(self.drive_len[self.drive_ok[:, b], b], 90) if self.drive_ok[:, b].any() else np.nan
            for b in range(len(BONES))
        ])  # fmt: skip
        structural = [n for n in STRUCTURAL if not (upper_body and n in VIRTUAL_BONES)]
        # The dance's typical torso direction, neck bend and shoulder line: a waist-up photo's lean is
        # measured from these (a tilted camera, or a dancer who leans all along or is seen in profile,
        # does not tilt it).
        torso = BONE_INDEX["torso"]
        drive_angle = np.arctan2(dv[..., 1], dv[..., 0])  # (T, B)
        self.typical = np.full(len(BONES), np.nan)
        for name in LEAN_BONES:
            i = BONE_INDEX[name]
            rel = drive_angle[:, i] - (drive_angle[:, torso] if i != torso else 0.0)
            ok = self.drive_ok[:, i] & self.drive_ok[:, torso]
            if ok.any():
                self.typical[i] = _angle([np.cos(rel[ok]).sum(), np.sin(rel[ok]).sum()])
        ratios = [self.ref_len[BONE_INDEX[n]] / self.nominal[BONE_INDEX[n]] for n in structural
                  if self.active[BONE_INDEX[n]] and np.isfinite(self.nominal[BONE_INDEX[n]])]  # fmt: skip
        self.scale = float(np.median(ratios)) if ratios else 1.0

        # Placement anchors: the driving pelvis path and ground line.
        pelvis_ok = self.drive[:, J["pelvis"], 2] >= threshold
        self.drive_center = self.drive[pelvis_ok, J["pelvis"], :2].mean(0) if pelvis_ok.any() else None
        self.drive_low = self._lowest_drive_foot()  # (T,) NaN where no foot is seen
        ref_feet = [j for j in FOOT_JOINTS if ref[j, 2] >= threshold]
        has_ground = bool(ref_feet) and np.isfinite(self.drive_low).any()
        self.ref_ground = float(ref[ref_feet, 1].max()) if has_ground else None
        self.drive_ground = self._local_ground(ground_frames) if has_ground else None  # (T,)

        # State held across frames (the fallback for unsure keypoints).
        self.ref_rel = self._reference_relative_angles()
        self.rel_angle = self.ref_rel.copy()
        self.stretch = np.ones(len(BONES))
        self.head_rel = 0.0
        self.root = ref[J["pelvis"], :2].copy()

    def _turned_round(self, drive_kps: np.ndarray) -> np.ndarray:
        """(T,) bool from the driving keypoints (T, 134, 3): the dancer shows the other side than the
        photo. Set when the shoulders cross by ``TURN_SPAN`` of their typical distance apart (the 90th
        percentile over the dance), cleared when they uncross by as much, held in between and while a
        shoulder is unsure."""
        from xdancer.pose.skeleton import kp

        sides = drive_kps[:, [kp("right_shoulder"), kp("left_shoulder")]]  # (T, 2, 3)
        seen = sides[:, :, 2].min(axis=1) >= self.threshold
        span = self.ref_shoulder_sign * (sides[:, 1, 0] - sides[:, 0, 0])  # > 0: the photo's side
        turned = np.zeros(len(drive_kps), bool)
        if not seen.any():
            return turned
        width = float(np.percentile(np.linalg.norm(sides[seen, 1, :2] - sides[seen, 0, :2], axis=-1), 90))
        state = False
        for t in range(len(drive_kps)):
            if seen[t] and span[t] < -TURN_SPAN * width:
                state = True
            elif seen[t] and span[t] > TURN_SPAN * width:
                state = False
            turned[t] = state
        return turned

    def _lowest_drive_foot(self) -> np.ndarray:
        from xdancer.pose.skeleton import FEET, kp

        idx = [kp("right_ankle"), kp("left_ankle")] + list(range(FEET.start, FEET.stop))
        pts = self.drive_kps[:, idx, :]
        y = np.where(pts[..., 2] >= self.threshold, pts[..., 1], -np.inf).max(axis=1)
        return np.where(np.isfinite(y), y, np.nan)

    def _local_ground(self, frames: int) -> np.ndarray:
        """The driving dancer's ground line per frame (T,): the median of the lowest foot over
        ``frames`` frames centred on each one; gaps interpolated."""
        from scipy.ndimage import median_filter

        low = self.drive_low
        ok = np.isfinite(low)
        i = np.arange(len(low))
        filled = np.interp(i, i[ok], low[ok])
        return median_filter(filled, size=max(1, int(frames)), mode="nearest")

    def _reference_relative_angles(self) -> np.ndarray:
        rel = self.ref_angle.copy()
        for i, b in enumerate(BONES):
            if b.parent_bone is not None:
                rel[i] = wrap(self.ref_angle[i] - self.ref_angle[b.parent_bone])
        return rel

    def _lean(self, i: int, rel: float, parent_seen: bool) -> float:
        """Relative angle of lean bone ``i`` of a waist-up photo: the photo's own plus ``TILT`` of the
        dance's turn from its typical pose, at most ``MAX_LEAN``; a turn beyond a right angle (the
        shoulder line flipping as the dancer turns round) keeps the previous angle."""
        if not parent_seen or not np.isfinite(self.typical[i]):
            return rel
        turn = float(wrap(rel - self.typical[i]))
        if abs(turn) > np.pi / 2:
            return float(self.rel_angle[i])
        return float(wrap(self.ref_rel[i] + np.clip(TILT * turn, -MAX_LEAN, MAX_LEAN)))

    def __len__(self) -> int:
        return len(self.drive)

    def frame(self, t: int) -> RetargetedFrame:
        """Retarget driving frame ``t``; call in order (held angles carry over between calls)."""
        drive = self.drive[t]
        nb = len(BONES)
        angle = np.zeros(nb)
        seen = np.full(nb, np.nan)  # the driving bones' own directions, where seen
        length = np.zeros(nb)
        joints = np.zeros((len(self.ref), 2))
        held_girdle = np.zeros(nb, bool)
        # 1. Forward kinematics from a pelvis at the origin, with the person's bone lengths.
        for i, b in enumerate(BONES):
            parent_angle = angle[b.parent_bone] if b.parent_bone is not None else 0.0
            if self.drive_ok[t, i]:
                d = drive[b.child_joint, :2] - drive[b.parent_joint, :2]
                seen[i] = _angle(d)
                # Relative to the driving parent where it is seen (the retargeted one may differ) --
                # except below a held girdle, whose limb keeps the dancer's own direction: relative to
                # the girdle's driving angle, a thigh would turn with the hip line the girdle ignored.
                drive_parent, parent_seen = parent_angle, b.parent_bone is None
                if b.parent_bone is not None and np.isfinite(seen[b.parent_bone]):
                    parent_seen = True
                    if not held_girdle[b.parent_bone]:
                        drive_parent = seen[b.parent_bone]
                self.rel_angle[i] = wrap(seen[i] - drive_parent)
                shortest = self.min_stretch
                if self.upper_body and b.name in LEAN_BONES:
                    self.rel_angle[i] = self._lean(i, self.rel_angle[i], parent_seen)
                    shortest = max(shortest, UPPER_MIN_STRETCH)
                if b.name in GIRDLE:
                    # (a waist-up photo's arms turn with its shoulder line, as its whole chest leans)
                    held_girdle[i] = not (self.upper_body and b.name in LEAN_BONES)
                    turn = float(wrap(self.rel_angle[i] - self.ref_rel[i]))
                    self.rel_angle[i] = wrap(self.ref_rel[i] + np.clip(turn, -GIRDLE_TURN, GIRDLE_TURN))
                    shortest = max(shortest, GIRDLE_MIN_STRETCH)
                if np.isfinite(self.nominal[i]):
                    self.stretch[i] = np.clip(self.drive_len[t, i] / self.nominal[i], shortest, 1.0)
            angle[i] = parent_angle + self.rel_angle[i]
            base = self.ref_len[i] if self.active[i] else self.scale * np.nan_to_num(self.nominal[i])
            length[i] = base * self.stretch[i]
            joints[b.child_joint] = joints[b.parent_joint] + length[i] * np.array(
                [np.cos(angle[i]), np.sin(angle[i])]
            )
        # 2. Head: the eye line's rotation, held relative to the neck when the eyes are not seen.
        neck_turn = wrap(angle[BONE_INDEX["neck"]] - self.ref_angle[BONE_INDEX["neck"]])
        drive_head = eye_angle(self.drive_kps[t], self.threshold)
        if drive_head is not None and self.ref_head is not None:
            turn = float(wrap(drive_head - self.ref_head - neck_turn))
            limit = UPPER_HEAD_LIMIT if self.upper_body else HEAD_LIMIT
            if not (self.upper_body and abs(turn) > np.pi / 2):  # an eye line upside down: held
                self.head_rel = float(np.clip(turn, -limit, limit))
        head_turn = neck_turn + self.head_rel
        # 3. Place the pelvis: scaled driving path horizontally, the ground line vertically.
        if drive[J["pelvis"], 2] >= self.threshold and self.drive_center is not None:
            offset = self.scale * (drive[J["pelvis"], :2] - self.drive_center)
            if self.upper_body:
                offset = np.array([SWAY * offset[0], 0.0])
            self.root = self.ref[J["pelvis"], :2] + offset
            if self.ref_ground is not None and np.isfinite(self.drive_low[t]):
                lift = self.scale * max(0.0, self.drive_ground[t] - self.drive_low[t])
                feet = [j for j in FOOT_JOINTS if self.ref[j, 2] >= self.threshold]
                self.root[1] = self.ref_ground - lift - joints[feet, 1].max()
        joints += self.root
        rotation = wrap(angle - self.ref_angle)
        rotation[BONE_INDEX["head"]] = head_turn
        stretch = np.where(self.ref_len > 1e-6, length / np.maximum(self.ref_len, 1e-6), 1.0)
        stretch[BONE_INDEX["head"]] = 1.0
        return RetargetedFrame(joints, rotation, stretch, bool(self.turned[t]))


def bone_affines(ref_joints: np.ndarray, frame: RetargetedFrame) -> np.ndarray:
    """(B, 2, 3) affine map of each bone, photo -> frame: rotate about the bone's parent joint, stretch
    along the bone (foreshortening), and move the parent joint to its new place."""
    out = np.zeros((len(BONES), 2, 3))
    for i, b in enumerate(BONES):
        p0 = ref_joints[b.parent_joint, :2]
        q0 = frame.joints[b.parent_joint]
        v = ref_joints[b.child_joint, :2] - p0
        n = np.linalg.norm(v)
        u = v / n if n > 1e-6 else np.array([1.0, 0.0])
        stretch = np.eye(2) + (frame.stretch[i] - 1.0) * np.outer(u, u)
        c, s = np.cos(frame.rotation[i]), np.sin(frame.rotation[i])
        m = np.array([[c, -s], [s, c]]) @ stretch
        out[i, :, :2] = m
        out[i, :, 2] = q0 - m @ p0
    return out
