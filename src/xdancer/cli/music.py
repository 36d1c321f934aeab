"""``xdancer music AUDIO -o features.npz [--plot beats.png]``: per-frame music features, tempo, beats."""

from __future__ import annotations

import argparse


def register(add_command) -> None:
    p = add_command(
        "music", help="Analyse music: per-frame features at the pose frame rate, tempo and beats."
    )
    p.add_argument("audio", help="audio file (wav, mp3, ogg, flac, m4a, ...) or a video with sound")
    p.add_argument("-o", "--output", required=True, help="features file to write (.npz)")
    p.add_argument(
        "--plot", metavar="PNG", help="also draw the waveform, onset envelope with beats, and chroma"
    )
    p.add_argument("--fps", type=float, default=30.0, help="feature frame rate (default 30, the pose rate)")
    p.add_argument(
        "--start", type=float, default=0.0, metavar="SECONDS", help="start of the window to analyse"
    )
    p.add_argument("--seconds", type=float, default=None, help="length of the window (default: to the end)")
    p.add_argument("--encoder", default="librosa35", help="music encoder name (default librosa35)")
    p.add_argument("--model", default=None, metavar="PATH", help="local model file/folder for the encoder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from xdancer.errors import InputError
    from xdancer.io_utils import check_output_path
    from xdancer.music.features import music_features
    from xdancer.music.plot import plot_music

    out = check_output_path(args.output, (".npz",))
    plot = check_output_path(args.plot, (".png",)) if args.plot else None
    if plot is not None and plot.resolve() == out.resolve():
        raise InputError("--plot and --output must be different files")
    if not args.fps > 0 or args.fps > 1000:
        raise InputError(f"--fps must be in (0, 1000], got {args.fps}")
    feats, wave = music_features(
        args.audio,
        fps=args.fps,
        offset=args.start,
        duration=args.seconds,
        encoder=args.encoder,
        model_path=args.model,
        progress=True,
        return_wave=True,
    )
    if plot is not None:
        plot_music(feats, plot, wave=wave, sr=feats.meta.get("sample_rate", 24000))
    feats.save(out)
    print(
        f"{out}: {len(feats)} frames x {feats.dim} features at {feats.fps:g} fps, "
        f"tempo {feats.tempo_bpm:.1f} bpm, {len(feats.beat_times)} beats" + (f"; plot {plot}" if plot else "")
    )
