"""Evaluation runners, reports, frame metrics and the ``xdancer eval`` commands, on small made-up
folders whose answers are known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xdancer.cli import main
from xdancer.eval import video_metrics as V
from xdancer.eval.run import MotionEvalConfig, VideoEvalConfig, evaluate_motion, evaluate_video
from xdancer.music.features import GLOBAL_NAMES, MusicFeatures
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import NUM_KEYPOINTS, kp

FPS = 30.0
BODY = {
    "nose": (0, -20), "neck": (0, 0), "right_shoulder": (-20, 0), "right_elbow": (-25, 40),
    "right_wrist": (-25, 80), "left_shoulder": (20, 0), "left_elbow": (25, 40), "left_wrist": (25, 80),
    "right_hip": (-10, 100), "right_knee": (-10, 185), "right_ankle": (-10, 270),
    "left_hip": (10, 100), "left_knee": (10, 185), "left_ankle": (10, 270),
}  # fmt: skip


def swing(amplitude: float, seconds: float = 2.0) -> np.ndarray:
    """(T, 134, 3): a body swinging sideways, x = amplitude sin(2 pi t); speed minima (dance beats)
    at 0.25, 0.75, 1.25, 1.75 s (interval middles at 30 fps)."""
    t = np.arange(int(seconds * FPS)) / FPS
    kps = np.zeros((len(t), NUM_KEYPOINTS, 3), np.float32)
    for name, (x, y) in BODY.items():
        kps[:, kp(name)] = np.stack(
            [200 + x + amplitude * np.sin(2 * np.pi * t), 200 + y + 0 * t, 1 + 0 * t], -1
        )
    return kps


def music(beats: list[float], frames: int) -> MusicFeatures:
    beat_frames = np.round(np.asarray(beats) * FPS).astype(int)
    return MusicFeatures(np.zeros((frames, 1), np.float32), ["onset"], FPS, 120.0, np.asarray(beats), beat_frames,
                         np.zeros(frames, np.float32), np.zeros(len(GLOBAL_NAMES), np.float32))  # fmt: skip


def write_set(folder, amplitudes, beats):
    folder.mkdir()
    for i, a in enumerate(amplitudes):
        kps = swing(a)
        PoseSequence(kps, FPS, (512, 896)).save(folder / f"dance{i}.npz")
        music(beats, len(kps)).save(folder / f"dance{i}.music.npz")
    return folder


def test_evaluate_motion_end_to_end(tmp_path):
    on_beat = [0.25, 0.75, 1.25, 1.75]
    gen = write_set(tmp_path / "gen", [10, 20, 30], on_beat)
    real = write_set(tmp_path / "real", [15, 25, 35], [b + 0.05 for b in on_beat])  # 50 ms late
    out, report = tmp_path / "metrics.json", tmp_path / "report.html"
    res = evaluate_motion(
        gen, real, MotionEvalConfig(max_sequences=8), output=out, report=report, progress=False
    )
    assert res["generated"]["n_sequences"] == 3 and res["real"]["n_sequences"] == 3
    assert res["generated"]["bas"] == pytest.approx(1.0)  # dance beats exactly on the music beats
    assert res["real"]["bas"] == pytest.approx(np.exp(-0.5))  # every beat 1 sigma off
    assert res["generated"]["fid_k"] > 0 and res["generated"]["div_k"] > 0
    # dance i is paired with real dance i (each 5 px of swing short of it); with the real dances handed
    # to other names, the pairs are further apart
    shuffled = write_set(tmp_path / "shuffled", [35, 15, 25], on_beat)
    assert 0 < res["generated"]["paired_k"] < evaluate_motion(gen, shuffled, progress=False)["generated"]["paired_k"]
    assert json.loads(out.read_text())["generated"]["n_sequences"] == 3
    page = report.read_text()
    assert "generated (N=3)" in page and "data:image/png;base64," in page
    # a fixed, seeded choice when there are more sequences than max_sequences
    a = evaluate_motion(gen, real, MotionEvalConfig(max_sequences=2, seed=1), progress=False)
    b = evaluate_motion(gen, real, MotionEvalConfig(max_sequences=2, seed=1), progress=False)
    names = [r["name"] for r in a["sequences"]["generated"]]
    assert len(names) == 2 and names == [r["name"] for r in b["sequences"]["generated"]]


def test_paired_distance_needs_the_same_names(tmp_path):
    gen = write_set(tmp_path / "gen", [10, 20, 30], [0.25, 0.75])
    (gen / "dance2.npz").rename(gen / "other.npz")
    (gen / "dance2.music.npz").rename(gen / "other.music.npz")
    real = write_set(tmp_path / "real", [10, 20, 30], [0.25, 0.75])
    assert evaluate_motion(gen, real, progress=False)["generated"]["paired_k"] is None
    assert evaluate_motion(real, real, progress=False)["generated"]["paired_k"] == pytest.approx(0.0, abs=1e-9)


def test_music_only_leaves_out_silent_dances(tmp_path):
    gen = write_set(tmp_path / "gen", [10, 20, 30], [0.25, 0.75])
    (gen / "dance2.music.npz").unlink()  # a dance without music
    both = evaluate_motion(gen, gen, MotionEvalConfig(), progress=False)
    assert both["generated"]["n_sequences"] == 3 and both["generated"]["n_with_music"] == 2
    only = evaluate_motion(gen, gen, MotionEvalConfig(music_only=True), progress=False)
    assert only["generated"]["n_sequences"] == 2 and only["real"]["n_sequences"] == 2


def test_eval_motion_cli(tmp_path, capsys):
    gen = write_set(tmp_path / "gen", [10, 20], [0.25, 0.75])
    out, png = tmp_path / "m.json", tmp_path / "r.png"
    assert main(["eval", "motion", "--generated", str(gen), "--real", str(gen), "-o", str(out),
                 "--report", str(png), "--quiet"]) == 0  # fmt: skip
    assert out.exists() and png.read_bytes()[:4] == b"\x89PNG"
    assert (
        main(["eval", "motion", "--generated", str(tmp_path / "nope"), "--real", str(gen), "-o", str(out)])
        == 2
    )
    assert "not a folder" in capsys.readouterr().err
    assert (
        main(["eval", "motion", "--generated", str(gen), "--real", str(gen), "-o", str(tmp_path / "m.txt")])
        == 2
    )


def test_psnr_ssim_by_hand():
    ref = np.zeros((16, 16, 3), np.uint8)
    frame = np.full((16, 16, 3), 10, np.uint8)
    # MSE 100: PSNR = 10 log10(255^2 / 100) = 28.13 dB
    assert V.psnr(frame, ref) == pytest.approx(10 * np.log10(255**2 / 100))
    assert V.psnr(ref, ref) == float("inf")
    assert V.ssim(frame, frame) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        V.psnr(frame, ref[:8])


def test_pck_by_hand():
    driving = swing(10)[:4].astype(np.float64)  # torso 100 px, so alpha 0.1 -> 10 px
    detected = driving.copy()
    body = list(range(18))
    seen = [j for j in body if driving[0, j, 2] > 0]  # the 14 body points set in BODY
    detected[:, seen[:7], 0] += 6.0  # within 10 px
    detected[:, seen[7:], 0] += 14.0  # beyond 10 px
    assert V.pck(driving, detected) == pytest.approx(0.5)  # 7 of the 14 shown points
    detected[:, seen[:7], 2] = 0.0  # the detector misses the close ones: failures
    assert V.pck(driving, detected) == pytest.approx(0.0)
    np.testing.assert_allclose(
        V.rescale_keypoints(driving, (512, 896), (256, 448))[..., :2], driving[..., :2] / 2
    )


def test_evaluate_video_paired(tmp_path):
    from xdancer.video.io import write_video

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(5)]
    (tmp_path / "gen").mkdir()
    (tmp_path / "real").mkdir()
    write_video(frames, tmp_path / "gen" / "a.mp4", fps=10)
    write_video(frames, tmp_path / "real" / "a.mp4", fps=10)
    res = evaluate_video(tmp_path / "gen", tmp_path / "real", config=VideoEvalConfig(fvd=False), progress=False,
                         output=tmp_path / "v.json", report=tmp_path / "v.png")  # fmt: skip
    assert res["n_paired"] == 1 and res["ssim"] == pytest.approx(1.0)  # a video against itself
    assert res["videos"][0]["frames"] == 5 and res["fvd"] is None
    assert (tmp_path / "v.png").exists()


@pytest.mark.slow
def test_pose_agreement_of_a_real_video_with_its_own_poses(shared_data, tmp_path):
    """The detector's poses of a real dance video, used as driving poses for that same video: the
    detector must agree with itself (PCK near 1), which checks frame matching and pixel frames."""
    from xdancer.pose.detect import detect_video

    video = shared_data / "videos" / "animatex_dance_1.mp4"
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "dance.mp4").symlink_to(video)
    detect_video(video, progress=False, max_frames=24).save(tmp_path / "gen" / "dance.npz")
    res = evaluate_video(tmp_path / "gen", config=VideoEvalConfig(max_frames=24), progress=False)
    assert res["n_with_poses"] == 1 and res["videos"][0]["frames"] == 24
    assert res["pck"] > 0.95


def test_choreograph_dataset_layout(tmp_path):
    """Dances are written as NAME.npz + NAME.music.npz, as long as each clip, from its first pose,
    with seed + k for the k-th clip; the motion model itself is replaced by a stand-in here."""
    from xdancer.data.dataset import save_clip
    from xdancer.data.manifest import ClipInfo, write_manifest
    from xdancer.eval.samples import choreograph_dataset

    calls = []

    def stand_in(music, *, reference_pose, seconds, seed, **kwargs):
        calls.append((len(music), seconds, seed))
        frames = int(round(seconds * reference_pose.fps))
        return PoseSequence(
            np.repeat(reference_pose.keypoints, frames, axis=0), reference_pose.fps, (512, 896)
        )

    root = tmp_path / "ds"
    infos = []
    for i, split in enumerate(("val", "val", "train")):
        kps = swing(10 + i)
        info = ClipInfo(f"c{i}", "test", "", FPS, len(kps), True, split, "test", f"g{i}", 512, 896)
        save_clip(root, info, PoseSequence(kps, FPS, (512, 896)), music([0.25, 0.75], len(kps)))
        infos.append(info)
    write_manifest(root, infos)
    paths = choreograph_dataset(
        root, tmp_path / "out", MotionEvalConfig(seed=5), progress=False, choreographer=stand_in
    )
    assert [p.name for p in paths] == ["c0.npz", "c1.npz"]
    assert calls == [(60, 2.0, 5), (60, 2.0, 6)]
    dance = PoseSequence.load(paths[0])
    assert len(dance) == 60 and dance.meta["music_of"] == "c0"
    np.testing.assert_allclose(dance.keypoints[0], swing(10)[0])
    assert MusicFeatures.load(tmp_path / "out" / "c0.music.npz").beat_times.tolist() == [0.25, 0.75]
