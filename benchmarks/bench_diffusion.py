"""Diffusion renderer speed on the CPU: seconds per output frame of the tiny model (random weights:
speed does not depend on them) for a 2-second dance at 64 x 64, with 20 DDIM steps, 16-frame windows
overlapping by 4, without and with classifier-free guidance; and the parameter counts of the tiny and
SD-1.5-size networks (SD-1.5-size speed needs a GPU and is not measured here).

    python benchmarks/bench_diffusion.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import median_time, peak_rss_mb, record  # noqa: E402


def main() -> None:
    import torch

    from xdancer.pose.sequence import PoseSequence
    from xdancer.render.diffusion.config import DiffusionRendererConfig
    from xdancer.render.diffusion.model import DiffusionRendererModel
    from xdancer.render.diffusion.pipeline import DiffusionRenderer
    from xdancer.render.diffusion.vae import build_vae

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = DiffusionRendererConfig.tiny(guider="pose_image", num_inference_steps=20)
    model, vae = DiffusionRendererModel(cfg), build_vae(cfg)
    rng = np.random.default_rng(0)
    frames, fps = 60, 30.0
    kps = np.concatenate([rng.uniform(8, 56, (frames, 134, 2)), np.ones((frames, 134, 1))], axis=2).astype(
        np.float32
    )
    poses = PoseSequence(kps, fps, (64, 64))
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    rows = []
    for scale in (1.0, 2.0):
        r = DiffusionRenderer(model, vae, guidance_scale=scale, progress=False)
        t = median_time(
            lambda r=r: sum(1 for _ in r.render(image, poses.slice(0, 1), poses, height=64)),
            repeats=1,
            warmup=0,
        )
        rows.append(
            [
                f"tiny, guidance {scale:g}",
                "64 x 64",
                frames,
                f"{t:.1f}",
                f"{t / frames:.3f}",
                f"{t / (frames / fps):.1f}",
            ]
        )

    def millions(m) -> str:
        return f"{sum(p.numel() for p in m.parameters()) / 1e6:.1f} M"

    sd = DiffusionRendererConfig.sd15()
    with torch.device("meta"):
        sd_model = DiffusionRendererModel(sd)
    notes = (
        f"Parameters: tiny {millions(model)} (+ VAE {millions(vae)}); SD-1.5 size {millions(sd_model)} "
        f"(UNet + ReferenceNet + temporal modules + motion decoder; + the SD VAE's 83.7 M). One CPU thread, "
        f"peak memory {peak_rss_mb():.0f} MiB. Random weights: the speed of a trained model is the same."
    )
    record("Diffusion renderer (CPU, tiny model)", ["model", "size", "frames", "seconds", "s / frame", "s / output second"],
           rows, notes)  # fmt: skip


if __name__ == "__main__":
    main()
