"""BVH motion capture: a parser, forward kinematics, and an importer for music-free pose data.

BVH (Biovision Hierarchy) is a text format: a joint hierarchy (``ROOT`` / ``JOINT`` with an
``OFFSET`` from the parent and a list of ``CHANNELS``; ``End Site`` leaves) followed by ``MOTION``:
the frame count, the frame time and one line of channel values per frame.

Forward kinematics follows the format's convention: a joint's local rotation is the product of its
rotation channels *in the order listed* (``Zrotation Xrotation Yrotation`` -> Rz @ Rx @ Ry, angles in
degrees), and

    R_world(j) = R_world(parent) @ R_local(j)
    p_world(j) = p_world(parent) + R_world(parent) @ t_local(j)

where t_local is the joint's position channels when it has them (the root, usually) and its OFFSET
otherwise. Units vary between files (centimetres, inches, CMU's own), so positions are rescaled
to a 1.7 m standing height; the up axis (y or z) is told from the data.

BVH clips have no music: they are tokenizer training data (``has_music`` False).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from xdancer.constants import POSE_FPS
from xdancer.data.body3d import film_whole_body, standing_height, whole_body_3d
from xdancer.data.camera import CameraConfig, sample_camera
from xdancer.data.dwm import resample_linear
from xdancer.data.importer import ImportedClip
from xdancer.errors import InputError
from xdancer.io_utils import check_input_file
from xdancer.pose.sequence import PoseSequence

ASSUMED_HEIGHT_M = 1.7

# Our joint names -> BVH names to look for, in order of preference (lower case; "{s}" = left/right).
# Shoulder: Mixamo's "LeftShoulder" is the clavicle, its "LeftArm" the shoulder joint.
_CANDIDATES = {
    "head": ("head",),
    "{s}_shoulder": ("{s}arm", "{s}uparm", "{s}upperarm", "{s}shoulder"),
    "{s}_elbow": ("{s}forearm", "{s}elbow", "{s}lowarm", "{s}lowerarm"),
    "{s}_wrist": ("{s}wrist", "{s}hand"),
    "{s}_hip": ("{s}upleg", "{s}hip", "{s}thigh", "{s}upperleg"),
    "{s}_knee": ("{s}leg", "{s}knee", "{s}shin", "{s}lowerleg"),
    "{s}_ankle": ("{s}foot", "{s}ankle"),
    "{s}_toe": ("{s}toebase", "{s}toe", "{s}toes"),
}


@dataclass
class BvhJoint:
    name: str
    parent: int  # -1 for the root
    offset: np.ndarray  # (3,)
    channels: list[str] = field(default_factory=list)
    end_site: np.ndarray | None = None  # offset of an End Site child, if any


@dataclass
class Bvh:
    joints: list[BvhJoint]
    frame_time: float
    motion: np.ndarray  # (T, total channels)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time


def parse_bvh(path: str | Path) -> Bvh:
    """Read a BVH file. Raises InputError with the line at fault for malformed files."""
    p = check_input_file(path, "BVH file")
    try:
        text = p.read_text(errors="strict")
    except UnicodeDecodeError as e:
        raise InputError(f"{p} is not a text BVH file: {e}") from None
    head, sep, motion_text = text.partition("MOTION")
    if not sep:
        raise InputError(f"{p}: no MOTION section; is this a BVH file?")
    tokens = re.findall(r"[{}]|[^\s{}]+", head)
    joints: list[BvhJoint] = []
    stack: list[int] = []
    i = 0
    in_end = False
    try:
        if tokens[0] != "HIERARCHY":
            raise ValueError("the file must start with HIERARCHY")
        i = 1
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                parent = stack[-1] if stack else -1
                if tok == "ROOT" and joints:
                    raise ValueError("only one ROOT is supported")
                joints.append(BvhJoint(tokens[i + 1], parent, np.zeros(3)))
                i += 2
            elif tok == "End":
                in_end = True
                i += 2  # "End Site"
            elif tok == "{":
                if not in_end:
                    stack.append(len(joints) - 1)
                i += 1
            elif tok == "}":
                if in_end:
                    in_end = False
                else:
                    stack.pop()
                i += 1
            elif tok == "OFFSET":
                off = np.array([float(v) for v in tokens[i + 1 : i + 4]])
                if in_end:
                    joints[stack[-1]].end_site = off
                else:
                    joints[-1].offset = off
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                joints[-1].channels = tokens[i + 2 : i + 2 + n]
                i += 2 + n
            else:
                raise ValueError(f"unexpected token {tok!r}")
        lines = motion_text.strip().splitlines()
        n_frames = int(lines[0].split(":")[1])
        frame_time = float(lines[1].split(":")[1])
        values = np.array([[float(v) for v in ln.split()] for ln in lines[2 : 2 + n_frames]])
    except (ValueError, IndexError) as e:
        raise InputError(f"{p} is not a valid BVH file: {e}") from None
    n_channels = sum(len(j.channels) for j in joints)
    if not joints or values.ndim != 2 or values.shape != (n_frames, n_channels) or n_frames < 2:
        raise InputError(f"{p}: expected {n_frames} frames of {n_channels} channels, got {values.shape}")
    if not frame_time > 0:
        raise InputError(f"{p}: frame time must be positive, got {frame_time}")
    return Bvh(joints=joints, frame_time=frame_time, motion=values)


def forward_kinematics(bvh: Bvh) -> tuple[np.ndarray, np.ndarray]:
    """World positions (T, J, 3) of the joints and (T, J, 3) of their end sites (NaN where none)."""
    T = len(bvh.motion)
    J = len(bvh.joints)
    pos = np.zeros((T, J, 3))
    ends = np.full((T, J, 3), np.nan)
    rot = np.zeros((T, J, 3, 3))
    col = 0
    for j, joint in enumerate(bvh.joints):
        ch = joint.channels
        vals = bvh.motion[:, col : col + len(ch)]
        col += len(ch)
        t_local = np.broadcast_to(joint.offset, (T, 3)).copy()
        for k, axis in enumerate("XYZ"):
            if f"{axis}position" in ch:
                t_local[:, k] = vals[:, ch.index(f"{axis}position")]
        rot_ch = [(c[0].upper(), k) for k, c in enumerate(ch) if c.lower().endswith("rotation")]
        if rot_ch:
            order = "".join(a for a, _ in rot_ch)  # intrinsic, in the listed order: R = R1 @ R2 @ R3
            local = Rotation.from_euler(order, vals[:, [k for _, k in rot_ch]], degrees=True).as_matrix()
        else:
            local = np.broadcast_to(np.eye(3), (T, 3, 3))
        if joint.parent < 0:
            pos[:, j] = t_local
            rot[:, j] = local
        else:
            pr = rot[:, joint.parent]
            pos[:, j] = pos[:, joint.parent] + np.einsum("tij,tj->ti", pr, t_local)
            rot[:, j] = pr @ local
        if joint.end_site is not None:
            ends[:, j] = pos[:, j] + np.einsum("tij,j->ti", rot[:, j], joint.end_site)
    return pos, ends


def named_joints(bvh: Bvh, pos: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """Our named joints (file units, file axes) from the BVH joint names."""
    index = {j.name.lower().replace("_", "").replace(":", ""): k for k, j in enumerate(bvh.joints)}
    index = {re.sub(r"^mixamorig", "", n): k for n, k in index.items()}
    out: dict[str, np.ndarray] = {}
    for key, cands in _CANDIDATES.items():
        for side in ("left", "right") if "{s}" in key else ("",):
            name = key.format(s=side)
            for c in cands:
                c = c.format(s=side)
                if c in index:
                    k = index[c]
                    if name == "head" and bvh.joints[k].end_site is not None:
                        # The Head joint sits at the top of the neck; its end site at the crown.
                        out[name] = (pos[:, k] + ends[:, k]) / 2
                    elif name.endswith("_toe") and bvh.joints[k].end_site is not None:
                        out[name] = ends[:, k]  # the tip of the toes
                    else:
                        out[name] = pos[:, k]
                    break
    missing = [n for n in ("head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                           "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                           "right_knee", "left_ankle", "right_ankle") if n not in out]  # fmt: skip
    if missing:
        names = ", ".join(j.name for j in bvh.joints)
        raise InputError(f"cannot find {missing} among the BVH joints ({names})")
    return out


def to_metres_y_up(joints: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rotate z-up files to y-up, scale to a standing height of 1.7 m and put the floor at y = 0."""
    feet = (joints["left_ankle"] + joints["right_ankle"]) / 2
    lift = np.abs((joints["head"] - feet).mean(axis=0))
    up = int(np.argmax(lift))
    if up == 2:  # z up (x right, y forward) -> y up (x right, z towards the viewer)
        joints = {k: v[:, [0, 2, 1]] * np.array([1.0, 1.0, -1.0]) for k, v in joints.items()}
    elif up != 1:
        raise InputError("cannot tell the up axis of this BVH (neither y nor z separates head and feet)")
    if (joints["head"][:, 1] - feet[:, 1]).mean() < 0:
        joints = {k: v * np.array([1.0, -1.0, 1.0]) for k, v in joints.items()}
    low = np.minimum(joints["left_ankle"][:, 1], joints["right_ankle"][:, 1])
    floor = float(np.percentile(low, 2))
    height = float(np.percentile(joints["head"][:, 1], 90)) - floor
    if not height > 0:
        raise InputError("the BVH skeleton has no height (head not above the feet)")
    # Head centre to crown is about 10 cm of a 1.7 m body: scale so the crown reaches 1.7 m.
    scale = (ASSUMED_HEIGHT_M - 0.10) / height
    # Ankles stand about 8 cm above the floor.
    return {k: (v - np.array([0.0, floor, 0.0])) * scale + np.array([0.0, 0.08, 0.0]) for k, v in joints.items()}


def longest_continuous(joints: dict[str, np.ndarray], fps: float, max_speed: float = 10.0) -> dict[str, np.ndarray]:
    """Keep the longest stretch without a teleport (the root moving faster than ``max_speed`` m/s),
    e.g. a bind pose stored as frame 0 somewhere else on the stage."""
    root = (joints["left_hip"] + joints["right_hip"]) / 2
    jumps = np.flatnonzero(np.linalg.norm(np.diff(root, axis=0), axis=1) * fps > max_speed) + 1
    bounds = np.concatenate([[0], jumps, [len(root)]])
    k = int(np.argmax(np.diff(bounds)))
    return {n: v[bounds[k] : bounds[k + 1]] for n, v in joints.items()}


def bvh_files(path: str | Path) -> list[Path]:
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(f"BVH file or folder not found: {p}")
    files = sorted(f for f in p.rglob("*") if f.suffix.lower() == ".bvh")
    if not files:
        raise InputError(f"no .bvh files under {p}")
    return files


def import_bvh(path: str | Path, *, views: int = 3, seed: int = 0, camera: CameraConfig | None = None,
               licence: str = "see the source of the BVH file") -> Iterator[ImportedClip]:  # fmt: skip
    """Yield ``views`` clips per BVH file (virtual cameras as for Dance with Melody), 30 fps, no music."""
    if views < 1:
        raise InputError(f"views must be at least 1, got {views}")
    camera = camera or CameraConfig()
    for f in bvh_files(path):
        bvh = parse_bvh(f)
        pos, ends = forward_kinematics(bvh)
        joints = longest_continuous(to_metres_y_up(named_joints(bvh, pos, ends)), bvh.fps)
        joints = {k: resample_linear(v, bvh.fps, POSE_FPS) for k, v in joints.items()}
        root = (joints["left_hip"] + joints["right_hip"]) / 2
        pts, conf = whole_body_3d(joints)
        height = standing_height(pts)
        name_seed = int.from_bytes(hashlib.sha256(f.stem.encode("utf-8")).digest()[:4], "little")
        rng = np.random.default_rng([seed, name_seed])
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", f.stem)
        for v in range(views):
            cam = sample_camera(rng, camera)
            kps = film_whole_body(pts, conf, root, cam, camera, POSE_FPS, height)
            poses = PoseSequence(kps, POSE_FPS, (camera.width, camera.height),
                                 meta={"source": "bvh", "file": f.name, "camera": cam.describe(), "origin_fps": bvh.fps})  # fmt: skip
            yield ImportedClip(id=f"bvh_{stem}_v{v}", source="bvh", genre="", group=_KNOWN_GROUPS.get(f.stem, f"bvh_{stem}"),
                               licence=_licence(f, licence), poses=poses, music=None, camera=cam.describe(),
                               origin=str(f))  # fmt: skip


def _licence(f: Path, default: str) -> str:
    """A licence note beside the file (``<name>.LICENSE.txt`` or ``LICENSE`` in its folder), else ``default``."""
    for cand in (f.with_suffix(".LICENSE.txt"), f.parent / "LICENSE.txt", f.parent / "LICENSE"):
        if cand.is_file():
            return cand.read_text(errors="replace").strip().splitlines()[0][:200]
    return _KNOWN_LICENCES.get(f.stem, default)


# The BVH files of the project's development data (see ../shared/data/README.md).
_KNOWN_LICENCES = {
    "perfume_aachan": "Perfume global site capture data, non-commercial terms",
    "perfume_kashiyuka": "Perfume global site capture data, non-commercial terms",
    "perfume_nocchi": "Perfume global site capture data, non-commercial terms",
    "jesse_dance": "MIT (facebookresearch/AnimatedDrawings)",
    "cmu_jumping_jacks": "CMU motion capture database, via AnimatedDrawings (MIT)",
}

# Captures of one choreography by several dancers are one group (they must share a split).
_KNOWN_GROUPS = {f"perfume_{n}": "bvh_perfume" for n in ("aachan", "kashiyuka", "nocchi")}

__all__ = ["Bvh", "BvhJoint", "parse_bvh", "forward_kinematics", "named_joints", "to_metres_y_up", "import_bvh"]
