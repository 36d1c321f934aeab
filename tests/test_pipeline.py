"""DancePipeline end to end on tiny (untrained) models: every stage runs and the video is right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xdancer.pipeline import DanceOptions, DancePipeline


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from xdancer.checkpoint import save_checkpoint
    from xdancer.config import to_dict
    from xdancer.generator import GPTConfig, MotionGPT, export_generator
    from xdancer.tokenizer import PoseVQVAE, TokenizerConfig

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("models")
    tcfg = TokenizerConfig(codebook_size=16, code_dim=4, hidden=8, single_hidden=8, decoder_hidden=16,
                           res_blocks=1, kmeans_init=False)  # fmt: skip
    tok = PoseVQVAE(tcfg)
    save_checkpoint(folder / "tok", tok.state_dict(), {"config": to_dict(tcfg)})
    gcfg = GPTConfig(codebook_size=16, tokens_per_part=tcfg.tokens_per_part, temporal_stride=tcfg.temporal_stride,
                     window_frames=8, overlap_frames=2, n_layer=1, n_head=2, n_embd=16, n_context_frames=2)  # fmt: skip
    export_generator(folder / "gen", MotionGPT(gcfg).eval(), {})
    return folder / "tok", folder / "gen"


@pytest.fixture(scope="module")
def pipe(tiny_models):
    return DancePipeline(*tiny_models)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    from xdancer.demo import write_demo_files

    return write_demo_files(tmp_path_factory.mktemp("demo"), seconds=5)


def test_dance_video_has_the_music_and_the_right_length(pipe, demo_files, tmp_path):
    from xdancer.video.io import probe_video

    photo, song = demo_files
    result = pipe(photo, song, DanceOptions(seconds=2, renderer="skeleton", height=128, fps=24), show_progress=False)
    # Every stage's output is reachable.
    assert result.reference_pose.keypoints.shape == (1, 134, 3)
    assert result.music.features.shape[0] == 2 * 30 or result.music.features.shape[0] == 2 * 30 + 1
    assert result.poses.fps == 24 and len(result.poses) == 48
    out = result.save(tmp_path / "d.mp4", show_progress=False)
    info = probe_video(out)
    assert info.has_audio and info.height == 128 and info.width == 128
    assert info.n_frames == 48 and info.duration == pytest.approx(2.0, abs=0.05)
    assert set(result.timings) == {"pose", "music", "choreograph", "render+encode"}
    assert "tempo" in result.summary()


def test_same_seed_same_dance_other_seed_other_dance(pipe, demo_files):
    photo, song = demo_files
    a = pipe(photo, song, DanceOptions(seconds=2, seed=3, renderer="skeleton"), show_progress=False).poses
    b = pipe(photo, song, DanceOptions(seconds=2, seed=3, renderer="skeleton"), show_progress=False).poses
    c = pipe(photo, song, DanceOptions(seconds=2, seed=4, renderer="skeleton"), show_progress=False).poses
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.keypoints, c.keypoints)


def test_start_and_side_by_side(pipe, demo_files, tmp_path):
    from xdancer.video.io import probe_video

    photo, song = demo_files
    result = pipe(photo, song, DanceOptions(start=2.5, seconds=1.5, renderer="skeleton", height=96,
                                            side_by_side=True), show_progress=False)  # fmt: skip
    assert len(result.audio) == int(1.5 * 24000)
    info = probe_video(result.save(tmp_path / "s.mp4", show_progress=False))
    assert info.width == 3 * 96 and info.n_frames == 45


def test_warp_renderer_through_the_pipeline(pipe, demo_files, tmp_path):
    from xdancer.video.io import probe_video, read_video

    photo, song = demo_files
    result = pipe(photo, song, DanceOptions(seconds=1, height=128), show_progress=False)
    out = result.save(tmp_path / "w.mp4", show_progress=False)
    info = probe_video(out)
    assert info.n_frames == 30 and info.height == 128
    _, first = next(read_video(out))
    assert first.std() > 10  # the photo, not a blank frame


def test_start_past_the_end_is_refused(pipe, demo_files):
    from xdancer.errors import InputError

    photo, song = demo_files
    with pytest.raises(InputError):
        pipe(photo, song, DanceOptions(start=60, seconds=2, renderer="skeleton"), show_progress=False)
