"""``xdancer pose``: detect the pose in a photo or video and write it out (npz, overlay, JSON).

Every output path is checked before detection starts, and every file is written atomically, so a
bad path fails in a second and a failure never leaves a partial file behind.
"""

from __future__ import annotations

from pathlib import Path

from xdancer.errors import InputError
from xdancer.io_utils import check_input_file, check_output_path, check_writable_folder
from xdancer.pose.detect import IMAGE_SUFFIXES, VIDEO_SUFFIXES, DetectConfig, detect_image, detect_video
from xdancer.pose.sequence import PoseSequence

IMAGE_OVERLAY_SUFFIXES = (".png", ".jpg", ".jpeg")
VIDEO_OVERLAY_SUFFIXES = (".mp4",)


def extract_pose(
    source: str | Path,
    output: str | Path,
    *,
    overlay: str | Path | None = None,
    on_black: bool = False,
    json_dir: str | Path | None = None,
    config: DetectConfig | None = None,
    progress: bool = True,
) -> PoseSequence:
    """Detect the pose in ``source`` (photo or video), save it to ``output`` (.npz), and optionally
    draw it (``overlay``: .png/.jpg for a photo, .mp4 with the source's sound for a video; over the
    source, or on black with ``on_black``) and export OpenPose-style JSON per frame to ``json_dir``.
    """
    config = config or DetectConfig()

    # 1. Check inputs and every output before the slow part.
    src = check_input_file(source, "image or video")
    suffix = src.suffix.lower()
    if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
        raise InputError(
            f"unsupported file type {suffix or '(none)'!r} for {src.name}: use an image "
            f"({', '.join(IMAGE_SUFFIXES)}) or a video ({', '.join(VIDEO_SUFFIXES)})"
        )
    is_video = suffix in VIDEO_SUFFIXES
    out = check_output_path(output, (".npz",))
    if overlay is not None:
        overlay = check_output_path(overlay, VIDEO_OVERLAY_SUFFIXES if is_video else IMAGE_OVERLAY_SUFFIXES)
    if json_dir is not None:
        json_dir = Path(json_dir).expanduser()
        if json_dir.exists() and not json_dir.is_dir():
            raise InputError(f"the JSON output must be a folder, but {json_dir} is a file")
        check_writable_folder(json_dir) if json_dir.is_dir() else check_output_path(json_dir)

    # 2. Detect.
    if is_video:
        seq = detect_video(src, progress=progress, config=config)
    else:
        from xdancer.image_io import load_image

        seq = detect_image(load_image(src), config=config, source=str(src))

    # 3. Write (each file atomically).
    try:
        if overlay is not None:
            _write_overlay(seq, src, Path(overlay), is_video, on_black, progress)
        seq.save(out)
        if json_dir is not None:
            seq.to_openpose_json(json_dir)
    except OSError as e:
        raise InputError(f"cannot write {e.filename or 'the output'}: {e.strerror or e}") from None
    return seq


def _write_overlay(
    seq: PoseSequence, src: Path, overlay: Path, is_video: bool, on_black: bool, progress: bool
) -> None:
    from xdancer.pose.draw import skeleton_frames

    if not is_video:
        from xdancer.image_io import load_image, save_image

        background = None if on_black else load_image(src)
        save_image(overlay, next(skeleton_frames(seq, background)))
        return

    from tqdm import tqdm

    from xdancer.video.io import VideoWriter, probe_video, read_video

    background = None if on_black else (rgb for _, rgb in read_video(src))
    audio = src if probe_video(src).has_audio else None
    with VideoWriter(overlay, seq.fps, seq.frame_size, audio=audio) as writer:
        for frame in tqdm(
            skeleton_frames(seq, background),
            total=len(seq),
            desc="overlay",
            unit="frame",
            disable=not progress,
        ):
            writer.write(frame)
