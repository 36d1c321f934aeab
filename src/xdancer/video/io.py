"""Video reading and writing through PyAV (FFmpeg's libraries).

Reading yields RGB frames one at a time with their timestamps. Writing encodes H.264 (libx264,
yuv420p, even width and height) into an mp4 that browsers play (moov atom first), streams frames
as they come (memory does not grow with the video's length), muxes the music as AAC interleaved
with the frames and cut to the video's length, and renames the file into place only when complete.

Timing convention: video frame i is shown at time i / fps, the same instant as music feature
frame i (see :mod:`xdancer.music.features`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from xdancer.errors import InputError
from xdancer.io_utils import atomic_path, check_input_file, check_output_path
from xdancer.music.io import iter_audio

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
# AAC in mp4 is decoded everywhere at 48 kHz; music is muxed in stereo when the source has it.
MUX_SAMPLE_RATE = 48_000
_AV_ERRORS = (av.error.FFmpegError, UnicodeDecodeError, ValueError, IndexError)


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    width: int
    height: int
    n_frames: int
    duration: float
    has_audio: bool


def _open_video(path: str | Path) -> tuple[Path, av.container.InputContainer]:
    p = check_input_file(path, "video file")
    try:
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except _AV_ERRORS as e:
        raise InputError(f"not a readable video file: {p} ({e.__class__.__name__}: {e})") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"no video track in {p}")
    return p, container


def _stream_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else None


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Counter-clockwise quarter turns that display the frame upright (phones store portrait video
    as landscape plus a rotation in the display matrix; players apply it, so do we)."""
    rotation = frame.rotation or 0
    return int(round(rotation / 90)) % 4


def probe_video(path: str | Path) -> VideoInfo:
    """Frame rate, displayed size (rotation applied), frame count, duration (s) and whether an
    audio track exists. The frame count is the container's when it states one, else duration x fps.
    """
    p, container = _open_video(path)
    with container:
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        if fps is None or fps <= 0:
            raise InputError(f"cannot tell the frame rate of {p}")
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        n_frames = int(stream.frames) if stream.frames else int(round(duration * fps))
        if not duration and n_frames:
            duration = n_frames / float(fps)
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        try:
            first = next(container.decode(stream), None)
        except _AV_ERRORS as e:
            raise InputError(f"corrupt or undecodable video {p} ({e.__class__.__name__}: {e})") from None
        if first is None:
            raise InputError(f"no frames could be decoded from {p}")
        if _quarter_turns(first) % 2:
            width, height = height, width
        return VideoInfo(
            fps=float(fps),
            width=width,
            height=height,
            n_frames=n_frames,
            duration=duration,
            has_audio=bool(container.streams.audio),
        )


def read_video(path: str | Path) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(timestamp_seconds, rgb)`` for each frame: rgb is uint8 (H, W, 3).

    Timestamps are presentation times measured from the video track's first frame; frames without a
    timestamp get ``index / fps``. Raises InputError for a missing, unreadable or corrupt file.
    """
    p, container = _open_video(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = _stream_fps(stream) or Fraction(30)
        tb = stream.time_base
        start = stream.start_time
        n = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is not None and tb is not None:
                    if start is None:
                        start = frame.pts
                    t = float((frame.pts - start) * tb)
                else:
                    t = n / float(fps)
                rgb = frame.to_ndarray(format="rgb24")
                quarter_turns = _quarter_turns(frame)
                if quarter_turns:
                    rgb = np.ascontiguousarray(np.rot90(rgb, quarter_turns))
                yield t, rgb
                n += 1
        except _AV_ERRORS as e:
            raise InputError(
                f"corrupt or undecodable video {p} after {n} frames ({e.__class__.__name__}: {e})"
            ) from None
        if n == 0:
            raise InputError(f"no frames could be decoded from {p}")


AudioSource = str | Path | tuple[np.ndarray, int] | None


def _resampled(wave: np.ndarray, sr: int) -> Iterator[np.ndarray]:
    """(C, N) at ``sr`` -> (C, n) chunks at MUX_SAMPLE_RATE, one second of input at a time, so a
    long song costs no more memory than the part the video uses."""
    import soxr

    stream = soxr.ResampleStream(sr, MUX_SAMPLE_RATE, wave.shape[0], dtype="float32")
    for start in range(0, max(wave.shape[1], 1), sr):
        chunk = np.ascontiguousarray(wave[:, start : start + sr].T)  # (n, C) for soxr
        last = start + sr >= wave.shape[1]
        out = chunk if sr == MUX_SAMPLE_RATE else stream.resample_chunk(chunk, last=last)
        yield np.ascontiguousarray(out.T, dtype=np.float32)


class _AudioFeed:
    """Pulls music in step with the video and encodes it as AAC, so packets interleave."""

    def __init__(self, container: av.container.OutputContainer, audio: AudioSource, offset: float) -> None:
        if isinstance(audio, tuple):
            wave, sr = audio
            wave = np.asarray(wave, dtype=np.float32)
            if wave.ndim == 1:
                wave = wave[None]
            if wave.ndim != 2 or wave.shape[0] not in (1, 2):
                raise ValueError(f"audio wave must be (N,) or (C<=2, N), got {wave.shape}")
            self._chunks: Iterator[np.ndarray] = _resampled(wave[:, int(round(offset * int(sr))) :], int(sr))
            sr = MUX_SAMPLE_RATE
        else:
            sr = MUX_SAMPLE_RATE
            check_input_file(audio, "audio file")
            self._chunks = iter_audio(audio, sr=sr, offset=offset, layout=self._layout_of(Path(audio)))
        self.sr = sr
        self._buffer = np.zeros((0, 0), np.float32)
        self._stream = None
        self._first = next(self._chunks, None)
        if self._first is None or self._first.shape[1] == 0:
            raise InputError(f"the music has no samples after the {offset:.2f} s offset")
        self.channels = self._first.shape[0]
        self._stream = container.add_stream("aac", rate=sr, layout="stereo" if self.channels == 2 else "mono")
        self._stream.bit_rate = 192_000 if self.channels == 2 else 128_000
        self._container = container
        self._buffer = self._first
        self._sent = 0
        self._exhausted = False

    @staticmethod
    def _layout_of(path: Path) -> str:
        try:
            with av.open(str(path), metadata_errors="ignore") as c:
                channels = c.streams.audio[0].codec_context.channels if c.streams.audio else 1
        except _AV_ERRORS:
            channels = 1
        return "stereo" if channels >= 2 else "mono"

    def advance_to(self, seconds: float) -> None:
        """Encode music up to ``seconds`` of output (silence past the end of the music)."""
        target = int(round(seconds * self.sr))
        while self._buffer.shape[1] < target - self._sent and not self._exhausted:
            nxt = next(self._chunks, None)
            if nxt is None:
                self._exhausted = True
            else:
                self._buffer = np.concatenate([self._buffer, nxt.astype(np.float32)], axis=1)
        need = target - self._sent
        if need <= 0:
            return
        chunk = self._buffer[:, :need]
        if chunk.shape[1] < need:
            chunk = np.pad(chunk, ((0, 0), (0, need - chunk.shape[1])))
        self._buffer = self._buffer[:, need:]
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk), format="fltp", layout=self._stream.layout.name
        )
        frame.sample_rate = self.sr
        frame.pts = self._sent
        frame.time_base = Fraction(1, self.sr)
        self._sent = target
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def flush(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)


class VideoWriter:
    """Write RGB frames to an H.264 mp4 with optional music, atomically.

    ``with VideoWriter("out.mp4", 30, (512, 896), audio="song.mp3") as w: w.write(rgb)``

    size: (width, height) of the frames given to ``write``. Odd sizes are padded by one row or column
    (repeating the edge) because yuv420p needs even sizes. audio: a file path (any format
    :func:`xdancer.music.io.load_audio` reads, stereo kept), ``(wave, sr)`` with wave (N,) or (C, N),
    or None. The music starts at ``audio_offset`` seconds and is cut (or padded with silence) to the
    video's length. crf / preset: x264 quality (lower crf = better) and speed.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        size: tuple[int, int],
        audio: AudioSource = None,
        audio_offset: float = 0.0,
        *,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        self.path = check_output_path(path, VIDEO_SUFFIXES)
        if not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        w, h = (int(v) for v in size)
        if w < 2 or h < 2:
            raise InputError(f"video size must be at least 2x2 pixels, got {w}x{h}")
        if audio_offset < 0:
            raise InputError(f"audio offset must be >= 0 seconds, got {audio_offset}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {crf}")
        if audio is not None and not isinstance(audio, tuple):
            check_input_file(audio, "audio file")
        self.fps = Fraction(fps).limit_denominator(1001)
        self.size = (w, h)
        self.audio = audio
        self.audio_offset = float(audio_offset)
        self.crf = crf
        self.preset = preset
        self.n_frames = 0
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self) -> VideoWriter:
        self._stack = contextlib.ExitStack()
        try:
            tmp = self._stack.enter_context(atomic_path(self.path))
            self._container = av.open(
                str(tmp), mode="w", format="mp4", container_options={"movflags": "+faststart"}
            )
            self._stack.callback(self._container.close)
            w, h = self.size
            stream = self._container.add_stream("libx264", rate=self.fps)
            stream.width, stream.height = w + w % 2, h + h % 2
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = 1 / self.fps
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            self._video = stream
            self._audio = (
                None if self.audio is None else _AudioFeed(self._container, self.audio, self.audio_offset)
            )
        except BaseException as e:
            self._stack.__exit__(type(e), e, e.__traceback__)
            self._stack = None
            raise
        return self

    def write(self, rgb: np.ndarray) -> None:
        """Encode one uint8 (H, W, 3) RGB frame of the ``size`` given at construction."""
        w, h = self.size
        rgb = np.asarray(rgb)
        if rgb.shape != (h, w, 3):
            raise ValueError(f"frame must be ({h}, {w}, 3) to match size={self.size}, got {rgb.shape}")
        if rgb.dtype != np.uint8:
            raise ValueError(f"frame must be uint8, got {rgb.dtype}")
        if w % 2 or h % 2:
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.n_frames
        frame.time_base = 1 / self.fps
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.n_frames += 1
        if self._audio is not None:
            self._audio.advance_to(self.n_frames / self.fps)

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._stack is not None
        stack, self._stack = self._stack, None
        if exc_type is not None:
            # Closes the container and deletes the temporary file; the error propagates.
            stack.__exit__(exc_type, exc, tb)
            return False
        try:
            if self.n_frames == 0:
                raise ValueError(f"no frames were written to {self.path}")
            for packet in self._video.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.advance_to(self.n_frames / self.fps)
                self._audio.flush()
        except BaseException as e:
            stack.__exit__(type(e), e, e.__traceback__)
            raise
        stack.__exit__(None, None, None)  # closes the container (moov written), renames into place
        return False

    @property
    def duration(self) -> float:
        return self.n_frames / float(self.fps)


def write_video(
    frames: Iterable[np.ndarray],
    path: str | Path,
    fps: float,
    audio: AudioSource = None,
    audio_offset: float = 0.0,
) -> Path:
    """Encode ``frames`` (uint8 (H, W, 3) RGB, all one size) to ``path``; returns the path.

    Frames are consumed one at a time, so a generator of any length uses constant memory.
    """
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError("write_video got no frames")
    first = np.asarray(first)
    if first.ndim != 3 or first.shape[2] != 3:
        raise ValueError(f"frames must be (H, W, 3) RGB, got {first.shape}")
    with VideoWriter(
        path, fps, (first.shape[1], first.shape[0]), audio=audio, audio_offset=audio_offset
    ) as writer:
        writer.write(first)
        for frame in iterator:
            writer.write(frame)
    return Path(path)
