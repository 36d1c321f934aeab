"""Audio decoding through PyAV (FFmpeg): any audio file or the audio track of a video, as mono
float32 at a chosen rate, optionally just a window of it.

Decoding streams: a window is reached by seeking and decoded chunk by chunk, so memory depends on
the window's length, never on the file's. Whole tracks above ``MAX_AUDIO_SECONDS`` are refused
with a hint to pick a window, which keeps memory bounded for hour-long inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from xdancer.constants import SAMPLE_RATE
from xdancer.errors import InputError
from xdancer.io_utils import check_input_file

# The longest stretch decoded in one call (10 minutes: 57.6 MB of mono float32 at 24 kHz).
MAX_AUDIO_SECONDS = 600.0

# Errors FFmpeg raises for files it cannot parse or decode.
_AV_ERRORS = (av.error.FFmpegError, UnicodeDecodeError, ValueError, IndexError)


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except _AV_ERRORS as e:
        raise InputError(
            f"not a readable audio or video file: {path} ({e.__class__.__name__}: {e})"
        ) from None


def audio_duration(path: str | Path) -> float | None:
    """Length of the first audio track in seconds as the container states it (None if unknown).

    Raises InputError for a missing or unreadable file, or one without an audio track.
    """
    p = check_input_file(path, "audio file")
    with _open(p) as container:
        stream = _audio_stream(container, p)
        return _stated_duration(container, stream)


def _audio_stream(container: av.container.InputContainer, path: Path) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise InputError(f"no audio track in {path}")
    return container.streams.audio[0]


def _stated_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def iter_audio(
    path: str | Path,
    sr: int = SAMPLE_RATE,
    offset: float = 0.0,
    duration: float | None = None,
    layout: str = "mono",
) -> Iterator[np.ndarray]:
    """Decode ``[offset, offset + duration)`` seconds of the first audio track in chunks.

    Yields float32 arrays (C, n) with C = 1 for ``layout="mono"`` and 2 for ``"stereo"``, resampled
    to ``sr`` by FFmpeg's resampler. Sample 0 of the first chunk is at time ``offset`` measured from
    the start of the audio track. Memory is one 100 ms block at a time.
    """
    if offset < 0:
        raise InputError(f"audio offset must be >= 0 seconds, got {offset}")
    if duration is not None and duration <= 0:
        raise InputError(f"audio duration must be > 0 seconds, got {duration}")
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")
    if layout not in ("mono", "stereo"):
        raise ValueError(f"layout must be 'mono' or 'stereo', got {layout!r}")
    p = check_input_file(path, "audio file")
    with _open(p) as container:
        stream = _audio_stream(container, p)
        stream.thread_type = "AUTO"
        stated = _stated_duration(container, stream)
        if stated is not None and offset >= stated > 0:
            raise InputError(f"offset {offset:.2f} s is past the end of the audio ({stated:.2f} s) in {p}")
        tb = stream.time_base
        start_pts = stream.start_time or 0
        if offset > 1.0 and tb is not None:
            # Seek a little early: the demuxer lands on a packet at or before the target and the exact
            # start is then cut from the decoded samples' timestamps.
            try:
                container.seek(start_pts + int((offset - 0.5) / tb), stream=stream, backward=True)
            except av.error.FFmpegError:
                container.seek(0)
        # Mono is the mean of the source channels (as librosa does). FFmpeg's own downmix weighs each
        # channel by 1/sqrt(2), which makes identical channels 3 dB louder and can clip.
        mono = layout == "mono"
        # Output in 100 ms blocks: codecs' packets are a few ms each, and per-block overhead dominates.
        resampler = av.AudioResampler(
            format="fltp", layout=None if mono else "stereo", rate=sr, frame_size=max(1, sr // 10)
        )
        want = None if duration is None else int(round(duration * sr))
        if want is None and stated is not None and "mp4" in container.format.name:
            # The AAC decoder returns whole 1024-sample blocks; the mp4 states the exact length.
            want = int(round((stated - offset) * sr))
        skip: int | None = None  # output samples still to drop before ``offset``
        produced = 0
        try:
            for frame in container.decode(stream):
                if skip is None:
                    t0 = 0.0 if frame.pts is None or tb is None else float((frame.pts - start_pts) * tb)
                    skip = max(0, int(round((offset - max(t0, 0.0)) * sr)))
                for out in resampler.resample(frame):
                    chunk, skip = _trim(_channels(out, mono), skip)
                    produced, chunk = _cap(chunk, produced, want)
                    if chunk.shape[1]:
                        yield chunk
                    if want is not None and produced >= want:
                        return
            for out in resampler.resample(None):
                chunk, skip = _trim(_channels(out, mono), skip or 0)
                produced, chunk = _cap(chunk, produced, want)
                if chunk.shape[1]:
                    yield chunk
        except _AV_ERRORS as e:
            raise InputError(f"corrupt or undecodable audio in {p} ({e.__class__.__name__}: {e})") from None


def _channels(frame: av.AudioFrame, mono: bool) -> np.ndarray:
    x = frame.to_ndarray()  # (C, n) planar float32
    return x.mean(axis=0, keepdims=True, dtype=np.float32) if mono and x.shape[0] > 1 else x


def _trim(chunk: np.ndarray, skip: int) -> tuple[np.ndarray, int]:
    if skip <= 0:
        return chunk, 0
    n = min(skip, chunk.shape[1])
    return chunk[:, n:], skip - n


def _cap(chunk: np.ndarray, produced: int, want: int | None) -> tuple[int, np.ndarray]:
    if want is not None:
        chunk = chunk[:, : max(0, want - produced)]
    return produced + chunk.shape[1], chunk


def load_audio(
    path: str | Path,
    sr: int = SAMPLE_RATE,
    offset: float = 0.0,
    duration: float | None = None,
    *,
    max_seconds: float = MAX_AUDIO_SECONDS,
) -> np.ndarray:
    """Mono float32 (N,) samples at ``sr`` of ``[offset, offset + duration)`` seconds of ``path``.

    Reads wav, mp3, ogg, flac, m4a/aac, opus and the audio track of mp4/avi/mov/webm/mkv videos.
    Raises InputError when the file is missing, is not audio, is corrupt, has no audio track, when
    the window is empty, or when more than ``max_seconds`` would be decoded (choose a window).
    """
    p = check_input_file(path, "audio file")
    if duration is not None and duration > max_seconds:
        raise InputError(
            f"a {duration:.0f} s window is longer than the {max_seconds:.0f} s limit; choose a shorter window"
        )
    if duration is None:
        stated = audio_duration(p)
        if stated is not None and stated - offset > max_seconds:
            raise InputError(
                f"{p.name} is {stated / 60:.1f} minutes long; at most {max_seconds / 60:.0f} minutes are analysed "
                "at once: pick a window with --start SECONDS and --seconds SECONDS"
            )
    limit = int(round(max_seconds * sr))
    chunks: list[np.ndarray] = []
    n = 0
    for chunk in iter_audio(p, sr=sr, offset=offset, duration=duration):
        chunks.append(chunk[0])
        n += chunk.shape[1]
        if n > limit:
            # The container did not state its length (e.g. a raw stream); stop before memory grows.
            raise InputError(
                f"{p.name} is longer than {max_seconds / 60:.0f} minutes; pick a window with --start and --seconds"
            )
    if n == 0:
        raise InputError(f"no audio could be decoded from {p} at offset {offset:.2f} s")
    return np.concatenate(chunks).astype(np.float32, copy=False)
