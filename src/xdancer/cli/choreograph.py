"""``xdancer choreograph``: a dance (pose sequence) for a piece of music, and optionally its skeleton video."""

from __future__ import annotations

from xdancer.constants import SAMPLING_TEMPERATURE


def register(add_command) -> None:
    p = add_command("choreograph", help="write a dance (2D whole-body poses) for a piece of music")
    p.add_argument("music", help="music file (wav, mp3, ogg, flac, m4a, or a video with sound)")
    p.add_argument("--image", default=None, help="photo of the dancer: the dance starts from their pose, in the photo's frame")
    p.add_argument("--seconds", type=float, default=None, help="dance length in seconds (default: the whole song)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same dance)")
    p.add_argument("--temperature", type=float, default=SAMPLING_TEMPERATURE,
                   help=f"sampling temperature (0 = always the likeliest token; default {SAMPLING_TEMPERATURE})")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k likeliest tokens only")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling: the likeliest tokens up to this probability")
    p.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance on the music: above 1 follows the music more, 1 = off "
                        "(default: 3.5 for generators trained with music dropout, like the bundled one)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, help="pose sequence to write (.npz)")
    p.add_argument("--video", default=None, help="also write a skeleton video with the music (.mp4)")
    p.add_argument("--generator", default=None, help="generator checkpoint (default: the bundled one)")
    p.add_argument("--tokenizer", default=None, help="tokenizer checkpoint (default: the bundled one)")
    p.set_defaults(func=run)


def run(args) -> None:
    from xdancer.choreograph import Choreographer
    from xdancer.errors import InputError
    from xdancer.io_utils import check_input_file, check_output_path
    from xdancer.music.features import music_features

    music_path = check_input_file(args.music, "music file")
    check_output_path(args.output, (".npz",))
    if args.video is not None:
        check_output_path(args.video, (".mp4",))
    if args.seconds is not None and not args.seconds > 0:
        raise InputError(f"--seconds must be positive, got {args.seconds}")
    from xdancer.generator import SamplingConfig

    try:  # check the sampling options before any slow work
        SamplingConfig(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                       guidance=1.0 if args.guidance is None else args.guidance)  # fmt: skip
    except ValueError as e:
        raise InputError(str(e)) from None
    reference = None
    if args.image is not None:
        from xdancer.image_io import load_image
        from xdancer.pose.detect import detect_image

        reference = detect_image(load_image(check_input_file(args.image, "photo")))
    music = music_features(music_path, duration=args.seconds, progress=True)
    dance = Choreographer(args.tokenizer, args.generator)(
        music, reference_pose=reference, seconds=min(args.seconds or music.duration, music.duration), seed=args.seed,
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, guidance=args.guidance,
    )  # fmt: skip
    dance.meta = {**dance.meta, "music": str(music_path)}
    dance.save(args.output)
    print(f"{dance.duration:.1f} s of dance ({len(dance)} frames at {dance.fps:g} fps) written to {args.output}")
    if args.video is not None:
        from tqdm import tqdm

        from xdancer.pose.draw import skeleton_frames
        from xdancer.video.io import VideoWriter

        with VideoWriter(args.video, dance.fps, dance.frame_size, audio=str(music_path)) as writer:
            for frame in tqdm(skeleton_frames(dance), total=len(dance), desc="skeleton video", unit="frame"):
                writer.write(frame)
        print(f"skeleton video written to {args.video}")
