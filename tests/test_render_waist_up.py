"""Warp renderer on a photo cut at the waist (the bundled demo photo): virtual pelvis, anchored body."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_render_warp import frames_for
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import kp
from xdancer.render.retarget import Retargeter
from xdancer.render.rig import BONE_INDEX, J
from xdancer.render.upper_body import lacks_hips, with_virtual_hips
from xdancer.render.warp import WarpRenderer

HEIGHT = 384
UPPER = [kp(n) for n in ("neck", "nose", "right_eye", "left_eye", "right_ear", "left_ear", "right_shoulder",
                         "left_shoulder", "right_elbow", "left_elbow", "right_wrist", "left_wrist")]  # fmt: skip
RIGHT_ARM = [kp("right_elbow"), kp("right_wrist")] + list(range(113, 134))


def turned(kps: np.ndarray, pivot: np.ndarray, idx: list[int], degrees: float) -> np.ndarray:
    out = kps.copy()
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out[idx, :2] = (kps[idx, :2] - pivot) @ rot.T + pivot
    return out


@pytest.fixture(scope="module")
def astronaut():
    from xdancer.demo import demo_photo
    from xdancer.pose.detect import detect_image

    image = demo_photo()
    return image, detect_image(image)


@pytest.fixture(scope="module")
def prepared(astronaut):
    renderer = WarpRenderer()
    image, pose = astronaut
    return renderer, renderer.prepare(image, pose, height=HEIGHT)



def test_the_photo_has_no_hips_and_gets_virtual_ones(astronaut, prepared):
    _, pose = astronaut
    assert lacks_hips(pose.keypoints[0], 0.3)
    _, prep = prepared
    assert prep.upper_body
    k = prep.reference_kps
    neck, rs, ls = k[kp("neck"), :2], k[kp("right_shoulder"), :2], k[kp("left_shoulder"), :2]
    pelvis = 0.5 * (k[kp("right_hip"), :2] + k[kp("left_hip"), :2])
    width = np.linalg.norm(ls - rs)
    # Below the neck, about 1.5 shoulder widths away, roughly perpendicular to the shoulders.
    assert pelvis[1] > neck[1] + 1.2 * width
    assert 1.3 * width < np.linalg.norm(pelvis - neck) < 1.8 * width
    assert abs((pelvis - neck) @ (ls - rs)) / (np.linalg.norm(pelvis - neck) * width) < 0.1


def test_identity_reproduces_the_photo(astronaut, prepared):
    import cv2

    renderer, prep = prepared
    image, pose = astronaut
    photo = cv2.resize(image, prep.size, interpolation=cv2.INTER_AREA).astype(np.float64)
    scale = np.array([prep.size[0] / pose.frame_size[0], prep.size[1] / pose.frame_size[1], 1.0])
    # the hipless pose itself
    frame = frames_for(renderer, prep, pose.keypoints * scale)[0].astype(np.float64)
    inside = prep.alpha >= 0.99
    assert inside.mean() > 0.2
    mse = ((frame - photo)[inside] ** 2).mean()
    assert 10 * np.log10(255.0**2 / mse) > 35


def test_a_dance_pose_moves_the_arm_and_keeps_the_bottom_edge(prepared):
    renderer, prep = prepared
    w, h = prep.size
    ref = prep.reference_kps
    pelvis = 0.5 * (ref[kp("right_hip"), :2] + ref[kp("left_hip"), :2])
    arm_up = turned(ref, ref[kp("right_shoulder"), :2], RIGHT_ARM, 100)  # out and up
    # A dance pose with legs: the torso leans 20 degrees and the pelvis steps aside by a tenth of the
    # frame; the legs hang below it.
    lean = turned(arm_up, pelvis, UPPER + list(range(113, 134)), 20)
    lean[:, 0] += 0.1 * w
    lean[[kp(n) for n in ("right_knee", "left_knee", "right_ankle", "left_ankle")], :] = [
        [pelvis[0] - 40, h + 150, 1], [pelvis[0] + 40, h + 150, 1], [pelvis[0] - 40, h + 300, 1],
        [pelvis[0] + 40, h + 300, 1]]  # fmt: skip
    seq = np.stack([ref, arm_up, lean])
    frames = frames_for(renderer, prep, seq)
    retarget = Retargeter(prep.reference_kps, seq, threshold=0.3, upper_body=True)
    moved = [retarget.frame(t) for t in range(3)]
    # The arm went up: the elbow is now above the shoulder, the photo changed around it.
    shoulder, elbow = moved[1].joints[J["right_shoulder"]], moved[1].joints[J["right_elbow"]]
    assert elbow[1] < shoulder[1]
    # The upper arm is now drawn where the photo shows the flag, and is orange like the sleeve.
    x, y = np.round(0.5 * (shoulder + elbow)).astype(int)
    before, after = (f[y - 4 : y + 5, x - 4 : x + 5].reshape(-1, 3).astype(int) for f in frames[:2])
    assert np.abs(after - before).sum(axis=1).mean() > 60
    r, g, b = after.mean(axis=0)
    assert r > 150 and r > g + 50 and r > b + 50
    # The legs are not drawn (no leg bones), the pelvis barely moves, the torso leans.
    assert not retarget.active[BONE_INDEX["right_thigh"]] and not retarget.active[BONE_INDEX["left_shin"]]
    pelvis_path = moved[2].joints[J["pelvis"]] - moved[0].joints[J["pelvis"]]
    assert abs(pelvis_path[1]) < 1e-6 and abs(pelvis_path[0]) < 0.25 * 0.1 * w
    assert abs(moved[2].rotation[BONE_INDEX["torso"]]) > np.deg2rad(5)
    # No hole at the bottom edge: where the body met the photo's bottom edge, it still does.
    bottom = prep.alpha[-3:] > 0.5
    for frame in moved[1:]:
        cover = renderer.coverage(prep, retarget.ref, frame)[-3:]
        assert (cover[bottom] > 0.5).mean() > 0.95


def test_retarget_scales_from_the_upper_body(prepared):
    _, prep = prepared
    ref = prep.reference_kps
    pelvis = 0.5 * (ref[kp("right_hip"), :2] + ref[kp("left_hip"), :2])
    small = ref.copy()
    small[:, :2] = 0.5 * (ref[:, :2] - pelvis) + pelvis + 30
    small[kp("right_hip"), :2] = pelvis + 30 + (-40, 400)  # a torso twice as long as the photo's guess
    retarget = Retargeter(ref, small[None], threshold=0.3, upper_body=True)
    assert retarget.scale == pytest.approx(2.0, rel=0.02)


def test_head_and_shoulders_are_required(astronaut):
    _, pose = astronaut
    no_shoulder = pose.keypoints[0].copy()
    no_shoulder[kp("left_shoulder"), 2] = 0.0
    with pytest.raises(InputError, match="left_shoulder"):
        with_virtual_hips(no_shoulder, 0.3)
    no_head = pose.keypoints[0].copy()
    no_head[[kp("nose")], 2] = 0.0
    image, _ = astronaut
    with pytest.raises(InputError, match="nose"):
        WarpRenderer().prepare(image, PoseSequence(no_head[None], 30, pose.frame_size), height=128)


def test_a_photo_cut_above_the_knees_keeps_its_hips_and_its_bottom_edge(shared_data):
    from xdancer.image_io import load_image
    from xdancer.pose.detect import detect_image

    image = load_image(shared_data / "images" / "moore_anyone3.png")
    full = detect_image(image).keypoints[0]
    crop = np.ascontiguousarray(image[: int(1.15 * full[kp("right_hip"), 1])])  # cut below the hips
    pose = detect_image(crop)
    renderer = WarpRenderer()
    prep = renderer.prepare(crop, pose, height=256)
    assert prep.upper_body  # no knee in the photo
    scale = np.array(prep.size) / np.array(pose.frame_size)
    hips = [kp("right_hip"), kp("left_hip")]
    assert np.allclose(prep.reference_kps[hips, :2], pose.keypoints[0][hips, :2] * scale, atol=1e-3)
    ref = prep.reference_kps
    pelvis = ref[hips, :2].mean(axis=0)
    lean = turned(ref, pelvis, UPPER + list(range(92, 134)), -20)
    lean[hips, 0] += 0.1 * prep.size[0]
    seq = np.stack([ref, lean])
    retarget = Retargeter(ref, seq, threshold=0.3, upper_body=True)
    frames = [retarget.frame(t) for t in range(2)]
    # The body between the hips (the arms beside it may move away) still meets the bottom edge.
    x0, x1 = np.sort(ref[hips, 0]).round().astype(int)
    bottom = prep.alpha[-3:, x0:x1] > 0.5
    cover = renderer.coverage(prep, retarget.ref, frames[1])[-3:, x0:x1]
    assert bottom.mean() > 0.9 and (cover[bottom] > 0.5).mean() > 0.99  # 0.94 without the pinning
