"""WarpRenderer: animate the photo itself by skeleton-driven mesh deformation (the default renderer).

The classic AnimatedDrawings recipe (segment, triangulate, rig, deform; Smith et al., "A Method for
Animating Children's Drawings of the Human Figure", ACM TOG 2023) made for photos of real people:

1. set-up, once per photo (:meth:`WarpRenderer.prepare`): resize to the output size, segment the
   person (segment.py) and keep what lies near the skeleton, fill the background where they stood
   (inpaint.py), mesh the silhouette (mesh.py), bind the mesh to the skeleton (rig.py), add the
   hidden body layer beneath it (layers.py) and, for ARAP, factorise its solver (arap.py);
2. per frame: retarget the driving pose to the person (retarget.py), move the mesh (linear blend
   skinning of per-bone rigid maps, or ARAP with handles on the bones), order the body-part layers
   for this frame, and texture the moved mesh from the photo over the background plate (raster.py).

A photo cut at the waist gets a virtual pelvis and a body pinned to the photo's bottom edge
(upper_body.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.render.arap import ARAPDeformer
from xdancer.render.base import DEFAULT_HEIGHT, output_size_for
from xdancer.render.inpaint import METHODS, background_plate
from xdancer.render.layers import below_the_waist, hidden_body_layer
from xdancer.render.mesh import Mesh, build_mesh
from xdancer.render.partition import (
    claim_sleeves,
    face_triangles,
    hand_outlines,
    join_parts,
    limb_radii,
    limb_reach,
    part_handles,
    part_labels,
    part_meshes,
    part_weights,
)
from xdancer.render.raster import backward_affines, composite, dense_map, rasterize_ids
from xdancer.render.retarget import RetargetedFrame, Retargeter, bone_affines
from xdancer.render.rig import (
    BONE_INDEX,
    BONES,
    PARTS,
    J,
    bone_segments,
    geodesic_bone_distance,
    rig_joints,
    skin_weights,
)  # fmt: skip
from xdancer.render.segment import SegmentConfig, near_skeleton, segment_person
from xdancer.render.upper_body import frame_height_for, lacks_hips, legs_cut, pin_weights, waist_up_pose

# Back-to-front layer order: arms in front of the torso and the torso (the shirt, the skirt) over the
# tops of the legs; the arms in front of the hair but behind the face (drawn last, ``face`` in
# PreparedPhoto), so hands raised to the head stay in view and an arm raised across the face passes
# behind it: the face -- who the person is -- stays in view. A dancer who turns their back is drawn
# as the photo shows the person, from the front, with left and right swapped (retarget.py), so the
# same order holds (arms behind the body there measured 0.01-0.04 lower in detector recovery).
LAYER_ORDER = ("right_leg", "left_leg", "torso", "head", "right_arm", "left_arm")
HIDDEN_PART = -1  # part index of the hidden body layer's triangles, drawn beneath all others
# The thickest an arm is taken to be, in ``arm_radius``, when its thickness is read off the
# silhouette (partition.limb_radii): a puffed sleeve; thinner arms take what the silhouette shows.
ARM_REACH = 1.75
# How far (in ``arm_radius``) an arm may claim torso pixels that the photo's colour edges join to it
# (a puffed cuff on a forearm held across the body, whose thickness the silhouette cannot tell).
CUFF_REACH = 1.4


@dataclass
class WarpRendererConfig:
    """deformation: "lbs" (linear blend skinning of the bones' rigid maps) or "arap" (Igarashi et al.
        2005, handles on the bones). LBS is the default: as good on the test photos, faster
        (docs/render.md).
    mesh_spacing: distance between mesh vertices, as a fraction of the output height.
    blend: width of the weight blend at joints, as a fraction of the output height.
    keypoint_threshold: keypoints below this confidence are treated as unseen.
    min_stretch: shortest a bone may get through foreshortening, as a fraction of its photo length.
    inpaint_method / inpaint_height: how and at what working height the background plate is filled.
    mask_threshold: person alpha above which a pixel is meshed.
    arap_weight: weight of the ARAP handle constraints.
    torso_core: distance (fraction of the height) at which the inside of the shoulder-hip
        quadrilateral counts as touching the torso bone; limbs closer than this to their own bone
        stay limbs even where they cross the torso.
    tear: a triangle whose edge grows beyond this factor is not drawn (the mesh tears there).
    arm_radius: an arm's half-width when the silhouette cannot tell (an arm against the body all
        along; fraction of the height); otherwise it is read off the silhouette, between 0.75 and
        ``ARM_REACH`` times this. Clothes beyond it stay with the body.
    hidden_layer: mesh the body that arms cover in the photo again, beneath them (layers.py).
    body_reach: person pixels farther than this (fraction of the height) from every bone and keypoint
        stay in the background (a glowing floor, a pet, a bag the segmenter took for the person).
    """

    deformation: str = "lbs"
    mesh_spacing: float = 0.025
    blend: float = 0.04
    keypoint_threshold: float = 0.3
    min_stretch: float = 0.5
    inpaint_method: str = "telea"
    inpaint_height: int = 256
    mask_threshold: float = 0.5
    arap_weight: float = 1000.0
    torso_core: float = 0.03
    tear: float = 3.0
    arm_radius: float = 0.035
    hidden_layer: bool = True
    body_reach: float = 0.16
    segment: SegmentConfig | None = None

    def __post_init__(self) -> None:
        if self.tear <= 1:
            raise ValueError(f"tear must be above 1, got {self.tear}")
        if self.deformation not in ("lbs", "arap"):
            raise ValueError(f"deformation must be 'lbs' or 'arap', got {self.deformation!r}")
        if not 0.005 <= self.mesh_spacing <= 0.2:
            raise ValueError(f"mesh_spacing must lie in [0.005, 0.2], got {self.mesh_spacing}")
        if not 0 < self.blend <= 0.5:
            raise ValueError(f"blend must lie in (0, 0.5], got {self.blend}")
        if not 0 <= self.keypoint_threshold < 1:
            raise ValueError(f"keypoint_threshold must lie in [0, 1), got {self.keypoint_threshold}")
        if not 0 < self.min_stretch <= 1:
            raise ValueError(f"min_stretch must lie in (0, 1], got {self.min_stretch}")
        if self.inpaint_method not in METHODS:
            raise ValueError(f"inpaint_method must be one of {METHODS}, got {self.inpaint_method!r}")
        if self.inpaint_height < 32:
            raise ValueError(f"inpaint_height must be at least 32, got {self.inpaint_height}")
        if not 0 < self.mask_threshold < 1:
            raise ValueError(f"mask_threshold must lie in (0, 1), got {self.mask_threshold}")
        if self.segment is None:
            self.segment = SegmentConfig()


@dataclass
class PreparedPhoto:
    """Everything the per-frame loop needs about one photo, at the output size."""

    size: tuple[int, int]  # (W, H)
    rgba: np.ndarray  # (H, W or 2W, 4) uint8 premultiplied photo + person alpha (| hidden layer)
    background: np.ndarray  # (H, W, 3) uint8 plate with the person removed
    alpha: np.ndarray  # (H, W) float32 person alpha
    reference_kps: np.ndarray  # (134, 3) photo keypoints in output pixels
    mesh: Mesh
    weights: np.ndarray  # (V, B) bone weights
    parts: np.ndarray  # (F,) part index of each triangle
    arap: ARAPDeformer | None
    handle_bones: np.ndarray  # (H,) bone of each ARAP handle
    handles: np.ndarray  # (H, 2) ARAP handle rest positions
    rest_edges: np.ndarray  # (F, 3) triangle edge lengths in the photo
    uv: np.ndarray  # (V, 2) texture coordinates of the vertices in ``rgba`` (an atlas: photo | hidden layer)
    n_main: int  # vertices [0, n_main) form the photo's mesh, the rest the hidden body layer
    upper_body: bool = False  # the photo is cut at the waist: virtual hips (upper_body.py)
    pin: np.ndarray | None = None  # (V,) pull of each vertex back to its photo place (cut bottom edge)
    face: np.ndarray | None = None  # (F,) the head's triangles that show the face, drawn in front


class WarpRenderer:
    """Mesh-warping renderer; implements :class:`xdancer.render.base.Renderer`."""

    def __init__(self, config: WarpRendererConfig | None = None) -> None:
        self.config = config or WarpRendererConfig()

    def output_size(
        self, reference_image: np.ndarray | tuple[int, int], height: int = DEFAULT_HEIGHT
    ) -> tuple[int, int]:
        if isinstance(reference_image, np.ndarray):
            return output_size_for((reference_image.shape[1], reference_image.shape[0]), height)
        return output_size_for(reference_image, height)

    # --- 1. One-time set-up per photo -------------------------------------------------------------

    def prepare(
        self, reference_image: np.ndarray, reference_pose: PoseSequence, *, height: int = DEFAULT_HEIGHT
    ) -> PreparedPhoto:
        cfg = self.config
        image = np.asarray(reference_image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(
                f"the reference image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
            )
        if len(reference_pose) < 1:
            raise InputError("the reference pose is empty")
        w_out, h_out = self.output_size(image, height=height)
        upscale = w_out > image.shape[1]
        kps = reference_pose.keypoints[0].astype(np.float64).copy()
        pw, ph = reference_pose.frame_size
        kps[:, 0] *= w_out / pw
        kps[:, 1] *= h_out / ph
        photo = cv2.resize(
            image, (w_out, h_out), interpolation=cv2.INTER_LINEAR if upscale else cv2.INTER_AREA
        )

        # A photo cut at the waist (unsure hips, or no knee in the photo) is animated from the waist up;
        # unsure hips become virtual ones, and the photo must then show the head and shoulders
        # (upper_body.py).
        virtual_hips = lacks_hips(kps, cfg.keypoint_threshold)
        upper_body = virtual_hips or legs_cut(kps, cfg.keypoint_threshold, h_out)
        size = h_out  # what the body sizes below are fractions of
        if upper_body:
            kps = waist_up_pose(kps, cfg.keypoint_threshold)
        if virtual_hips:  # a person cut at the waist fills more of the frame
            size = frame_height_for(kps, h_out)
        joints = rig_joints(kps, cfg.keypoint_threshold)
        needed = ("neck", "pelvis", "right_shoulder", "left_shoulder")
        missing = [n for n in needed if joints[J[n], 2] < cfg.keypoint_threshold]
        if missing:
            raise InputError(
                f"the photo's pose lacks {', '.join(missing)}; use a photo that shows the person from the "
                "head to at least the hips"
            )
        body = kps[:18][kps[:18, 2] >= cfg.keypoint_threshold, :2]
        alpha, extent = segment_person(photo, body, cfg.segment, with_extent=True)
        alpha = near_skeleton(alpha, kps, cfg.keypoint_threshold, cfg.body_reach * size)
        # The plate covers the person's whole soft extent (glows, translucent sleeves), so nothing of
        # a limb that moves away stays behind in it.
        extent = near_skeleton(extent, kps, cfg.keypoint_threshold, cfg.body_reach * size)
        background = background_plate(photo, extent, cfg.inpaint_method, cfg.inpaint_height)
        rgba = (
            np.dstack([photo.astype(np.float32) * alpha[..., None], alpha * 255.0]).round().astype(np.uint8)
        )

        # Mesh a slightly grown silhouette so the mesh edge lies outside the soft alpha edge.
        spacing = max(2.0, cfg.mesh_spacing * h_out)
        grow = max(1, int(round(spacing / 3)))
        mask = (alpha > cfg.mask_threshold).astype(np.uint8)
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        mesh = build_mesh(mask, spacing)

        retarget = Retargeter(kps, kps[None], threshold=cfg.keypoint_threshold, upper_body=upper_body)
        segments = bone_segments(retarget.ref)
        ref = retarget.ref
        torso_quad = ref[[J["right_shoulder"], J["left_shoulder"], J["left_hip"], J["right_hip"]], :2]
        core = cfg.torso_core * size
        regions = {BONE_INDEX["torso"]: (torso_quad, core)}
        hip_half = 0.5 * (ref[J["left_hip"], :2] - ref[J["right_hip"], :2])
        for side in ("right", "left"):
            hip, knee = ref[J[f"{side}_hip"], :2], ref[J[f"{side}_knee"], :2]
            if retarget.active[BONE_INDEX[f"{side}_thigh"]]:
                # The upper leg (trousers, shorts) is about as wide as half the hips; kept a little
                # narrower so a hand resting beside the thigh stays a hand.
                quad = np.array(
                    [hip - 0.6 * hip_half, hip + 0.6 * hip_half, knee + 0.4 * hip_half, knee - 0.4 * hip_half]
                )
                regions[BONE_INDEX[f"{side}_thigh"]] = (quad, core)
        # Each arm's thickness, read off the silhouette (partition.limb_radii): a bare arm is thin, a
        # puffed sleeve wide; clothes beyond it stay with the body.
        arm = cfg.arm_radius * size
        radii = limb_radii(mask, segments, retarget.active, arm, 0.75 * arm, ARM_REACH * arm)
        radius = np.where(radii > 0, radii, np.inf)
        # A hand the detector did not see in the photo (in a pocket, behind the back) gets no pixels:
        # what lies there is something else (the pocket), which should not fly off with the arm.
        skinned = retarget.active.copy()
        for side in ("right", "left"):
            if joints[J[f"{side}_hand"], 2] < cfg.keypoint_threshold:
                skinned[BONE_INDEX[f"{side}_hand"]] = False
            # A forearm it did not see (the wrist hidden behind something the arm holds, a helmet, a
            # bag) leaves the whole arm with the body: moved, it would tear the held thing apart.
            if joints[J[f"{side}_wrist"], 2] < cfg.keypoint_threshold:
                for bone in ("upper_arm", "forearm", "hand"):
                    skinned[BONE_INDEX[f"{side}_{bone}"]] = False
        # A seen hand holds everything inside the outline of its keypoints, even where it lies on a
        # thigh or the belly nearer to their bones.
        outlines = hand_outlines(kps, skinned, cfg.keypoint_threshold)
        limbs = {**regions, **{k: (polygon, 1.0) for k, polygon in outlines.items()}}
        distance = geodesic_bone_distance(mesh, segments, skinned, 1.5 * spacing, limbs, radius)
        weights = skin_weights(distance, cfg.blend * size)
        # Each part (torso, arms, legs, head) meshed on its own along a pixel-level cut, so that no
        # triangle joins an arm to the body (partition.py); each skinned by its own bones.
        reach = limb_reach(mask.shape, segments, skinned, radii, outlines)
        # A puffed cuff or a sleeve's far side can lie beyond the arm's measured thickness (an arm across
        # the body gets the default): torso pixels that the colour edges give to an arm within
        # ``CUFF_REACH`` of it go with it, and torso pixels hanging off an arm outside the body too.
        cuffs = np.where(radii > 0, np.maximum(radii, CUFF_REACH * arm), 0.0)
        wide = limb_reach(mask.shape, segments, skinned, cuffs, outlines)
        labels = part_labels(photo, mask, mesh, weights, reach, wide_reach=wide)
        labels = claim_sleeves(labels, segments, skinned, torso_quad, ARM_REACH * arm, core)
        pieces = part_meshes(labels, spacing, contour_spacing=spacing / 2)
        mesh, parts, offsets = join_parts(pieces)
        weights = np.vstack([part_weights(m, p, segments, skinned, 1.5 * spacing, cfg.blend * size, limbs)
                             for p, m in pieces])  # fmt: skip

        arap, handle_bones, handles = None, np.zeros(0, dtype=np.int64), np.zeros((0, 2))
        if cfg.deformation == "arap":
            handle_bones, ids, bary = part_handles(mesh, pieces, offsets, segments, retarget.active, weights)
            handles = (mesh.vertices[ids] * bary[..., None]).sum(axis=1)
            arap = ARAPDeformer(mesh, handles, cfg.arap_weight, bound=(ids, bary))

        # The body hidden behind the arms, as a layer beneath everything (layers.py). Its texture sits
        # to the right of the photo in one atlas, so a single remap samples both.
        n_main = len(mesh.vertices)
        uv = mesh.vertices
        layer = None
        if cfg.hidden_layer:
            # A photo cut above the knees: from the waist down it is all skirt or trousers.
            below = below_the_waist(ref, h_out) if upper_body else None
            layer = hidden_body_layer(photo, alpha, mesh, parts, regions, segments, retarget.active,
                                      spacing=spacing, blend=cfg.blend * size, below=below)  # fmt: skip
        if layer is not None:
            uv = np.vstack([mesh.vertices, layer.mesh.vertices + (w_out, 0)])
            mesh = Mesh(
                np.vstack([mesh.vertices, layer.mesh.vertices]),
                np.vstack([mesh.triangles, layer.mesh.triangles + n_main]),
            )
            weights = np.vstack([weights, layer.weights])
            parts = np.concatenate([parts, np.full(len(layer.mesh.triangles), HIDDEN_PART)])
            rgba = np.hstack([rgba, layer.rgba])
        tri = mesh.triangles
        rest_edges = np.linalg.norm(mesh.vertices[tri] - mesh.vertices[np.roll(tri, 1, axis=1)], axis=2)
        pin = None
        if upper_body:
            body = weights[:, [b.part in ("torso", "head") for b in BONES]].sum(axis=1)
            pin = pin_weights(mesh.vertices, body, h_out)
        face = face_triangles(mesh, parts, kps, cfg.keypoint_threshold)
        return PreparedPhoto((w_out, h_out), rgba, background, alpha, kps, mesh, weights, parts, arap,
                             handle_bones, handles, rest_edges, uv, n_main, upper_body, pin, face)  # fmt: skip

    # --- 2. Per frame --------------------------------------------------------------------------------

    def deform(self, prep: PreparedPhoto, ref_joints: np.ndarray, frame: RetargetedFrame) -> np.ndarray:
        """(V, 2) mesh vertices for one retargeted frame."""
        affines = bone_affines(ref_joints, frame)  # (B, 2, 3)
        v = prep.mesh.vertices
        moved = np.einsum("bij,vj->vbi", affines[:, :, :2], v) + affines[:, :, 2]  # (V, B, 2)
        out = np.einsum("vb,vbi->vi", prep.weights, moved)
        if prep.arap is not None:
            a = affines[prep.handle_bones]  # (H, 2, 3)
            targets = np.einsum("hij,hj->hi", a[:, :, :2], prep.handles) + a[:, :, 2]
            out[: prep.n_main] = prep.arap.solve(targets)  # the hidden layer keeps its skinning
        if prep.pin is not None:  # the body stays cut by the photo's bottom edge
            out += prep.pin[:, None] * (v - out)
        return out

    def draw_order(self, prep: PreparedPhoto) -> np.ndarray:
        """Triangle ids, back to front (``LAYER_ORDER``, the face last)."""
        hidden = np.flatnonzero(prep.parts == HIDDEN_PART)
        face = np.zeros(len(prep.parts), bool) if prep.face is None else prep.face
        layers = [np.flatnonzero((prep.parts == PARTS.index(p)) & ~face) for p in LAYER_ORDER]
        return np.concatenate([hidden, *layers, np.flatnonzero(face)])

    def backward_map(self, prep: PreparedPhoto, ref_joints: np.ndarray, frame: RetargetedFrame):
        """Box (x0, y0, x1, y1) of the moved person and the (map_x, map_y) photo coordinates of every
        pixel in it (-1 where no triangle lands); None when the person is entirely out of frame."""
        w, h = prep.size
        verts = self.deform(prep, ref_joints, frame)
        affines, ok = backward_affines(prep.uv, verts, prep.mesh.triangles)
        # Triangles that join parts which merely touch in the photo (a hand resting on a hip) tear
        # apart instead of smearing the photo across the gap.
        tri = prep.mesh.triangles
        edge = np.linalg.norm(verts[tri] - verts[np.roll(tri, 1, axis=1)], axis=2)  # (F, 3)
        ok &= (edge <= self.config.tear * prep.rest_edges).all(axis=1)
        order = self.draw_order(prep)
        order = order[ok[order]]
        lo = np.clip(np.floor(verts.min(axis=0)).astype(int), 0, [w, h])
        hi = np.clip(np.ceil(verts.max(axis=0)).astype(int) + 1, 0, [w, h])
        if (hi <= lo).any():
            return None
        box = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        ids = rasterize_ids(verts, tri, order, box)
        return box, *dense_map(ids, affines, box)

    def render_frame(self, prep: PreparedPhoto, ref_joints: np.ndarray, frame: RetargetedFrame,
                     out: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """One (H, W, 3) uint8 frame: the moved person over the background plate."""
        w, h = prep.size
        out = np.empty((h, w, 3), dtype=np.uint8) if out is None else out
        mapped = self.backward_map(prep, ref_joints, frame)
        if mapped is None:  # the whole person left the frame
            np.copyto(out, prep.background)
            return out
        box, map_x, map_y = mapped
        return composite(prep.background, prep.rgba, map_x, map_y, box, out)

    def coverage(self, prep: PreparedPhoto, ref_joints: np.ndarray, frame: RetargetedFrame) -> np.ndarray:
        """(H, W) float32 alpha of the moved person in one frame (what :meth:`render_frame` lays over
        the plate); used to check frames for holes."""
        w, h = prep.size
        alpha = np.zeros((h, w), dtype=np.float32)
        mapped = self.backward_map(prep, ref_joints, frame)
        if mapped is not None:
            (x0, y0, x1, y1), map_x, map_y = mapped
            a = cv2.remap(prep.rgba[..., 3], map_x, map_y, cv2.INTER_LINEAR, borderValue=0)
            alpha[y0:y1, x0:x1] = a / 255.0
        return alpha

    def render(self, reference_image: np.ndarray, reference_pose: PoseSequence, poses: PoseSequence, *,
               height: int = DEFAULT_HEIGHT) -> Iterator[np.ndarray]:  # fmt: skip
        """One (H, W, 3) uint8 frame per driving pose, as a stream (see
        :class:`~xdancer.render.base.Renderer`). The set-up runs, and bad input is reported, at the
        call, before the first frame is asked for."""
        prep = self.prepare(reference_image, reference_pose, height=height)
        return self.frames(prep, poses)

    def retarget(self, prep: PreparedPhoto, poses: PoseSequence) -> Retargeter:
        """The driving poses fitted to the photographed body: ``.frame(t).joints`` are the rig joints
        (J, 2) in output pixels that frame t of :meth:`frames` draws the body at."""
        if len(poses) == 0:
            raise InputError("the pose sequence has no frames")
        return Retargeter(prep.reference_kps, poses.keypoints, threshold=self.config.keypoint_threshold,
                          min_stretch=self.config.min_stretch, upper_body=prep.upper_body,
                          ground_frames=int(round(poses.fps)) // 2 * 2 + 1)  # about 1 s  # fmt: skip

    def frames(self, prep: PreparedPhoto, poses: PoseSequence) -> Iterator[np.ndarray]:
        """Frames for a prepared photo (reuse one set-up for several pose sequences)."""
        retarget = self.retarget(prep, poses)
        return (self.render_frame(prep, retarget.ref, retarget.frame(t)) for t in range(len(retarget)))


__all__ = ["WarpRenderer", "WarpRendererConfig", "PreparedPhoto", "BONES"]
