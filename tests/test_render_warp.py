"""Warp renderer on the real test photos: identity, locality, pose recovery, holes and ghosts, errors."""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import BODY, RIGHT_HAND, kp
from xdancer.render.base import Renderer
from xdancer.render.retarget import Retargeter
from xdancer.render.rig import BONE_INDEX
from xdancer.render.warp import WarpRenderer, WarpRendererConfig

HEIGHT = 384
# Measured miss (docs/render.md, "Limits"). musepose_ref.png (PCK@0.1 0.78): the arms, raised to the
# head, are translucent glowing sleeves; these poses swing the hands over the hair and the face, and
# the detector misplaces the elbows and wrists there (and with them, in one frame, the legs).
_RAISED = pytest.mark.xfail(
    reason="translucent arms swung over the head: PCK@0.1 0.78 (docs/render.md)", strict=False
)
PHOTOS = ("moore_anyone3.png", "mimicmotion_demo1.jpg", "animatex_ty_woman.jpg", "moore_anyone1_anime.png",
          pytest.param("musepose_ref.png", marks=_RAISED))  # fmt: skip


def rotate_points(kps: np.ndarray, pivot: str, names: list[int], degrees: float) -> np.ndarray:
    """Copy of (134, 3) keypoints with points ``names`` (indices) turned about keypoint ``pivot``."""
    out = kps.copy()
    p = kps[kp(pivot), :2]
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out[names, :2] = (kps[names, :2] - p) @ rot.T + p
    return out


RIGHT_FOREARM = [kp("right_wrist")] + list(range(RIGHT_HAND.start, RIGHT_HAND.stop))
RIGHT_ARM = [kp("right_elbow")] + RIGHT_FOREARM
LEFT_ARM = [kp("left_elbow"), kp("left_wrist")] + list(range(92, 113))


def dance_from(kps: np.ndarray) -> np.ndarray:
    """(3, 134, 3) driving poses made from the photo's own pose: arms out, one arm up, elbows bent."""
    out_ = rotate_points(rotate_points(kps, "right_shoulder", RIGHT_ARM, 45), "left_shoulder", LEFT_ARM, -45)
    up = rotate_points(out_, "right_shoulder", RIGHT_ARM, 60)
    bent = rotate_points(out_, "right_elbow", RIGHT_FOREARM, 70)
    return np.stack([out_, up, bent])


@pytest.fixture(scope="module")
def photo(shared_data):
    from xdancer.image_io import load_image
    from xdancer.pose.detect import detect_image

    image = load_image(shared_data / "images" / "moore_anyone3.png")
    return image, detect_image(image)


@pytest.fixture(scope="module")
def prepared(photo):
    renderer = WarpRenderer()
    image, pose = photo
    return renderer, renderer.prepare(image, pose, height=HEIGHT)


def frames_for(renderer, prep, keypoints: np.ndarray) -> list[np.ndarray]:
    seq = PoseSequence(np.asarray(keypoints, np.float32), 30, prep.size)
    return list(renderer.frames(prep, seq))


def test_renderer_protocol_and_size(photo):
    renderer = WarpRenderer()
    assert isinstance(renderer, Renderer)
    image, _ = photo
    w, h = renderer.output_size(image, 512)
    assert h == 512 and w % 2 == 0 and abs(w / h - image.shape[1] / image.shape[0]) < 0.01


def test_identity_reproduces_the_photo(prepared, photo):
    import cv2

    renderer, prep = prepared
    frame = frames_for(renderer, prep, np.repeat(prep.reference_kps[None], 2, axis=0))[1]
    image, _ = photo
    expected = cv2.resize(image, prep.size, interpolation=cv2.INTER_AREA).astype(np.float64)
    inside = prep.alpha >= 0.99
    mse = ((frame.astype(np.float64) - expected) ** 2)[inside].mean()
    psnr = 10 * np.log10(255.0**2 / max(mse, 1e-12))
    assert inside.sum() > 0.05 * inside.size
    assert psnr > 35.0, psnr


def test_forearm_rotation_moves_only_that_forearm(prepared):
    import cv2

    renderer, prep = prepared
    ref = prep.reference_kps
    turned = rotate_points(ref, "right_elbow", RIGHT_FOREARM, 35)
    retarget = Retargeter(ref, np.stack([ref, turned]))
    frames = [renderer.render_frame(prep, retarget.ref, retarget.frame(t)) for t in range(2)]
    still, moved = frames
    changed = np.abs(still.astype(int) - moved.astype(int)).max(axis=2) > 25
    # Where the forearm and hand were and where they went: the triangles those bones move (the elbow
    # blends into the upper arm), before and after.
    arm = prep.weights[:, [BONE_INDEX["right_forearm"], BONE_INDEX["right_hand"]]].sum(axis=1) > 0.01
    tri = prep.mesh.triangles[arm[prep.mesh.triangles].any(axis=1)]
    region = np.zeros(changed.shape, np.uint8)
    moved_verts = renderer.deform(prep, retarget.ref, retarget.frame(1))
    for verts in (prep.mesh.vertices, moved_verts):
        for t in tri:
            cv2.fillConvexPoly(region, np.round(verts[t]).astype(np.int32), 1)
    region = cv2.dilate(region, np.ones((5, 5), np.uint8)) > 0
    assert changed.sum() > 200
    assert changed[~region].sum() <= 0.01 * changed.sum(), changed[~region].sum() / changed.sum()


def test_unsure_keypoints_hold_the_previous_pose(prepared):
    _, prep = prepared
    ref = prep.reference_kps
    bent = rotate_points(ref, "right_elbow", RIGHT_FOREARM, 40)
    lost = bent.copy()
    lost[kp("right_wrist")] = (1e4, -1e4, 0.05)  # a wild, unsure wrist
    lost[RIGHT_HAND.start : RIGHT_HAND.stop, 2] = 0.0
    retarget = Retargeter(ref, np.stack([bent, lost]))
    a, b = retarget.frame(0), retarget.frame(1)
    np.testing.assert_allclose(b.joints, a.joints, atol=1e-6)


def test_retargeting_keeps_the_persons_size_and_place(prepared):
    _, prep = prepared
    ref = prep.reference_kps
    small = ref.copy()
    small[:, :2] = small[:, :2] * 0.5 + (40.0, 10.0)  # a smaller dancer elsewhere in their frame
    seq = np.stack([small, rotate_points(small, "right_elbow", RIGHT_FOREARM, 30)])
    retarget = Retargeter(ref, seq)
    first = retarget.frame(0)
    np.testing.assert_allclose(first.joints, retarget.ref[:, :2], atol=0.5)
    assert abs(retarget.scale - 2.0) < 1e-6
    second = retarget.frame(1)
    feet = [BONE_INDEX["right_foot"], BONE_INDEX["left_foot"]]
    assert np.abs(second.rotation[feet]).max() < 1e-9
    assert abs(second.joints[:, 1].max() - first.joints[:, 1].max()) < 0.5  # feet stay on the ground


def test_travel_in_depth_stays_on_the_ground_and_jumps_lift(prepared):
    """Feet moving up the image while the dancer walks away from a perspective camera are not a
    jump; a short hop is."""
    _, prep = prepared
    ref = prep.reference_kps
    n = 120  # 4 s at 30 fps
    seq = np.repeat(ref[None], n, axis=0)
    seq[:, :, 1] -= np.linspace(0.0, 60.0, n)[:, None]  # walking away: the whole body rises 60 px
    hop = slice(60, 66)  # a 0.2 s hop of 30 px
    seq[hop, :, 1] -= 30.0
    retarget = Retargeter(ref, seq, ground_frames=31)
    ground = retarget.frame(0).joints[:, 1].max()
    lowest = np.array([retarget.frame(t).joints[:, 1].max() for t in range(n)])
    walking = np.r_[0:55, 71:n]
    assert np.abs(lowest[walking] - ground).max() < 1.0, np.abs(lowest[walking] - ground).max()
    # the hop keeps its height (a few percent go to the median that follows the walk)
    assert (ground - lowest[62]) == pytest.approx(30.0 * retarget.scale, rel=0.15)


@pytest.mark.parametrize("name", PHOTOS)
def test_detector_recovers_the_driving_poses(shared_data, name):
    """Render three poses made from each photo's own pose, detect the pose in every frame, and compare
    (PCK at 0.1 of the torso size over the body joints both sides see, inside the frame)."""
    from xdancer.image_io import load_image
    from xdancer.pose.detect import detect_image

    image = load_image(shared_data / "images" / name)
    pose = detect_image(image)
    renderer = WarpRenderer()
    prep = renderer.prepare(image, pose, height=512)
    drive = dance_from(prep.reference_kps)
    hits, total = 0, 0
    for frame, target in zip(frames_for(renderer, prep, drive), drive, strict=True):
        found = detect_image(frame, allow_multiple=True).keypoints[0]
        torso = np.linalg.norm(
            target[kp("neck"), :2] - 0.5 * (target[kp("right_hip"), :2] + target[kp("left_hip"), :2])
        )
        w, h = prep.size
        in_frame = (
            (target[BODY, 0] >= 0) & (target[BODY, 0] < w) & (target[BODY, 1] >= 0) & (target[BODY, 1] < h)
        )
        seen = (found[BODY, 2] >= 0.3) & (target[BODY, 2] >= 0.3) & in_frame
        err = np.linalg.norm(found[BODY, :2] - target[BODY, :2], axis=1)
        hits += int((err[seen] <= 0.1 * torso).sum())
        total += int(seen.sum())
    assert total >= 30
    assert hits / total >= 0.9, f"{name}: PCK@0.1 = {hits / total:.3f}"


def test_no_holes_and_no_ghost(prepared):
    """Holes: background showing through inside the moved silhouette (coverage below 0.5 at pixels
    enclosed by it) stay under 1 % of the silhouette. Ghost: no person left in the plate -- the
    segmenter finds under 3 % of the old silhouette's area there."""
    import cv2
    from scipy.ndimage import binary_fill_holes

    from xdancer.render.segment import selfie_probability

    renderer, prep = prepared
    drive = dance_from(prep.reference_kps)
    retarget = Retargeter(prep.reference_kps, drive)
    for t in range(len(drive)):
        alpha = renderer.coverage(prep, retarget.ref, retarget.frame(t))
        body = alpha >= 0.5
        body = cv2.morphologyEx(body.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
        holes = binary_fill_holes(body) & ~body
        assert holes.sum() <= 0.01 * body.sum(), (t, holes.sum(), body.sum())
    person = prep.alpha > 0.5
    left_over = (selfie_probability(prep.background) > 0.5) & person
    assert left_over.sum() <= 0.03 * person.sum(), left_over.sum() / person.sum()


def test_arap_deformation_renders_too(photo):
    image, pose = photo
    renderer = WarpRenderer(WarpRendererConfig(deformation="arap"))
    prep = renderer.prepare(image, pose, height=256)
    frames = frames_for(
        renderer, prep, np.concatenate([prep.reference_kps[None], dance_from(prep.reference_kps)])
    )
    assert all(f.shape == (256, prep.size[0], 3) for f in frames)
    assert np.abs(frames[0].astype(int) - frames[2].astype(int)).mean() > 1.0


def test_photo_without_a_person_is_an_input_error(photo):
    image, pose = photo
    empty = np.full_like(image, 200)
    empty[:, : image.shape[1] // 2] = 90  # a wall and a floor, nobody
    with pytest.raises(InputError):
        WarpRenderer().prepare(empty, pose, height=256)


def test_bad_options_and_inputs():
    with pytest.raises(ValueError):
        WarpRendererConfig(deformation="magic")
    with pytest.raises(ValueError):
        WarpRendererConfig(tear=0.5)
    with pytest.raises(InputError):
        pose = PoseSequence(np.zeros((1, 134, 3), np.float32), 30, (64, 64))
        WarpRenderer().prepare(np.zeros((64, 64, 3), np.uint8), pose, height=64)


def test_cli_renders_an_mp4(tmp_path, shared_data, photo):
    from xdancer.cli import main
    from xdancer.video.io import probe_video

    image, pose = photo
    seq = PoseSequence(
        dance_from(pose.keypoints[0].astype(np.float64)).astype(np.float32), 30, pose.frame_size
    )
    seq.save(tmp_path / "dance.npz")
    out = tmp_path / "out.mp4"
    rc = main(["render", str(shared_data / "images" / "moore_anyone3.png"), str(tmp_path / "dance.npz"),
               "-o", str(out), "--height", "128"])  # fmt: skip
    assert rc in (0, None)
    info = probe_video(out)
    assert (info.height, info.n_frames) == (128, 3)
    blank = tmp_path / "blank.png"
    from xdancer.image_io import save_image

    save_image(blank, np.full((256, 192, 3), 180, np.uint8))
    assert main(["render", str(blank), str(tmp_path / "dance.npz"), "-o", str(tmp_path / "no.mp4")]) == 2
    assert not (tmp_path / "no.mp4").exists()


def test_prefetch_keeps_order_and_raises_errors():
    from xdancer.render.animate import prefetch

    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise RuntimeError("renderer failed")

    got = []
    with pytest.raises(RuntimeError, match="renderer failed"):
        for x in prefetch(broken()):
            got.append(x)
    assert got == [1]
    it = prefetch(iter(range(1000)), depth=2)
    assert next(it) == 0
    it.close()  # stopping early must not hang


def test_bad_input_is_reported_before_the_first_frame(photo):
    image, pose = photo
    nobody = np.full_like(image, 128)
    with pytest.raises(InputError):
        WarpRenderer().render(nobody, pose, pose, height=128)  # no iteration needed
    with pytest.raises(InputError):
        renderer = WarpRenderer()
        renderer.frames(
            renderer.prepare(image, pose, height=128), PoseSequence(np.zeros((0, 134, 3)), 30, (8, 8))
        )


def test_head_and_hands_follow_their_keypoints(prepared):
    _, prep = prepared
    ref = prep.reference_kps
    face = [kp(n) for n in ("right_eye", "left_eye", "right_ear", "left_ear")] + list(range(24, 92))
    tilted = rotate_points(ref, "nose", face, 20)
    hand = list(range(RIGHT_HAND.start + 1, RIGHT_HAND.stop))
    bent = rotate_points(tilted, "right_wrist", hand, -30)
    retarget = Retargeter(ref, np.stack([bent]))
    frame = retarget.frame(0)
    assert abs(np.rad2deg(frame.rotation[BONE_INDEX["head"]]) - 20) < 1.0
    assert abs(frame.rotation[BONE_INDEX["neck"]]) < 1e-6
    assert prep.reference_kps[RIGHT_HAND.start + 9, 2] >= 0.3  # the photo's hand is seen
    assert abs(np.rad2deg(frame.rotation[BONE_INDEX["right_hand"]]) + 30) < 1.0


def test_a_dancer_seen_from_behind_in_the_photos_stance_is_drawn_as_the_photo(prepared):
    """The photo's own pose seen from behind (the same points, left and right swapped): each limb
    follows the one on its side of the image, so the frame is the photo, not a figure whose arms
    cross the body to reach their own side."""
    from xdancer.pose.skeleton import MIRROR_PERMUTATION

    renderer, prep = prepared
    ref = prep.reference_kps
    back = ref[MIRROR_PERMUTATION]
    assert Retargeter(ref, back[None]).frame(0).facing_away
    still, behind = frames_for(renderer, prep, np.stack([ref, back]))
    inside = prep.alpha >= 0.99
    mse = ((behind.astype(np.float64) - still.astype(np.float64)) ** 2)[inside].mean()
    assert 10 * np.log10(255.0**2 / max(mse, 1e-12)) > 35.0


def test_an_arm_raised_across_the_face_passes_behind_the_head(prepared):
    """The face is the front layer: a right arm swung straight over the face leaves the eyes as they
    were."""
    from xdancer.render.rig import PARTS

    renderer, prep = prepared
    ref = prep.reference_kps
    shoulder = ref[kp("right_shoulder"), :2]
    target = ref[kp("left_eye"), :2]
    length = np.linalg.norm(ref[kp("right_elbow"), :2] - shoulder)
    direction = (target - shoulder) / np.linalg.norm(target - shoulder)
    across = ref.copy()
    across[kp("right_elbow"), :2] = shoulder + length * direction
    across[kp("right_wrist"), :2] = shoulder + 2 * length * direction
    across[RIGHT_HAND.start : RIGHT_HAND.stop, 2] = 0.0  # the hand keeps its angle to the forearm
    still, swung = frames_for(renderer, prep, np.stack([ref, across]))
    assert PARTS[prep.parts[renderer.draw_order(prep)[-1]]] == "head"
    # The arm did pass over the face: it changed the frame between the eyes and the shoulder.
    assert (np.abs(swung.astype(int) - still.astype(int)).max(axis=2) > 25).sum() > 200
    for x, y in np.round([ref[kp(n), :2] for n in ("right_eye", "left_eye")]).astype(int):
        patch = (slice(y - 2, y + 3), slice(x - 2, x + 3))
        assert np.abs(swung[patch].astype(int) - still[patch].astype(int)).mean() < 8


def test_the_plate_covers_the_glow_the_segmenter_half_sees(shared_data):
    """musepose_ref.png: a glowing dress and translucent sleeves that the segmenter gives a probability
    between 0.1 and 0.5. Kept in the plate, they would stay behind as ghosts of the arms that move."""
    import cv2

    from xdancer.image_io import load_image
    from xdancer.pose.detect import detect_image
    from xdancer.render.segment import near_skeleton, segment_person

    image = load_image(shared_data / "images" / "musepose_ref.png")
    renderer = WarpRenderer()
    prep = renderer.prepare(image, detect_image(image), height=256)
    photo = cv2.resize(image, prep.size, interpolation=cv2.INTER_AREA)
    kps = prep.reference_kps
    alpha, extent = segment_person(photo, kps[:18][kps[:18, 2] >= 0.3, :2], with_extent=True)
    assert (extent >= alpha).all()
    extent = near_skeleton(extent, kps, 0.3, renderer.config.body_reach * prep.size[1])
    halo = (extent > 0.5) & (alpha < 0.02) & (prep.alpha < 0.02)
    assert halo.sum() > 0.005 * halo.size  # there is a halo beyond the person's alpha
    kept = np.abs(prep.background.astype(int) - photo.astype(int)).max(axis=2) <= 2
    assert (kept & halo).sum() <= 0.01 * halo.sum(), (kept & halo).sum() / halo.sum()


def test_arms_pass_in_front_of_the_hair_and_behind_the_face(prepared):
    from xdancer.render.rig import PARTS

    renderer, prep = prepared
    ref = prep.reference_kps
    order = renderer.draw_order(prep)
    rank = np.empty(len(prep.parts), int)
    rank[order] = np.arange(len(order))
    head = prep.parts == PARTS.index("head")
    arms = np.isin(prep.parts, [PARTS.index("right_arm"), PARTS.index("left_arm")])
    face, hair = head & prep.face, head & ~prep.face
    assert face.sum() > 10 and hair.sum() > 10
    assert rank[hair].max() < rank[arms].min() and rank[arms].max() < rank[face].min()
    # The face (the eyes) is in it, the hair above the brows is not.
    centres = prep.mesh.vertices[prep.mesh.triangles[face]].mean(axis=1)
    eyes = ref[[kp("right_eye"), kp("left_eye")], :2]
    assert np.linalg.norm(centres[:, None] - eyes[None], axis=2).min() < 10
    hair_centres = prep.mesh.vertices[prep.mesh.triangles[hair]].mean(axis=1)
    assert hair_centres[:, 1].min() < eyes[:, 1].min() - 10
