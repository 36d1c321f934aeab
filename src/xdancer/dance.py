"""``dance_to_file``: the whole job behind ``xdancer dance``, with a summary at the end."""

from __future__ import annotations

from pathlib import Path

from xdancer.io_utils import check_output_path
from xdancer.pipeline import DanceOptions, DancePipeline, DanceResult


def dance_to_file(
    photo: str | Path,
    music: str | Path,
    out: str | Path,
    options: DanceOptions | None = None,
    *,
    poses_out: str | Path | None = None,
    diffusion_checkpoint: str | Path | None = None,
    pipeline: DancePipeline | None = None,
    verbose: bool = True,
) -> DanceResult:
    """Make the dance and write ``out`` (mp4 with the music) and optionally the poses (.npz)."""
    out = check_output_path(out, (".mp4",))
    if poses_out is not None:
        check_output_path(poses_out, (".npz",))
    pipe = pipeline or DancePipeline(diffusion_path=diffusion_checkpoint)
    result = pipe(photo, music, options or DanceOptions(), show_progress=verbose)
    result.save(out, show_progress=verbose)
    if poses_out is not None:
        result.poses.save(poses_out)
    if verbose:
        print(f"wrote {out}: {result.summary()}")
    return result
