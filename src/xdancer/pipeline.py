"""DancePipeline: one photo and one song in, one video of that person dancing to that song out.

Stages (each reachable on its own through :class:`DanceResult`):
    1. photo -> reference pose             (xdancer.pose.detect)
    2. music -> per-frame music features    (xdancer.music)
    3. features (+ reference pose) -> dance poses   (xdancer.choreograph: tokenizer + GPT)
    4. (photo, reference pose, dance poses) -> frames   (a Renderer: warp | diffusion | skeleton)
    5. frames + music -> mp4                 (xdancer.video.io.VideoWriter, streamed)

Models are loaded once per pipeline and reused across calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xdancer.constants import POSE_FPS, SAMPLE_RATE, SAMPLING_TEMPERATURE
from xdancer.errors import InputError
from xdancer.io_utils import check_input_file, check_output_path
from xdancer.pose.sequence import PoseSequence

if TYPE_CHECKING:  # imported lazily at run time: the music stack loads librosa
    from xdancer.music.features import MusicFeatures
    from xdancer.render.base import Renderer

RENDERERS = ("warp", "diffusion", "skeleton")
# Longest dance one call makes; longer songs can be danced in parts with start/seconds.
MAX_DANCE_SECONDS = 600.0

# progress(stage, fraction in [0, 1]) is called as work advances (the web page uses it).
ProgressFn = Callable[[str, float], None]


@dataclass
class DanceOptions:
    """What the user chooses for one dance (all validated in ``__post_init__``)."""

    start: float = 0.0  # seconds into the song
    seconds: float | None = None  # length of the dance; None = to the end of the song
    seed: int = 0
    height: int = 512  # output video height in pixels (width follows the photo's aspect)
    fps: int = POSE_FPS  # output video frame rate
    renderer: str = "warp"
    temperature: float = SAMPLING_TEMPERATURE
    top_k: int | None = None
    top_p: float | None = None
    guidance: float | None = None  # classifier-free guidance on the music; None = the model's default
    side_by_side: bool = False  # photo | skeleton | result in each frame

    def __post_init__(self) -> None:
        if not (self.start >= 0):
            raise InputError(f"start must be >= 0 seconds, got {self.start}")
        if self.seconds is not None and not (1.0 <= self.seconds <= MAX_DANCE_SECONDS):
            raise InputError(f"seconds must be between 1 and {MAX_DANCE_SECONDS:.0f}, got {self.seconds}")
        if not (64 <= self.height <= 2160) or self.height % 2:
            # Even: H.264 in the yuv420p that browsers play needs even frame sizes.
            raise InputError(f"height must be between 64 and 2160 pixels and even, got {self.height}")
        if not (1 <= self.fps <= 60):
            raise InputError(f"fps must be between 1 and 60, got {self.fps}")
        if self.renderer not in RENDERERS:
            raise InputError(f"renderer must be one of {', '.join(RENDERERS)}, got {self.renderer!r}")
        if not (0.05 <= self.temperature <= 5.0):
            raise InputError(f"temperature must be between 0.05 and 5, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise InputError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not (0.0 < self.top_p <= 1.0):
            raise InputError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.guidance is not None and not (0.0 <= self.guidance <= 10.0):
            raise InputError(f"guidance must be between 0 and 10, got {self.guidance}")
        if not (0 <= self.seed < 2**63):
            raise InputError(f"seed must be a non-negative integer, got {self.seed}")


@dataclass
class DanceResult:
    """Everything one dance produced; frames are rendered lazily (streamed) by ``frames``/``save``."""

    options: DanceOptions
    image: np.ndarray  # (H, W, 3) uint8 RGB photo
    reference_pose: PoseSequence  # T=1, photo pixel coordinates
    audio: np.ndarray  # (N,) float32 mono at SAMPLE_RATE: the danced part of the song
    music: MusicFeatures  # at POSE_FPS
    poses: PoseSequence  # the dance, at options.fps
    renderer: Renderer
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return len(self.poses) / self.poses.fps

    @property
    def tempo_bpm(self) -> float:
        return float(self.music.tempo_bpm)

    def output_size(self) -> tuple[int, int]:
        """(width, height) of the saved video."""
        w, h = self.renderer.output_size(self.image, self.options.height)
        if self.options.side_by_side:
            w = 3 * w
        return w, h

    def frames(self) -> Iterator[np.ndarray]:
        """Rendered RGB frames, one at a time (the whole video is never held in memory)."""
        frames = self.renderer.render(self.image, self.reference_pose, self.poses, height=self.options.height)
        if not self.options.side_by_side:
            yield from frames
            return
        from xdancer.render.side_by_side import side_by_side_frames

        yield from side_by_side_frames(self.image, self.poses, frames, self.options.height)

    def save(self, path: str | Path, progress: ProgressFn | None = None, show_progress: bool = True) -> Path:
        """Render and encode to an H.264 mp4 with the music (atomically)."""
        from tqdm import tqdm

        from xdancer.video.io import VideoWriter

        path = check_output_path(path, (".mp4",))
        t0 = time.perf_counter()
        n = len(self.poses)
        with VideoWriter(path, self.options.fps, self.output_size(), audio=(self.audio, SAMPLE_RATE)) as writer:
            bar = tqdm(self.frames(), total=n, desc="render", unit="frame", disable=not show_progress)
            for i, frame in enumerate(bar):
                writer.write(frame)
                if progress is not None and (i % 10 == 0 or i == n - 1):
                    progress("render", (i + 1) / n)
        self.timings["render+encode"] = time.perf_counter() - t0
        return path

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        return (
            f"{self.duration:.1f} s of dance at {self.options.fps} fps, tempo {self.tempo_bpm:.0f} BPM, "
            f"{self.output_size()[0]}x{self.output_size()[1]} px, renderer {self.options.renderer}; "
            f"time per stage: {stages}; total {sum(self.timings.values()):.1f} s"
        )


class DancePipeline:
    """Loads the tokenizer, generator and renderers once; ``__call__`` makes one dance.

    >>> pipe = DancePipeline()                       # bundled defaults
    >>> result = pipe("me.jpg", "song.mp3", DanceOptions(seconds=20, seed=1))
    >>> result.save("dance.mp4")
    """

    def __init__(
        self,
        tokenizer_path: str | Path | None = None,
        generator_path: str | Path | None = None,
        diffusion_path: str | Path | None = None,
        device: str = "cpu",
    ) -> None:
        from xdancer.choreograph import Choreographer

        self.device = device
        self.choreographer = Choreographer(tokenizer_path, generator_path, device=device)
        self.diffusion_path = diffusion_path
        self._renderers: dict[str, Renderer] = {}

    # --- stages ---------------------------------------------------------------------------------

    def reference(self, image: str | Path | np.ndarray) -> tuple[np.ndarray, PoseSequence]:
        """Stage 1: the photo as RGB and the pose of the one person in it."""
        from xdancer.image_io import load_image
        from xdancer.pose.detect import detect_image

        rgb = load_image(check_input_file(image, "photo")) if not isinstance(image, np.ndarray) else image
        return rgb, detect_image(rgb)

    def music(self, audio: str | Path, start: float = 0.0, seconds: float | None = None) -> tuple[np.ndarray, MusicFeatures]:
        """Stage 2: the danced part of the song (wave) and its features at POSE_FPS."""
        from xdancer.music.features import extract_features
        from xdancer.music.io import load_audio

        wave = load_audio(check_input_file(audio, "music file"), SAMPLE_RATE, offset=start, duration=seconds)
        if len(wave) == 0:
            raise InputError(f"no audio at {start:.1f} s: the song is shorter than the chosen start")
        if len(wave) > MAX_DANCE_SECONDS * SAMPLE_RATE:
            raise InputError(
                f"the song is {len(wave) / SAMPLE_RATE / 60:.1f} minutes long; dances are at most "
                f"{MAX_DANCE_SECONDS / 60:.0f} minutes: choose a part with start/seconds"
            )
        return wave, extract_features(wave, SAMPLE_RATE, fps=POSE_FPS)

    def choreograph(
        self, music: MusicFeatures, reference_pose: PoseSequence | None, options: DanceOptions, progress: bool = True
    ) -> PoseSequence:
        """Stage 3: the dance as a pose sequence at POSE_FPS (then resampled to ``options.fps``)."""
        poses = self.choreographer(
            music,
            reference_pose=reference_pose,
            seed=options.seed,
            temperature=options.temperature,
            top_k=options.top_k,
            top_p=options.top_p,
            guidance=options.guidance,
            progress=progress,
        )
        if options.fps != poses.fps:
            from xdancer.pose.resample import resample_poses

            poses = resample_poses(poses, options.fps)
        return poses

    def renderer(self, name: str) -> Renderer:
        """Stage 4: a renderer by name, built once."""
        if name not in self._renderers:
            if name == "warp":
                from xdancer.render.warp import WarpRenderer

                self._renderers[name] = WarpRenderer()
            elif name == "skeleton":
                from xdancer.render.skeleton import SkeletonRenderer

                self._renderers[name] = SkeletonRenderer()
            elif name == "diffusion":
                from xdancer.render.diffusion.pipeline import load_diffusion_renderer

                self._renderers[name] = load_diffusion_renderer(self.diffusion_path, device=self.device)
            else:
                raise InputError(f"renderer must be one of {', '.join(RENDERERS)}, got {name!r}")
        return self._renderers[name]

    # --- all together -----------------------------------------------------------------------------

    def __call__(
        self,
        image: str | Path | np.ndarray,
        audio: str | Path,
        options: DanceOptions | None = None,
        progress: ProgressFn | None = None,
        show_progress: bool = True,
    ) -> DanceResult:
        """Stages 1-3 now; stages 4-5 stream when the result is saved (or ``frames()`` iterated)."""
        options = options or DanceOptions()
        timings: dict[str, float] = {}

        def stage(name: str, fraction: float) -> None:
            if progress is not None:
                progress(name, fraction)

        # 1. Check the inputs before any expensive work.
        if not isinstance(image, np.ndarray):
            check_input_file(image, "photo")
        check_input_file(audio, "music file")
        renderer = self.renderer(options.renderer)

        # 2. Reference pose from the photo.
        stage("pose", 0.0)
        t0 = time.perf_counter()
        rgb, reference_pose = self.reference(image)
        timings["pose"] = time.perf_counter() - t0

        # 3. Music features of the chosen part of the song.
        stage("music", 0.0)
        t0 = time.perf_counter()
        wave, features = self.music(audio, options.start, options.seconds)
        timings["music"] = time.perf_counter() - t0

        # 4. The dance itself.
        stage("choreograph", 0.0)
        t0 = time.perf_counter()
        poses = self.choreograph(features, reference_pose, options, progress=show_progress)
        timings["choreograph"] = time.perf_counter() - t0
        stage("choreograph", 1.0)

        return DanceResult(options, rgb, reference_pose, wave, features, poses, renderer, timings)
