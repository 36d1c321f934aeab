"""``xdancer data build|stats|preview``: build training datasets from real sources and look at them."""

from __future__ import annotations

import argparse

SOURCES = ("dwm", "videos", "bvh", "aistpp")


def register(add_command) -> None:
    p = add_command("data", "build", help="import a source (dwm, videos, bvh, aistpp) into a dataset folder")
    p.add_argument("--source", required=True, choices=SOURCES, help="which importer reads PATH")
    p.add_argument("path", help="the source folder (or file)")
    p.add_argument("-o", "--output", required=True, help="dataset folder (created; other sources in it are kept)")
    p.add_argument("--views", type=int, default=None, help="virtual cameras per 3D dance (dwm, bvh; default 3) or AIST++ camera views (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the virtual cameras (dwm, bvh)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of dances held out for validation")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_build)

    p = add_command("data", "stats", help="table of a dataset: clips, minutes, genres, keypoint coverage per part")
    p.add_argument("dataset", help="dataset folder")
    p.add_argument("--markdown", action="store_true", help="print Markdown instead of a terminal table")
    p.set_defaults(func=run_stats)

    p = add_command("data", "preview", help="skeleton video of one dataset clip, with its music")
    p.add_argument("dataset", help="dataset folder")
    p.add_argument("clip", help="clip id (see manifest.csv)")
    p.add_argument("-o", "--output", required=True, help="output .mp4")
    p.add_argument("--start", type=float, default=0.0, help="start time in the clip (s)")
    p.add_argument("--seconds", type=float, default=None, help="length (s); default: to the end")
    p.add_argument("--no-music", action="store_true", help="leave the music out")
    p.set_defaults(func=run_preview)

    p = add_command("data", "alignment", help="check the music alignment of Dance with Melody (BAS, tempo, onsets)")
    p.add_argument("path", help="the dance_with_melody folder (or one DANCE_* folder)")
    p.add_argument("-o", "--output", default=None, help="also write the per-dance numbers to this .json")
    p.add_argument("--plot", default=None, help="also draw the checks into this .png")
    p.add_argument("--seed", type=int, default=0, help="seed of the random offsets")
    p.set_defaults(func=run_alignment)


def run_build(args: argparse.Namespace) -> None:
    from xdancer.data.importer import build_dataset
    from xdancer.errors import InputError

    if not 0 <= args.val_fraction < 1:
        raise InputError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    options: dict = {}
    if args.views is not None and args.views < 1:
        raise InputError(f"--views must be at least 1, got {args.views}")
    if args.source in ("dwm", "bvh"):
        options["seed"] = args.seed
        if args.views is not None:
            options["views"] = args.views
    elif args.source == "aistpp" and args.views is not None:
        if args.views > 9:
            raise InputError(f"AIST++ has 9 camera views; --views {args.views} is too many")
        options["views"] = tuple(range(args.views))
    elif args.views is not None:
        raise InputError(f"--views applies to dwm, bvh (virtual cameras) and aistpp (camera views), not {args.source}")
    rows = build_dataset(args.source, args.path, args.output, val_fraction=args.val_fraction,
                         progress=not args.quiet, **options)  # fmt: skip
    minutes = sum(r.seconds for r in rows) / 60
    n_val = sum(r.split == "val" for r in rows)
    print(f"{len(rows)} {args.source} clips ({minutes:.1f} min, {n_val} in val) -> {args.output}")


def run_stats(args: argparse.Namespace) -> None:
    from xdancer.data.stats import dataset_stats, stats_markdown, stats_table

    rows = dataset_stats(args.dataset)
    if args.markdown:
        print(stats_markdown(rows))
        return
    from rich.console import Console

    # Wide enough for every column even when the output is piped (rich assumes 80 columns then).
    Console(width=max(Console().width, 110)).print(stats_table(rows))


def run_preview(args: argparse.Namespace) -> None:
    from xdancer.data.preview import preview_clip
    from xdancer.errors import InputError

    if args.seconds is not None and not args.seconds > 0:
        raise InputError(f"--seconds must be positive, got {args.seconds}")
    out = preview_clip(args.dataset, args.clip, args.output, start_s=args.start, seconds=args.seconds,
                       with_music=not args.no_music)  # fmt: skip
    print(f"wrote {out}")


def run_alignment(args: argparse.Namespace) -> None:
    import json
    from dataclasses import asdict

    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from xdancer.data.alignment import check_dwm, plot_alignment
    from xdancer.io_utils import atomic_path, check_output_path

    if args.output:
        check_output_path(args.output, (".json",))
    if args.plot:
        check_output_path(args.plot, (".png",))
    results = check_dwm(args.path, seed=args.seed)
    rows = {k: asdict(v) for k, v in results.items()}
    table = Table(title="Dance with Melody: music alignment")
    cols = ("bas_stated", "bas_random", "bas_heldout_fitted", "bas_heldout_stated", "dance_period_s",
            "beat_period_s", "music_ac_at_dance_period", "music_ac_others", "corr_stated", "corr_random")  # fmt: skip
    table.add_column("dance")
    for c in cols:
        table.add_column(c.replace("_", " "), justify="right")
    for name, r in rows.items():
        table.add_row(name, *(f"{r[c]:.3f}" for c in cols))
    table.add_row("mean", *(f"{np.nanmean([r[c] for r in rows.values()]):.3f}" for c in cols), end_section=True)
    Console(width=max(Console().width, 170)).print(table)
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(rows, indent=1))
        print(f"wrote {args.output}")
    if args.plot:
        print(f"wrote {plot_alignment(results, args.plot)}")
