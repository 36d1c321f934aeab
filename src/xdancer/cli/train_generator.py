"""``xdancer train generator``: train the music-conditioned pose-token GPT on a built dataset."""

from __future__ import annotations


def register(add_command) -> None:
    p = add_command("train", "generator", help="train the motion generator (music-conditioned GPT) on a built dataset")
    p.add_argument("--config", default=None, help="YAML config (e.g. configs/generator/default.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set steps=100 --set model.n_layer=6")  # fmt: skip
    p.add_argument("--no-resume", action="store_true", help="start afresh even if OUT_DIR/last exists")
    p.add_argument("--device", default=None, help="torch device (default: CUDA if available, else CPU)")
    p.set_defaults(func=run)


def run(args) -> None:
    from xdancer.config import load_config
    from xdancer.train.generator import GeneratorTrainConfig, train_generator

    cfg = load_config(GeneratorTrainConfig, args.config, args.overrides)
    path = train_generator(cfg, resume=not args.no_resume, device=args.device)
    print(f"generator written to {path}.safetensors (+ .json); loss curve in {cfg.out_dir}/loss.png")
