"""``xdancer eval motion`` (BAS, DIV, FID_k / FID_g, foot skating of generated vs real dances) and
``xdancer eval choreograph`` (dances by the motion model to a dataset's music, to evaluate)."""

from __future__ import annotations

import argparse

from xdancer.constants import SAMPLING_TEMPERATURE


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--split", default=None, choices=("train", "val", "all"), help="dataset split (default val)"
    )
    p.add_argument(
        "--real-split",
        default=None,
        choices=("train", "val", "all"),
        help="split of the real dataset folder (default: the same as --split)",
    )
    p.add_argument(
        "--max-sequences", type=int, default=None, help="sequences per side (default 64, seeded choice)"
    )
    p.add_argument("--seconds", type=float, default=None, help="cut every sequence to its first SECONDS")
    p.add_argument("--seed", type=int, default=None, help="seed of the choice of sequences (default 0)")
    p.add_argument("--config", default=None, help="YAML file with MotionEvalConfig fields")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(add_command) -> None:
    p = add_command(
        "eval",
        "motion",
        help="motion metrics (BAS, DIV, FID_k/FID_g, foot skating) of generated vs real dances",
    )
    p.add_argument(
        "--generated",
        required=True,
        help="folder of generated PoseSequence .npz (music beside as NAME.music.npz)",
    )
    p.add_argument("--real", required=True, help="folder of real dances, or a dataset folder (manifest.csv)")
    p.add_argument("-o", "--output", required=True, help="metrics .json to write")
    p.add_argument("--report", default=None, help="also draw a report (.html or .png)")
    p.add_argument("--labels", nargs=2, default=("generated", "real"), metavar=("GENERATED", "REAL"),
                   help="names of the two sides in the report")  # fmt: skip
    _config_args(p)
    p.set_defaults(func=run_motion)

    p = add_command(
        "eval", "choreograph", help="dance to the music of a dataset's clips with the motion model"
    )
    p.add_argument("--dataset", default="work/dataset", help="dataset folder (default work/dataset)")
    p.add_argument("-o", "--output", required=True, help="folder for NAME.npz + NAME.music.npz")
    p.add_argument("--tokenizer", default=None, help="tokenizer checkpoint (default: the bundled one)")
    p.add_argument("--generator", default=None, help="generator checkpoint (default: the bundled one)")
    p.add_argument("--temperature", type=float, default=SAMPLING_TEMPERATURE)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    _config_args(p)
    p.set_defaults(func=run_choreograph)


def _config(args: argparse.Namespace):
    from xdancer.config import load_config
    from xdancer.eval.run import MotionEvalConfig

    overrides = list(args.set)
    for key in ("split", "real_split", "max_sequences", "seconds", "seed"):
        if getattr(args, key) is not None:
            overrides.append(f"{key}={getattr(args, key)}")
    return load_config(MotionEvalConfig, args.config, overrides)


def run_motion(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from xdancer.eval.report import MOTION_ROWS
    from xdancer.eval.run import evaluate_motion

    gen_label, real_label = args.labels
    results = evaluate_motion(args.generated, args.real, _config(args), output=args.output, report=args.report,
                              progress=not args.quiet, labels=(gen_label, real_label))  # fmt: skip
    gen, real = results["generated"], results["real"]
    table = Table(
        title=f"motion metrics ({gen['n_sequences']} {gen_label} vs {real['n_sequences']} {real_label})"
    )
    for col in ("metric", gen_label, real_label):
        table.add_column(col)
    for _, key, _ in MOTION_ROWS:  # the report's metrics, in its order
        table.add_row(key, *("-" if v is None else f"{v:.4f}" for v in (gen.get(key), real.get(key))))
    Console().print(table)
    print(f"wrote {args.output}" + (f" and {args.report}" if args.report else ""))


def run_choreograph(args: argparse.Namespace) -> None:
    from xdancer.eval.samples import choreograph_dataset

    paths = choreograph_dataset(args.dataset, args.output, _config(args), args.temperature, args.top_k, args.top_p,
                                progress=not args.quiet, tokenizer=args.tokenizer, generator=args.generator)  # fmt: skip
    print(f"{len(paths)} dances -> {args.output}")
