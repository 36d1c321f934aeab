"""Body parts at pixel level, and one mesh per part.

The rig's weights (rig.py) say which part -- torso, an arm, a leg, the head -- each vertex of a mesh
of the whole silhouette belongs to. A single mesh, though, joins the parts with triangles that
straddle their boundary: where a thin arm hangs against the body, most of its triangles reach into
the body, and when the arm moves they either smear the photo across the gap or are torn off
(warp.py's ``tear``), taking the arm's pixels with them, so the arm comes out thinner than it is or
without its hand. Meshing each part on its own, with triangles that end on the part's boundary,
keeps every pixel of the arm on the arm:

1. ``limb_radii`` / ``limb_reach`` / ``hand_outlines``: how thick each arm is (read off the
   silhouette) and where its pixels may lie at all: across its bones, around its joints, inside its
   hand's keypoints, but not beyond its end;
2. ``part_labels``: pixels whose part weights (interpolated from the rig mesh's vertices) clearly
   favour one part are that part's; the band between parts goes to the part that reaches it first
   across the photo's colour edges (marker-controlled watershed on the Lab colour gradient; Meyer's
   flooding, as in scikit-image), so the cut follows the sleeve's edge, not the triangles;
3. ``part_meshes``: each part's pixels, grown by two pixels so that neighbouring parts overlap instead
   of leaving a crack, are meshed separately (mesh.py) and skinned by the part's own bones
   (``part_weights``); ``part_handles`` binds ARAP handles to them.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.segmentation import watershed

from xdancer.pose.skeleton import FACE, LEFT_HAND, RIGHT_HAND
from xdancer.render.arap import barycentric_handles
from xdancer.render.mesh import Mesh, build_mesh
from xdancer.render.raster import rasterize_ids
from xdancer.render.rig import (
    BONE_INDEX,
    BONES,
    PARTS,
    geodesic_bone_distance,
    skin_weights,
    with_straight_fallback,
)  # fmt: skip

PART_OF_BONE = np.array([PARTS.index(b.part) for b in BONES])
ARM_PARTS = (PARTS.index("right_arm"), PARTS.index("left_arm"))
HAND_OUTLINE = 1.3  # a hand's pixels: its keypoints' convex hull, grown this much about its centre
FACE_OUTLINE = 1.1  # the face: its keypoints' convex hull (brows to chin), grown this much


def vertex_parts(weights: np.ndarray) -> np.ndarray:
    """(V, B) bone weights -> (V, len(PARTS)) part weights."""
    per_part = np.zeros((weights.shape[0], len(PARTS)))
    np.add.at(per_part.T, PART_OF_BONE, weights.T)
    return per_part


def colour_gradient(photo: np.ndarray) -> np.ndarray:
    """(H, W) float32 magnitude of the CIE Lab colour gradient of an (H, W, 3) uint8 RGB photo, lightly
    smoothed (edges between a sleeve and the shirt beneath it)."""
    lab = cv2.cvtColor(cv2.GaussianBlur(photo, (0, 0), 1.0), cv2.COLOR_RGB2LAB).astype(np.float32)
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt((gx * gx + gy * gy).sum(axis=2))


def pixel_part_weights(mesh: Mesh, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W, P) part weights of every pixel, interpolated linearly inside the mesh's triangles from
    the vertices' (V, B) bone weights (zero outside the mesh)."""
    h, w = shape
    tri = mesh.triangles
    ids = rasterize_ids(mesh.vertices, tri, np.arange(len(tri)), (0, 0, w, h))
    ys, xs = np.nonzero(ids >= 0)
    f = ids[ys, xs]
    corners = np.concatenate([mesh.vertices[tri].transpose(0, 2, 1), np.ones((len(tri), 1, 3))], axis=1)
    det = np.linalg.det(corners)
    corners[np.abs(det) < 1e-9] = np.eye(3)
    to_bary = np.linalg.inv(corners)  # (F, 3, 3): (x, y, 1) -> barycentric coordinates
    bary = np.einsum(
        "nij,nj->ni", to_bary[f], np.stack([xs, ys, np.ones_like(xs)], axis=1).astype(np.float64)
    )
    bary = np.clip(bary, 0.0, 1.0)
    bary /= np.maximum(bary.sum(axis=1, keepdims=True), 1e-9)
    out = np.zeros((h, w, len(PARTS)), np.float32)
    out[ys, xs] = np.einsum("nk,nkp->np", bary, vertex_parts(weights)[tri[f]])
    return out


def hand_outlines(kps: np.ndarray, skinned: np.ndarray, threshold: float) -> dict[int, np.ndarray]:
    """{hand bone: (N, 2) polygon} for each skinned hand with at least three sure keypoints in the
    photo pose (134, 3): their convex hull, grown ``HAND_OUTLINE`` times about its centre (the
    keypoints sit inside the fingers)."""
    out = {}
    for side, hand in (("right", RIGHT_HAND), ("left", LEFT_HAND)):
        pts = kps[hand][kps[hand, 2] >= threshold, :2]
        if skinned[BONE_INDEX[f"{side}_hand"]] and len(pts) >= 3:
            hull = cv2.convexHull(pts.astype(np.float32))[:, 0].astype(np.float64)
            centre = hull.mean(axis=0)
            out[BONE_INDEX[f"{side}_hand"]] = centre + HAND_OUTLINE * (hull - centre)
    return out


def limb_radii(mask: np.ndarray, segments: np.ndarray, active: np.ndarray, default: float,
               least: float, most: float) -> np.ndarray:  # fmt: skip
    """(B,) half-width of each active arm bone, read off the silhouette: the median distance from the
    bone's middle part to the background (an arm beside the body or held out has background on its
    outer side, about half its width from the bone), 15 % more for the ragged edge, at least ``least``
    (the keypoints of an arm can lie near its edge). A bone farther than ``most`` from the background
    (an arm across the body or against it) gets ``default``. Other bones: 0."""
    to_background = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    h, w = mask.shape
    out = np.zeros(len(segments))
    for k in np.flatnonzero(active & np.isin(PART_OF_BONE, ARM_PARTS)):
        a, b = segments[k]
        pts = a + np.linspace(0.25, 0.75, 9)[:, None] * (b - a)
        x = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
        y = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
        d = 1.15 * float(np.median(to_background[y, x]))
        out[k] = max(d, least) if d <= most else default
    return out


def limb_reach(shape: tuple[int, int], segments: np.ndarray, active: np.ndarray, radii: np.ndarray,
               outlines: dict[int, np.ndarray]) -> np.ndarray:  # fmt: skip
    """(H, W, P) bool: where each part may have pixels; the torso and legs anywhere, an arm only near
    its active bones (segments (B, 2, 2)): within ``radii`` (B,) across each bone (a puffed sleeve),
    around the joint it hangs from (shoulder, elbow, wrist), but not beyond its end (the coat hanging
    below a hand stays with the body). A bone with an outline polygon (N, 2) (a hand's keypoints)
    reaches inside that instead.
    """
    h, w = shape
    out = np.ones((h, w, len(PARTS)), bool)
    for p in ARM_PARTS:
        near = np.zeros((h, w), np.uint8)
        for k in np.flatnonzero(active & (PART_OF_BONE == p)):
            a, b = segments[k]
            radius = radii[k] if k not in outlines else radii[BONES[k].parent_bone]
            cv2.circle(near, tuple(int(v) for v in np.round(a)), int(round(radius)), 1, -1)
            if k in outlines:
                cv2.fillPoly(near, [np.round(outlines[k]).astype(np.int32)], 1)
                continue
            d = b - a
            across = radius * np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-6)
            box = np.array([a + across, b + across, b - across, a - across])
            cv2.fillPoly(near, [np.round(box).astype(np.int32)], 1)
        out[..., p] = near > 0
    return out


def part_labels(photo: np.ndarray, mask: np.ndarray, mesh: Mesh, weights: np.ndarray,
                reach: np.ndarray | None = None, margin: float = 0.5,
                wide_reach: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(H, W) int16 part index (into PARTS) of every pixel of ``mask`` (H, W), -1 outside it.

    mesh / weights: the rig mesh of the whole silhouette and its (V, B) bone weights. Pixels whose
    interpolated part weight leads the runner-up by more than ``margin`` are sure; the band between
    parts goes to the part that floods it first across the photo's colour edges (watershed).
    reach: (H, W, P) bool, where each part may have pixels at all (``limb_reach``): a coat panel
    beside a hanging arm stays with the body.
    wide_reach: (H, W, P) bool, a wider reach for the arms: torso pixels that the flooding within it
    gives to an arm go to that arm (a puffed cuff wider than the arm's measured thickness).
    """
    soft = pixel_part_weights(mesh, weights, mask.shape)
    gradient = colour_gradient(photo)
    labels = _flood(gradient, mask, soft, reach, margin)
    if wide_reach is not None:
        wide = _flood(gradient, mask, soft, wide_reach, margin)
        take = (labels == PARTS.index("torso")) & np.isin(wide, ARM_PARTS)
        labels[take] = wide[take]
    return labels


def _flood(gradient: np.ndarray, mask: np.ndarray, soft: np.ndarray, reach: np.ndarray | None,
           margin: float) -> np.ndarray:  # fmt: skip
    """part_labels for one reach, from the (H, W) colour gradient and the (H, W, P) pixel part weights."""
    inside = mask > 0
    if reach is not None:
        soft = soft * reach
    top = np.sort(soft, axis=2)
    sure = (top[..., -1] - top[..., -2] > margin) & inside
    markers = np.where(sure, soft.argmax(axis=2) + 1, 0).astype(np.int32)
    if not markers.any():  # nothing sure (a speck of a person): each pixel to its leading part
        markers = (soft.argmax(axis=2) + 1) * inside
    labels = watershed(gradient, markers, mask=inside) - 1
    if reach is not None:  # flooded beyond its reach: the part that leads there
        beyond = inside & ~np.take_along_axis(reach, np.maximum(labels, 0)[..., None], axis=2)[..., 0]
        labels[beyond] = soft.argmax(axis=2)[beyond]
    return np.where(inside, labels, -1).astype(np.int16)


def claim_sleeves(labels: np.ndarray, segments: np.ndarray, active: np.ndarray, torso: np.ndarray,
                  reach: float, margin: float) -> np.ndarray:  # fmt: skip
    """Torso pixels of ``labels`` (H, W) that hang off an arm go to that arm (a copy is returned).

    A sleeve wider than the silhouette says (its outer edge lost in a glow, a puffed cuff beside a
    thin arm) leaves torso-labelled pixels outside the body, which stay behind as a fragment of the
    arm when it moves. Such a pixel lies more than ``margin`` outside the torso polygon (N, 2), across
    an active upper arm or forearm (segments (B, 2, 2)) within ``reach`` of it (not beyond its ends),
    and nearer to that bone than to the torso polygon.
    """
    h, w = labels.shape
    body = np.full((h, w), 255, np.uint8)
    cv2.fillPoly(body, [np.round(torso).astype(np.int32)], 0)
    to_torso = cv2.distanceTransform(body, cv2.DIST_L2, 5)
    candidates = (labels == PARTS.index("torso")) & (to_torso > margin)
    out = labels.copy()
    if not candidates.any():
        return out
    best = np.full((h, w), np.inf, np.float32)
    for k in np.flatnonzero(active & np.isin(PART_OF_BONE, ARM_PARTS)):
        if not BONES[k].name.endswith(("upper_arm", "forearm")):
            continue
        a, b = segments[k]
        d = b - a
        length = max(float(np.linalg.norm(d)), 1e-6)
        across = reach * np.array([-d[1], d[0]]) / length
        band = np.zeros((h, w), np.uint8)
        box = np.array([a + across, b + across, b - across, a - across])
        cv2.fillPoly(band, [np.round(box).astype(np.int32)], 1)
        line = np.full((h, w), 255, np.uint8)
        cv2.line(line, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)), 0, 1)
        to_bone = cv2.distanceTransform(line, cv2.DIST_L2, 5)
        claim = candidates & (band > 0) & (to_bone < to_torso) & (to_bone < best)
        out[claim] = PART_OF_BONE[k]
        best[claim] = to_bone[claim]
    return out


def part_meshes(labels: np.ndarray, spacing: float, overlap: int = 2,
                contour_spacing: float | None = None) -> list[tuple[int, Mesh]]:  # fmt: skip
    """One (part, mesh) per part of an (H, W) label image (``part_labels``). Each part's pixels are
    grown by ``overlap`` pixels (into the labelled area only) so that neighbouring parts overlap at
    their seam instead of leaving a crack."""
    person = (labels >= 0).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * overlap + 1,) * 2)
    out = []
    for p in range(len(PARTS)):
        region = labels == p
        if not region.any():
            continue
        try:
            grown = cv2.dilate(region.astype(np.uint8), kernel) & person
            out.append((p, build_mesh(grown, spacing, contour_spacing)))
        except ValueError:  # only specks
            continue
    if not out:
        raise ValueError("no body part is large enough to mesh")
    return out


def part_bones(part: int, active: np.ndarray) -> np.ndarray:
    """(B,) bool: the active bones that skin a part's mesh -- its own, and the bone it hangs from (a
    clavicle for an arm, a pelvis half for a leg), so that it bends smoothly where it joins the body."""
    own = (PART_OF_BONE == part) & active
    parents = [BONES[i].parent_bone for i in np.flatnonzero(own)]
    for b in parents:
        if b is not None and PART_OF_BONE[b] != part:
            own[b] = active[b]
    return own


def part_weights(mesh: Mesh, part: int, segments: np.ndarray, active: np.ndarray, reach: float,
                 blend: float, regions: dict[int, tuple[np.ndarray, float]]) -> np.ndarray:  # fmt: skip
    """(V, B) skinning weights of one part's mesh: geodesic distance over that mesh to the part's bones
    (rig.geodesic_bone_distance); a piece of the part that no bone reaches along the mesh (a hand
    split off from its forearm) takes straight-line distance instead."""
    bones = part_bones(part, active)
    distance = geodesic_bone_distance(mesh, segments, bones, reach, regions)
    return skin_weights(with_straight_fallback(distance, mesh, segments, bones), blend)


def join_parts(pieces: list[tuple[int, Mesh]]) -> tuple[Mesh, np.ndarray, np.ndarray]:
    """The part meshes as one Mesh, the (F,) part of each triangle, and the (n + 1,) vertex offset at
    which each piece starts (and the total)."""
    offsets = np.cumsum([0] + [len(m.vertices) for _, m in pieces])
    mesh = Mesh(
        np.vstack([m.vertices for _, m in pieces]),
        np.vstack([m.triangles + n for (_, m), n in zip(pieces, offsets[:-1], strict=True)]),
    )
    return mesh, np.concatenate([np.full(len(m.triangles), p) for p, m in pieces]), offsets


def part_handles(mesh: Mesh, pieces: list[tuple[int, Mesh]], offsets: np.ndarray, segments: np.ndarray,
                 active: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """ARAP handles (arap.py) on the joined part meshes: (H,) bone, (H, 3) vertex ids, (H, 3)
    barycentric weights. Each active bone gets two, at 0.2 and 0.8 of its segment, bound to its own
    part's mesh (the parts overlap, so the first triangle holding the point could be another part's);
    a piece that fewer than two of them landed on (a speck of a sleeve cut off from its arm) gets two
    of its own on its main bone, or ARAP could neither place nor turn it."""
    bone_of, ids, bary = [], [], []
    for (p, piece), offset in zip(pieces, offsets[:-1], strict=True):
        bones = [b for b in np.flatnonzero(active) if PART_OF_BONE[b] == p]
        if not bones:
            continue
        points = [segments[b, 0] + t * (segments[b, 1] - segments[b, 0]) for b in bones for t in (0.2, 0.8)]
        i, w = barycentric_handles(piece, np.asarray(points))
        bone_of += [b for b in bones for _ in (0.2, 0.8)]
        ids.append(i + offset)
        bary.append(w)
    _, component = connected_components(
        coo_matrix((np.ones(len(mesh.edges)), mesh.edges.T), shape=(len(mesh.vertices),) * 2)
    )
    bound = np.concatenate(ids)[:, 0] if ids else np.zeros(0, dtype=np.int64)
    for c in np.unique(component):
        members = np.flatnonzero(component == c)
        if len(np.unique(bound[component[bound] == c])) >= 2 or len(members) < 2:
            continue
        # Three handles spread over the piece (the first vertex, the one farthest from it, and the one
        # farthest from both): two alone left some pieces free to fold about the line through them.
        pts = mesh.vertices[members]
        far = members[np.linalg.norm(pts - pts[0], axis=1).argmax()]
        third = members[np.minimum(np.linalg.norm(pts - pts[0], axis=1),
                                   np.linalg.norm(pts - mesh.vertices[far], axis=1)).argmax()]  # fmt: skip
        for vertex in dict.fromkeys((members[0], far, third)):
            bone_of.append(int(weights[members].sum(axis=0).argmax()))
            ids.append(np.array([[vertex] * 3]))
            bary.append(np.array([[1.0, 0.0, 0.0]]))
    return np.asarray(bone_of), np.vstack(ids), np.vstack(bary)


def face_triangles(mesh: Mesh, parts: np.ndarray, kps: np.ndarray, threshold: float) -> np.ndarray:
    """(F,) bool: the head's triangles whose centre lies inside the face -- the convex hull of the
    photo pose's (134, 3) sure face keypoints, grown ``FACE_OUTLINE`` times about its centre. The rest of
    the head (hair, hat) can go behind a raised arm while the face stays in front."""
    out = np.zeros(len(mesh.triangles), bool)
    pts = kps[FACE][kps[FACE, 2] >= threshold, :2]
    if len(pts) < 3:
        return out
    hull = cv2.convexHull(pts.astype(np.float32))[:, 0].astype(np.float64)
    centre = hull.mean(axis=0)
    outline = (centre + FACE_OUTLINE * (hull - centre)).astype(np.float32)
    head = np.flatnonzero(parts == PARTS.index("head"))
    for f in head:
        c = mesh.vertices[mesh.triangles[f]].mean(axis=0)
        out[f] = cv2.pointPolygonTest(outline, (float(c[0]), float(c[1])), False) >= 0
    return out
