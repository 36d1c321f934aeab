"""``xdancer train renderer``: train the diffusion renderer on videos of people (two stages), or
fine-tune a trained one on one video of a person (``--per-person``)."""

from __future__ import annotations


def register(add_command) -> None:
    p = add_command(
        "train",
        "renderer",
        help="train the diffusion renderer on a folder of videos of people (or one video)",
    )
    p.add_argument(
        "--config",
        default=None,
        help="YAML config (configs/render/diffusion_debug.yaml or diffusion_sd15.yaml)",
    )
    p.add_argument("--videos", required=True, metavar="DIR|FILE", help="a folder of videos, or one video")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set stage1_steps=2000 --set model.guider=pose_image")  # fmt: skip
    p.add_argument("--per-person", metavar="CKPT", default=None,
                   help="fine-tune this trained renderer on the one video given by --videos")  # fmt: skip
    p.add_argument("--no-resume", action="store_true", help="start afresh even if OUT_DIR/last exists")
    p.add_argument("--device", default=None, help="torch device (default: CUDA if available, else CPU)")
    p.set_defaults(func=run)


def run(args) -> None:
    from xdancer.config import load_config
    from xdancer.train.renderer import RendererTrainConfig, train_renderer
    from xdancer.train.renderer_data import list_videos

    overrides = list(args.overrides)
    if args.per_person is not None:
        overrides += ["mode=per_person", f"init_from={args.per_person}"]
    cfg = load_config(RendererTrainConfig, args.config, overrides)
    path = train_renderer(cfg, list_videos(args.videos), resume=not args.no_resume, device=args.device)
    print(f"renderer written to {path}.safetensors (+ .json); loss curves in {cfg.out_dir}/loss.png")
