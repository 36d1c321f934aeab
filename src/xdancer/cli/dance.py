"""``xdancer dance PHOTO MUSIC -o out.mp4`` and ``xdancer demo``: the main job."""

from __future__ import annotations

import argparse
from pathlib import Path

from xdancer.constants import SAMPLING_TEMPERATURE


def _add_dance_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--out", default="dance.mp4", help="output video (.mp4), default dance.mp4")
    p.add_argument("--start", type=float, default=0.0, help="where in the song the dance starts, in seconds")
    p.add_argument("--seconds", type=float, default=None, help="length of the dance (default: to the end of the song)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same dance")
    p.add_argument("--height", type=int, default=512, help="video height in pixels (default 512)")
    p.add_argument("--fps", type=int, default=30, help="video frame rate (default 30)")
    p.add_argument("--renderer", choices=("warp", "diffusion", "skeleton"), default="warp",
                   help="warp: animate the photo (fast, CPU); diffusion: the learned video model; "
                        "skeleton: only the poses")  # fmt: skip
    p.add_argument("--side-by-side", action="store_true", help="show photo | skeleton | result in each frame")
    p.add_argument("--poses-out", type=Path, default=None, help="also save the dance's poses (.npz)")
    p.add_argument(
        "--temperature", type=float, default=SAMPLING_TEMPERATURE,
        help=f"sampling temperature (lower = calmer; default {SAMPLING_TEMPERATURE})",
    )
    p.add_argument("--top-k", type=int, default=None, help="sample only among the k likeliest tokens")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling threshold in (0, 1]")
    p.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance on the music (1 = off; default: the generator's, 3.5)")  # fmt: skip
    p.add_argument("--diffusion-checkpoint", type=Path, default=None, help="diffusion renderer checkpoint")


def register(add_command) -> None:
    p = add_command("dance", help="Make the person in PHOTO dance to MUSIC and write a video.")
    p.add_argument("photo", type=Path, help="photo of one person (jpg, png, webp)")
    p.add_argument("music", type=Path, help="song (wav, mp3, ogg, flac, m4a, or a video with sound)")
    _add_dance_options(p)
    p.set_defaults(func=run)

    d = add_command("demo", help="Dance the bundled demo photo to a synthesised groove (no files needed).")
    _add_dance_options(d)
    d.set_defaults(func=run_demo, out="demo_dance.mp4")


def run(args: argparse.Namespace) -> None:
    from xdancer.dance import dance_to_file
    from xdancer.pipeline import DanceOptions

    options = DanceOptions(
        start=args.start, seconds=args.seconds, seed=args.seed, height=args.height, fps=args.fps,
        renderer=args.renderer, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
        guidance=args.guidance, side_by_side=args.side_by_side,
    )  # fmt: skip
    dance_to_file(args.photo, args.music, args.out, options, poses_out=args.poses_out,
                  diffusion_checkpoint=args.diffusion_checkpoint)  # fmt: skip


def run_demo(args: argparse.Namespace) -> None:
    from xdancer.demo import DEMO_PHOTO_CREDIT, write_demo_files

    out = Path(args.out)
    photo, song = write_demo_files(out.resolve().parent / "xdancer_demo")
    print(f"demo photo: {photo} ({DEMO_PHOTO_CREDIT})\ndemo song:  {song} (synthesised)")
    args.photo, args.music = photo, song
    run(args)
    print(f"\nTo dance your own photo to your own song:\n  xdancer dance your_photo.jpg your_song.mp3 -o {out.name}")
