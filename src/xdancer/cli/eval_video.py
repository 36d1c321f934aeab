"""``xdancer eval video``: FVD, PSNR / SSIM and pose-detector agreement (PCK) of rendered videos."""

from __future__ import annotations

import argparse


def register(add_command) -> None:
    p = add_command("eval", "video", help="FVD, PSNR/SSIM and pose agreement (PCK) of rendered videos")
    p.add_argument("--generated", required=True, help="folder of rendered videos (NAME.mp4)")
    p.add_argument(
        "--real", default=None, help="folder of real videos: FVD, and PSNR/SSIM for same-name pairs"
    )
    p.add_argument(
        "--poses", default=None, help="folder of driving poses NAME.npz for PCK (default: beside the videos)"
    )
    p.add_argument("-o", "--output", required=True, help="metrics .json to write")
    p.add_argument("--report", default=None, help="also draw a report (.html or .png)")
    p.add_argument("--max-clips", type=int, default=None, help="16-frame FVD clips per video (default 16)")
    p.add_argument(
        "--max-frames", type=int, default=None, help="frames per video for PSNR/SSIM/PCK (default 300)"
    )
    p.add_argument("--config", default=None, help="YAML file with VideoEvalConfig fields")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import json

    from xdancer.config import load_config
    from xdancer.eval.run import VideoEvalConfig, evaluate_video

    overrides = list(args.set)
    if args.max_clips is not None:
        overrides.append(f"max_clips_per_video={args.max_clips}")
    if args.max_frames is not None:
        overrides.append(f"max_frames={args.max_frames}")
    config = load_config(VideoEvalConfig, args.config, overrides)
    results = evaluate_video(args.generated, args.real, args.poses, config, output=args.output, report=args.report,
                             progress=not args.quiet)  # fmt: skip
    summary = {k: results[k] for k in ("fvd", "psnr", "ssim", "pck", "n_paired", "n_with_poses")}
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.output}" + (f" and {args.report}" if args.report else ""))
