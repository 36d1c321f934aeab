"""Side-by-side pictures of the warp renderer for docs/images: driving skeleton | rendered frame.

    python docs/render_gallery.py [--video ../shared/data/videos/animatex_dance_1.mp4]

For each photo in ../shared/data/images and the bundled demo photo (scikit-image's astronaut, cut at
the waist), the dance detected in the video drives the photo; four frames are shown, each as the
driving skeleton (fitted to the frame) beside the rendered frame.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(SHARED / "videos" / "animatex_dance_1.mp4"))
    parser.add_argument("--frames", type=int, nargs="+", default=[20, 60, 110, 170])
    args = parser.parse_args()

    from xdancer.demo import demo_photo
    from xdancer.image_io import load_image, save_image
    from xdancer.pose.detect import detect_image, detect_video
    from xdancer.pose.draw import draw_pose
    from xdancer.render.skeleton import fit_to_frame
    from xdancer.render.warp import WarpRenderer

    dance = detect_video(args.video)
    renderer = WarpRenderer()
    photos = [(path.stem, load_image(path)) for path in sorted((SHARED / "images").iterdir())]
    for name, image in photos + [("astronaut", demo_photo())]:
        prep = renderer.prepare(image, detect_image(image), height=512)
        w, h = prep.size
        skeletons = fit_to_frame(dance, (w, h))
        wanted = set(args.frames)
        panels = []
        for t, frame in enumerate(renderer.frames(prep, dance)):
            if t in wanted:
                panels.append(np.hstack([draw_pose(np.zeros((h, w, 3), np.uint8), skeletons[t]), frame]))
            if t >= max(wanted):
                break
        out = ROOT / "docs" / "images" / f"render_{name}.png"
        save_image(out, np.hstack(panels))
        print(out)


if __name__ == "__main__":
    main()
