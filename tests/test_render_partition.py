"""Body parts at pixel level (render/partition.py) on small synthetic photos: the cut follows colour
edges, arm thickness is read off the silhouette, arms reach no farther than their ends, the part
meshes cover the person."""

from __future__ import annotations

import cv2
import numpy as np

from xdancer.render.mesh import build_mesh
from xdancer.render.partition import claim_sleeves, limb_radii, limb_reach, part_labels, part_meshes
from xdancer.render.rig import BONE_INDEX, BONES, PARTS

H, W = 60, 100
TORSO, ARM = BONE_INDEX["torso"], BONE_INDEX["right_upper_arm"]


def sleeve_photo() -> tuple[np.ndarray, np.ndarray]:
    """A dark body (x < 50) with a white sleeve beside it (50 <= x < 70), background beyond."""
    photo = np.full((H, W, 3), 90, np.uint8)
    photo[:, 50:70] = 235
    photo[:, 70:] = (40, 120, 200)
    mask = np.zeros((H, W), np.uint8)
    mask[:, :70] = 1
    return photo, mask


def sleeve_labels() -> np.ndarray:
    """Part labels of the sleeve photo, with rig weights that hand over from body to arm between
    x = 36 and 56: halfway at 46, four pixels short of the sleeve's real edge at 50."""
    photo, mask = sleeve_photo()
    mesh = build_mesh(mask, 6.0)
    t = np.clip((mesh.vertices[:, 0] - 36.0) / 20.0, 0.0, 1.0)
    weights = np.zeros((len(mesh.vertices), len(BONES)))
    weights[:, TORSO], weights[:, ARM] = 1.0 - t, t
    return part_labels(photo, mask, mesh, weights)


def test_the_cut_follows_the_colour_edge():
    labels = sleeve_labels()
    torso, arm = PARTS.index("torso"), PARTS.index("right_arm")
    assert (labels[:, 70:] == -1).all()
    rows = slice(5, H - 5)  # away from the top and bottom edges
    assert (labels[rows, 40:49] == torso).mean() > 0.99
    assert (labels[rows, 51:70] == arm).mean() > 0.99


def test_the_part_meshes_cover_the_person():
    labels = sleeve_labels()
    pieces = part_meshes(labels, 6.0, contour_spacing=3.0)
    assert sorted(p for p, _ in pieces) == [PARTS.index("torso"), PARTS.index("right_arm")]
    covered = np.zeros((H, W), np.uint8)
    for _, piece in pieces:
        for tri in piece.triangles:
            cv2.fillConvexPoly(covered, np.round(piece.vertices[tri]).astype(np.int32), 1)
    assert ((labels >= 0) & (covered == 0)).sum() <= 0.01 * (labels >= 0).sum()


def test_arm_thickness_is_read_off_the_silhouette():
    mask = np.zeros((H, W), np.uint8)
    mask[:, :40] = 1  # the body
    mask[20:33, 40:90] = 1  # the right arm held out, 13 px thick, centred on y = 26
    segments = np.zeros((len(BONES), 2, 2))
    segments[BONE_INDEX["right_upper_arm"]] = [(42, 26), (65, 26)]
    segments[BONE_INDEX["right_forearm"]] = [(65, 26), (88, 26)]
    segments[BONE_INDEX["left_upper_arm"]] = [(20, 10), (20, 50)]  # lying on the body all along
    active = np.zeros(len(BONES), bool)
    active[[BONE_INDEX[n] for n in ("right_upper_arm", "right_forearm", "left_upper_arm")]] = True
    radii = limb_radii(mask, segments, active, default=10.0, least=3.0, most=20.0)
    assert 6.5 <= radii[BONE_INDEX["right_upper_arm"]] <= 8.5  # 1.15 x the 6.5 px half-width
    assert 6.5 <= radii[BONE_INDEX["right_forearm"]] <= 8.5
    assert radii[BONE_INDEX["left_upper_arm"]] == 10.0
    assert radii[TORSO] == 0.0
    reach = limb_reach((H, W), segments, active, radii, {})
    arm = PARTS.index("right_arm")
    assert reach[26, 80, arm] and reach[31, 80, arm]  # across the forearm
    assert not reach[26, 97, arm]  # beyond its end
    assert not reach[45, 80, arm]  # beyond its thickness
    assert reach[:, :, PARTS.index("torso")].all()


def test_a_sleeve_hanging_off_an_arm_goes_with_it():
    """Torso pixels outside the body, across an arm and nearer to it than to the body (a drape under a
    raised arm), go to the arm; the body, and what lies beyond the arm's end, stay."""
    torso, arm = PARTS.index("torso"), PARTS.index("right_arm")
    labels = np.full((H, W), -1, np.int16)
    labels[:, :40] = torso  # the body
    labels[20:33, 40:90] = arm  # the arm held out
    labels[33:40, 55:85] = torso  # a drape hanging under it, labelled body
    labels[20:33, 93:98] = torso  # something beyond the hand
    segments = np.zeros((len(BONES), 2, 2))
    segments[BONE_INDEX["right_upper_arm"]] = [(40, 26), (65, 26)]
    segments[BONE_INDEX["right_forearm"]] = [(65, 26), (88, 26)]
    active = np.zeros(len(BONES), bool)
    active[[BONE_INDEX["right_upper_arm"], BONE_INDEX["right_forearm"]]] = True
    body = np.array([(0.0, 0.0), (38.0, 0.0), (38.0, 59.0), (0.0, 59.0)])
    out = claim_sleeves(labels, segments, active, body, reach=20.0, margin=3.0)
    assert (out[33:40, 55:85] == arm).all()
    assert (out[:, :40] == torso).all()
    assert (out[20:33, 93:98] == torso).all()
    assert (out[20:33, 40:90] == arm).all()
