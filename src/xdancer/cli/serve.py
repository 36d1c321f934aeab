"""``xdancer serve``: the local web page."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(add_command) -> None:
    p = add_command("serve", help="Start the local web page (upload a photo and a song, get a video).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this computer only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--work-dir", type=Path, default=Path("xdancer_web"), help="folder for uploads and results")
    p.add_argument("--max-seconds", type=float, default=120.0, help="longest dance a visitor may ask for")
    p.add_argument("--max-upload-mb", type=float, default=50.0, help="largest song upload (photos: 20 MB)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import uvicorn

    from xdancer.errors import InputError
    from xdancer.web.app import ServeConfig, create_app

    if not (1 <= args.port <= 65535):
        raise InputError(f"port must be between 1 and 65535, got {args.port}")
    config = ServeConfig(work_dir=args.work_dir, max_music_mb=args.max_upload_mb, max_seconds=args.max_seconds)
    print(f"xdancer: open http://{args.host}:{args.port}/ in a browser (Ctrl-C stops)")
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")
