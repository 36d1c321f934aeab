"""``xdancer train tokenizer``: train the multi-part pose VQ-VAE (or its single-codebook ablation)."""

from __future__ import annotations


def register(add_command) -> None:
    p = add_command(
        "train", "tokenizer", help="train the pose tokenizer (multi-part VQ-VAE) on a built dataset"
    )
    p.add_argument("--config", default=None, help="YAML config (e.g. configs/tokenizer/default.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set steps=100 --set model.codebook_size=256")  # fmt: skip
    p.add_argument("--no-resume", action="store_true", help="start afresh even if OUT_DIR/last exists")
    p.add_argument("--device", default=None, help="torch device (default: CUDA if available, else CPU)")
    p.set_defaults(func=run)


def run(args) -> None:
    from xdancer.config import load_config
    from xdancer.tokenizer.config import TokenizerTrainConfig
    from xdancer.train.tokenizer import train_tokenizer

    cfg = load_config(TokenizerTrainConfig, args.config, args.overrides)
    path = train_tokenizer(cfg, resume=not args.no_resume, device=args.device)
    print(f"tokenizer written to {path}.safetensors (+ .json); loss curve in {cfg.out_dir}/loss.png")
