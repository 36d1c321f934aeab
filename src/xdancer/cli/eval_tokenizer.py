"""``xdancer eval tokenizer``: per-part reconstruction error and codebook usage, multi-part vs single codebook."""

from __future__ import annotations


def register(add_command) -> None:
    p = add_command(
        "eval", "tokenizer", help="reconstruction error per body part and codebook usage of pose tokenizers"
    )
    p.add_argument("--dataset", default="work/dataset", help="built dataset folder (default: work/dataset)")
    p.add_argument("--split", default="val", choices=("train", "val"))
    p.add_argument(
        "--checkpoint", default=None, help="tokenizer checkpoint (default: the bundled multi-part model)"
    )
    p.add_argument("--ablation", default=None,
                   help="single-codebook checkpoint to compare with (default: the bundled one; 'none' to skip)")  # fmt: skip
    p.add_argument(
        "--source",
        default=None,
        help="only clips of this source (e.g. videos: the ones with hands and faces)",
    )
    p.add_argument("--window", type=int, default=240, help="frames encoded at once (default 240)")
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    p.set_defaults(func=run)


def run(args) -> None:
    import json

    from rich.console import Console

    from xdancer.eval.reconstruction import comparison_table, evaluate_tokenizer
    from xdancer.io_utils import atomic_path, check_output_path
    from xdancer.tokenizer import ABLATION_CHECKPOINT, load_tokenizer

    if args.json:
        check_output_path(args.json, (".json",))
    which = f", source {args.source}" if args.source else ""
    main = load_tokenizer(args.checkpoint)
    reports = {
        "multi-part": evaluate_tokenizer(main, args.dataset, args.split, args.window, source=args.source)
    }
    if args.ablation != "none":
        ablation = load_tokenizer(args.ablation or ABLATION_CHECKPOINT)
        reports["single codebook"] = evaluate_tokenizer(
            ablation, args.dataset, args.split, args.window, source=args.source
        )
    Console().print(
        comparison_table(
            reports, title=f"pose tokenizer reconstruction, {args.dataset} ({args.split}{which})"
        )
    )
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({k: r.to_dict() for k, r in reports.items()}, indent=2))
