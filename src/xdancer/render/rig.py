"""The puppet's skeleton: rig joints from the 134 keypoints, bones, per-vertex bone weights, layers.

Rig joints are the body keypoints plus a few derived points (the pelvis between the hips, the middle
of each hand from its knuckles, the middle of each foot's toes). Each bone is a parent -> child joint
pair; the list is in forward-kinematics order (parents first). The head is a bone of its own whose
rotation comes from the eye line, not from the neck, so a head tilt shows even when the nose does not
move relative to the neck.

Weights: every mesh vertex is bound to the bones that are nearest to it *along the mesh* (geodesic
distance over mesh edges, so an arm resting against the hip does not follow the thigh unless the
silhouette joins them), blended smoothly only where two bones are about equally near (at joints).
Parts: each bone belongs to one body part (torso, an arm, a leg, the head); partition.py cuts the person into
the parts along these weights and meshes each on its own, and the parts are drawn in a per-frame order
so limbs can pass in front of or behind the torso.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.path import Path as MplPath
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from xdancer.pose.skeleton import FEET, LEFT_HAND_START, RIGHT_HAND_START, kp
from xdancer.render.mesh import Mesh

# --- 1. Rig joints ---------------------------------------------------------------------------------

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "neck", "nose",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_hip", "right_knee", "right_ankle", "right_toe",
    "left_hip", "left_knee", "left_ankle", "left_toe",
)  # fmt: skip
J = {name: i for i, name in enumerate(JOINT_NAMES)}
# Keypoints copied as they are (the rest are derived below).
_DIRECT = {
    name: kp(name)
    for name in JOINT_NAMES
    if name not in ("pelvis", "right_hand", "left_hand", "right_toe", "left_toe")
}
_KNUCKLES = (5, 9, 13, 17)  # index, middle, ring, little finger MCP within a 21-point hand


def rig_joints(keypoints: np.ndarray, threshold: float) -> np.ndarray:
    """(..., 134, 3) keypoints -> (..., len(JOINT_NAMES), 3) rig joints (x, y, confidence).

    A derived joint gets the smallest confidence of the points it is made of; hand and toe points that
    are missing stay at confidence 0 (the caller decides how to fall back).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    out = np.zeros(keypoints.shape[:-2] + (len(JOINT_NAMES), 3))
    for name, idx in _DIRECT.items():
        out[..., J[name], :] = keypoints[..., idx, :]

    def mean_of(idx: list[int], name: str) -> None:
        pts = keypoints[..., idx, :]
        ok = pts[..., 2] >= threshold  # (..., n)
        n = ok.sum(-1, keepdims=True)
        xy = (pts[..., :2] * ok[..., None]).sum(-2) / np.maximum(n, 1)
        out[..., J[name], :2] = xy
        conf = np.where(n[..., 0] >= max(1, len(idx) // 2), pts[..., 2].max(-1), 0.0)
        out[..., J[name], 2] = conf

    mean_of([kp("right_hip"), kp("left_hip")], "pelvis")
    out[..., J["pelvis"], 2] = np.minimum(
        keypoints[..., kp("right_hip"), 2], keypoints[..., kp("left_hip"), 2]
    )
    mean_of([RIGHT_HAND_START + k for k in _KNUCKLES], "right_hand")
    mean_of([LEFT_HAND_START + k for k in _KNUCKLES], "left_hand")
    mean_of([FEET.start + 3, FEET.start + 4], "right_toe")  # right big and small toe
    mean_of([FEET.start + 0, FEET.start + 1], "left_toe")
    return out


# --- 2. Bones ---------------------------------------------------------------------------------------

PARTS: tuple[str, ...] = ("torso", "right_arm", "left_arm", "right_leg", "left_leg", "head")


@dataclass(frozen=True)
class Bone:
    name: str
    parent_joint: int
    child_joint: int
    parent_bone: int | None  # index into BONES; None for bones hanging from the pelvis root
    part: str


def _bones() -> tuple[Bone, ...]:
    spec = [
        ("torso", "pelvis", "neck", None, "torso"),
        ("neck", "neck", "nose", "torso", "torso"),
        ("head", "nose", "nose", "neck", "head"),  # rotation from the eye line; see retarget.py
        ("right_clavicle", "neck", "right_shoulder", "torso", "torso"),
        ("right_upper_arm", "right_shoulder", "right_elbow", "right_clavicle", "right_arm"),
        ("right_forearm", "right_elbow", "right_wrist", "right_upper_arm", "right_arm"),
        ("right_hand", "right_wrist", "right_hand", "right_forearm", "right_arm"),
        ("left_clavicle", "neck", "left_shoulder", "torso", "torso"),
        ("left_upper_arm", "left_shoulder", "left_elbow", "left_clavicle", "left_arm"),
        ("left_forearm", "left_elbow", "left_wrist", "left_upper_arm", "left_arm"),
        ("left_hand", "left_wrist", "left_hand", "left_forearm", "left_arm"),
        ("right_pelvis", "pelvis", "right_hip", None, "torso"),
        ("right_thigh", "right_hip", "right_knee", "right_pelvis", "right_leg"),
        ("right_shin", "right_knee", "right_ankle", "right_thigh", "right_leg"),
        ("right_foot", "right_ankle", "right_toe", "right_shin", "right_leg"),
        ("left_pelvis", "pelvis", "left_hip", None, "torso"),
        ("left_thigh", "left_hip", "left_knee", "left_pelvis", "left_leg"),
        ("left_shin", "left_knee", "left_ankle", "left_thigh", "left_leg"),
        ("left_foot", "left_ankle", "left_toe", "left_shin", "left_leg"),
    ]
    index = {s[0]: i for i, s in enumerate(spec)}
    return tuple(
        Bone(name, J[a], J[b], None if p is None else index[p], part) for name, a, b, p, part in spec
    )


BONES: tuple[Bone, ...] = _bones()
BONE_INDEX = {b.name: i for i, b in enumerate(BONES)}
# End bones whose missing child joint is extrapolated from their parent bone in the reference photo
# (a hand continues the forearm, a foot points forward-down from the shin), as a fraction of it.
END_BONE_EXTENT = {"right_hand": 0.35, "left_hand": 0.35, "right_foot": 0.3, "left_foot": 0.3}
HEAD_EXTENT = 0.9  # the head's skinning segment runs from the nose this far (x neck->nose) upward
CHIN = 0.5  # ... and down to this point between the nose and the neck, so the chin goes with the head
HAND_REACH = 1.8  # a hand's skinning segment runs past the knuckles to the fingertips (x wrist->knuckles)


def bone_segments(joints: np.ndarray) -> np.ndarray:
    """(B, 2, 2) skinning segments of the reference rig: the bone itself, except the head which runs
    from the chin up past the nose (the head has no keypoint at its top) and the neck, which stops at
    the chin, and the hands, which reach on to the fingertips."""
    seg = np.stack(
        [joints[[b.parent_joint for b in BONES], :2], joints[[b.child_joint for b in BONES], :2]], 1
    )
    nose, neck = joints[J["nose"], :2], joints[J["neck"], :2]
    chin = nose + CHIN * (neck - nose)
    seg[BONE_INDEX["head"]] = (chin, nose + HEAD_EXTENT * (nose - neck))
    seg[BONE_INDEX["neck"], 1] = chin  # the face above the chin is the head's, not the neck's
    for name in ("right_hand", "left_hand"):
        a, b = seg[BONE_INDEX[name]]
        seg[BONE_INDEX[name], 1] = a + HAND_REACH * (b - a)
    return seg


# --- 3. Weights and layers -------------------------------------------------------------------------


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def geodesic_bone_distance(
    mesh: Mesh, segments: np.ndarray, active: np.ndarray, reach: float,
    regions: dict[int, tuple[np.ndarray, float]] | None = None,
    radius: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """(V, B) distance from each vertex to each bone along mesh edges (inf for inactive bones).

    Each bone is a virtual source joined (one way) to the vertices within ``reach`` of its segment,
    at their straight-line distance; Dijkstra over the mesh edges does the rest. ``regions`` adds,
    for a bone, a polygon (P, 2) whose inside vertices all join it at a fixed distance: a torso is
    wide, and its sides are nearer to arms hanging beside it than to its own centre line.
    ``radius`` (B,) caps how thick a limb can be: beyond it, the straight-line excess counts double,
    so a coat panel or a shirt beside a hanging arm stays with the body, not with the arm.
    """
    v = mesh.vertices
    nv, nb = len(v), len(segments)
    edges = mesh.edges
    length = np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)
    rows, cols, vals = [edges[:, 0], edges[:, 1]], [edges[:, 1], edges[:, 0]], [length, length]
    for k in np.flatnonzero(active):
        d = point_segment_distance(v, segments[k, 0], segments[k, 1])
        if regions and k in regions:
            polygon, core = regions[k]
            path = MplPath(polygon)
            d = np.where(path.contains_points(v), np.minimum(d, core), d)
        near = np.flatnonzero(d <= max(reach, regions[k][1] if regions and k in regions else 0.0))
        if len(near) == 0:
            near = np.argsort(d)[:3]
        rows.append(np.full(len(near), nv + k))
        cols.append(near)
        vals.append(d[near] + 1e-6)
    graph = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nv + nb, nv + nb)
    ).tocsr()
    out = np.full((nv, nb), np.inf)
    sources = np.flatnonzero(active)
    if len(sources):
        dist = dijkstra(graph, directed=True, indices=nv + sources)
        out[:, sources] = dist[:, :nv].T
    if radius is not None:
        for k in sources:
            if np.isfinite(radius[k]):
                d = point_segment_distance(v, segments[k, 0], segments[k, 1])
                out[:, k] += 2.0 * np.maximum(0.0, d - radius[k])
    return out


def with_straight_fallback(
    distance: np.ndarray, mesh: Mesh, segments: np.ndarray, active: np.ndarray
) -> np.ndarray:  # fmt: skip
    """``distance`` (V, B) from :func:`geodesic_bone_distance`, with the rows of vertices that no bone
    reaches along the mesh (a piece cut off from the rest) replaced by straight-line distances."""
    lost = ~np.isfinite(distance).any(axis=1)
    if lost.any():
        distance = distance.copy()
        for k in np.flatnonzero(active):
            distance[lost, k] = point_segment_distance(mesh.vertices[lost], segments[k, 0], segments[k, 1])
    return distance


def bone_adjacency() -> np.ndarray:
    """(B, B) bool: bones that share a joint (a bone is adjacent to itself)."""
    joints = [{b.parent_joint, b.child_joint} for b in BONES]
    return np.array([[bool(a & b) for b in joints] for a in joints])


def skin_weights(distance: np.ndarray, blend: float) -> np.ndarray:
    """(V, B) geodesic distances -> (V, B) weights summing to 1 per vertex.

    Bones farther than the nearest one by more than ``blend`` pixels get no weight; within that band
    the weight falls off smoothly, so vertices blend only near joints (rigid limbs, soft elbows).
    Only bones that share a joint with the nearest bone blend: a hand resting on a hip must not drag
    the hip along (nor the hip the hand), which a blend across the two would do.
    """
    nearest = distance.argmin(axis=1)
    dmin = distance[np.arange(len(distance)), nearest][:, None]
    x = np.clip((distance - dmin) / blend, 0.0, 1.0)
    allowed = bone_adjacency()[nearest]  # (V, B)
    w = np.where(
        np.isfinite(distance) & allowed, (1.0 - x) ** 2 * (1.0 + 2.0 * x) * (x < 1.0), 0.0
    )  # smoothstep
    return w / w.sum(axis=1, keepdims=True)
