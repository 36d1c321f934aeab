"""``xdancer render PHOTO POSES.npz -o out.mp4``: animate a photo with a pose sequence (warp renderer)."""

from __future__ import annotations

import argparse


def register(add_command) -> None:
    p = add_command("render", help="animate the person in a photo with a pose sequence (.npz) into an mp4")
    p.add_argument("photo", help="photo of one person (jpg/png), head to at least the shoulders in view")
    p.add_argument("poses", help="pose sequence .npz (xdancer pose / xdancer choreograph output)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4)")
    p.add_argument("--music", default=None, help="audio laid under the video, cut to its length")
    p.add_argument(
        "--height", type=int, default=512, help="output height in pixels (even); width follows the photo"
    )
    p.add_argument("--config", default=None, help="YAML file of WarpRendererConfig options")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one renderer option, e.g. --set deformation=arap (repeatable)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from xdancer.config import load_config
    from xdancer.errors import InputError
    from xdancer.render.animate import animate_photo
    from xdancer.render.warp import WarpRendererConfig

    if args.height < 16 or args.height % 2:
        raise InputError(f"--height must be an even number of at least 16, got {args.height}")
    config = load_config(WarpRendererConfig, args.config, args.overrides)
    out = animate_photo(
        args.photo, args.poses, args.output, music=args.music, height=args.height, config=config
    )
    print(out)
