"""Photo + pose file -> mp4: the library function behind ``xdancer render``.

Frames go straight from the renderer into the encoder, one at a time, so memory stays flat however
long the dance is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from xdancer.io_utils import check_input_file, check_output_path
from xdancer.render.base import DEFAULT_HEIGHT
from xdancer.render.warp import WarpRenderer, WarpRendererConfig

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
_DONE = object()


def prefetch(items: Iterable, depth: int = 4) -> Iterator:
    """Iterate ``items`` in a background thread, at most ``depth`` ahead.

    Rendering (NumPy/OpenCV) and H.264 encoding both release the GIL for most of their work, so
    running them side by side keeps two cores busy; the queue bounds memory to ``depth`` frames.
    An exception in the producer is re-raised here.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer, which raises it
            q.put(e)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.01)


def animate_photo(
    photo: str | Path,
    poses: str | Path,
    output: str | Path,
    *,
    music: str | Path | None = None,
    height: int = DEFAULT_HEIGHT,
    config: WarpRendererConfig | None = None,
    progress: bool = True,
) -> Path:
    """Animate the person in ``photo`` with the pose sequence in ``poses`` (.npz) and write ``output``.

    The photo's own pose is detected here. ``music`` (any audio file, or a video with sound) is laid
    under the video and cut to its length. Returns the output path.
    """
    from tqdm import tqdm

    from xdancer.image_io import load_image
    from xdancer.pose.detect import detect_image
    from xdancer.pose.sequence import PoseSequence
    from xdancer.video.io import VideoWriter

    # 1. Check every path before any expensive work.
    output = check_output_path(output, VIDEO_SUFFIXES)
    check_input_file(photo, "photo")
    check_input_file(poses, "pose file")
    if music is not None:
        check_input_file(music, "music file")
    # 2. Inputs: the photo, its pose, the driving sequence.
    image = load_image(photo)
    sequence = PoseSequence.load(poses)
    reference = detect_image(image, source=str(photo))
    # 3. One-time set-up, then stream the frames into the encoder.
    renderer = WarpRenderer(config)
    prep = renderer.prepare(image, reference, height=height)
    with VideoWriter(output, sequence.fps, prep.size, audio=music) as writer:
        frames = prefetch(renderer.frames(prep, sequence))
        for frame in tqdm(frames, total=len(sequence), desc="render", unit="frame", disable=not progress):
            writer.write(frame)
    return output
