"""The hidden body layer: a backing for the torso and thighs, beneath everything else.

When the photographed person holds their hands in front of the body, the pixels there belong to the
arms; once the arms move, a single-layer puppet would show the background plate through the torso.
And where an arm touches the body, the triangles that join them tear when the arm moves away. So the
torso and thighs are meshed a second time as a layer of their own, bound to the torso and leg bones
only, textured with the photo in which the arms have been inpainted away (the clothes around them
continued into their place), and drawn beneath everything else. Where nothing moves, it stays hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from xdancer.render.inpaint import inpaint
from xdancer.render.mesh import Mesh, build_mesh
from xdancer.render.rig import BONES, PARTS, J, geodesic_bone_distance, skin_weights, with_straight_fallback

ARM_PARTS = (PARTS.index("right_arm"), PARTS.index("left_arm"))
WAIST = 0.4  # the waist lies this far up from the hips towards the neck (fraction of the torso)


@dataclass
class HiddenLayer:
    mesh: Mesh  # in photo pixels
    weights: np.ndarray  # (V, B), arm bones excluded
    rgba: np.ndarray  # (H, W, 4) uint8 premultiplied texture: the inpainted body inside the layer


def below_the_waist(joints: np.ndarray, height: int) -> np.ndarray:
    """(4, 2) polygon from the waist of a rig (J, 3) down past the bottom of a frame ``height`` rows
    tall, twice as wide as the hips: in a photo cut above the knees it is all skirt or trousers there,
    also where the hands were held in front of it."""
    torso = joints[J["pelvis"], :2] - joints[J["neck"], :2]
    down = torso * 2.0 * height / max(float(np.linalg.norm(torso)), 1e-6)
    hips = joints[[J["right_hip"], J["left_hip"]], :2] - WAIST * torso
    wide = hips + np.array([[-1.0], [1.0]]) * 0.5 * (hips[1] - hips[0])
    return np.array([wide[0], wide[1], wide[1] + down, wide[0] + down])


def hidden_body_layer(
    photo: np.ndarray,
    alpha: np.ndarray,
    mesh: Mesh,
    parts: np.ndarray,
    regions: dict[int, tuple[np.ndarray, float]],
    segments: np.ndarray,
    active: np.ndarray,
    *,
    spacing: float,
    blend: float,
    below: np.ndarray | None = None,
    min_area: float = 0.002,
) -> HiddenLayer | None:
    """Build the layer from the photo (H, W, 3), the person alpha (H, W) and the rigged main mesh.

    regions: the torso / thigh polygons (see rig.geodesic_bone_distance), whose inside (within the
    person) the layer covers; below: one more polygon (N, 2) it covers as it is (the skirt or trousers
    below the hips of a photo cut above the knees). Returns None when that is less than ``min_area``
    of the image.
    """
    h, w = alpha.shape
    arms = np.zeros((h, w), np.uint8)
    v = np.round(mesh.vertices).astype(np.int32)
    for f in np.flatnonzero(np.isin(parts, ARM_PARTS)):
        cv2.fillConvexPoly(arms, v[mesh.triangles[f]], 1)
    body = np.zeros((h, w), np.uint8)
    for polygon, _ in regions.values():
        # A little beyond the keypoint quadrilaterals: clothes are wider than the joints.
        centre = polygon.mean(axis=0)
        cv2.fillConvexPoly(body, np.round(centre + 1.15 * (polygon - centre)).astype(np.int32), 1)
    if below is not None:
        cv2.fillConvexPoly(body, np.round(below).astype(np.int32), 1)
    region = (body > 0) & (alpha > 0.5)
    if region.sum() < min_area * h * w:
        return None
    grow = max(1, int(round(spacing / 3)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
    covered = cv2.dilate(((arms > 0) & region).astype(np.uint8), kernel) & region.astype(np.uint8)
    # Texture: the body with the arms painted out (the clothes around them continued into their place).
    texture = inpaint(photo, covered, "telea", radius=max(3, grow * 2)) if covered.any() else photo
    layer_alpha = cv2.GaussianBlur(region.astype(np.float32), (0, 0), 1.0) * alpha
    rgba = np.dstack([texture * layer_alpha[..., None], 255.0 * layer_alpha]).round().astype(np.uint8)
    hidden = region.astype(np.uint8)
    try:
        under = build_mesh(hidden, spacing)
    except ValueError:  # only specks: nothing worth a layer
        return None
    body_bones = active & np.array([not b.part.endswith("_arm") for b in BONES])
    distance = geodesic_bone_distance(under, segments, body_bones, 1.5 * spacing, regions)
    return HiddenLayer(
        under, skin_weights(with_straight_fallback(distance, under, segments, body_bones), blend), rgba
    )
