"""``xdancer pose IMAGE_OR_VIDEO -o out.npz [--overlay out.mp4|png] [--json DIR]``."""

from __future__ import annotations


def register(add_command) -> None:
    p = add_command("pose", help="Detect the whole-body pose (134 points) of the person in a photo or video")
    p.add_argument(
        "input", metavar="IMAGE_OR_VIDEO", help="photo (.png, .jpg, ...) or video (.mp4, .avi, ...)"
    )
    p.add_argument("-o", "--output", required=True, help="pose file to write (.npz)")
    p.add_argument("--overlay", help="also draw the skeleton: .png/.jpg for a photo, .mp4 for a video")
    p.add_argument("--on-black", action="store_true", help="draw the overlay on black instead of the source")
    p.add_argument("--json", metavar="DIR", help="also write OpenPose-style JSON, one file per frame")
    p.add_argument(
        "--allow-multiple",
        action="store_true",
        help="photo with several people: take the largest, most central one instead of failing",
    )
    p.add_argument("--max-seconds", type=float, help="video: only the first this many seconds")
    p.add_argument("--no-smooth", action="store_true", help="video: keep the raw per-frame detections")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> None:
    from xdancer.errors import InputError
    from xdancer.pose.detect import DetectConfig
    from xdancer.pose.extract import extract_pose

    try:
        config = DetectConfig(
            allow_multiple=args.allow_multiple, smooth=not args.no_smooth, max_seconds=args.max_seconds
        )
    except ValueError as e:
        raise InputError(str(e)) from None
    seq = extract_pose(
        args.input,
        args.output,
        overlay=args.overlay,
        on_black=args.on_black,
        json_dir=args.json,
        config=config,
        progress=not args.quiet,
    )
    seen = int((seq.confidence[:, :18] > 0.3).any(axis=1).sum())
    print(
        f"{args.output}: {len(seq)} frame(s) at {seq.fps:g} fps, {seq.frame_size[0]}x{seq.frame_size[1]}, person seen in {seen}"
    )
