"""Generated dances to evaluate: the motion model dances to the music of a dataset's clips.

For each chosen clip with music, the motion model writes a dance as long as the clip, starting from
the clip's first pose (X-Dancer starts from the reference photo's pose), into ``<out>/<clip id>.npz``
with the clip's music features beside it (``<clip id>.music.npz``): the folder layout
:func:`xdancer.eval.run.evaluate_motion` reads. Seeds: clip k (in name order) uses ``seed + k``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from xdancer.constants import SAMPLING_TEMPERATURE
from xdancer.errors import InputError
from xdancer.eval.run import MUSIC_SUFFIX, MotionEvalConfig, choose, load_motion_set
from xdancer.pose.sequence import PoseSequence


def choreograph_dataset(
    dataset: str | Path,
    out_dir: str | Path,
    config: MotionEvalConfig | None = None,
    temperature: float = SAMPLING_TEMPERATURE,
    top_k: int | None = None,
    top_p: float | None = None,
    progress: bool = True,
    tokenizer: str | Path | None = None,
    generator: str | Path | None = None,
    choreographer: Callable[..., PoseSequence] | None = None,
) -> list[Path]:
    """Dance to the music of the clips of ``config.split`` (at most ``max_sequences``, cut to
    ``seconds``, as the evaluation chooses them); returns the pose files written.

    The models: ``tokenizer`` / ``generator`` checkpoints (None = the bundled ones), loaded once; or
    any ``choreographer`` called like :func:`xdancer.choreograph.choreograph`.
    """
    from xdancer.data.dataset import DanceDataset

    if choreographer is None:
        from xdancer.choreograph import Choreographer

        choreographer = Choreographer(tokenizer, generator)
    config = config or MotionEvalConfig()
    ds = DanceDataset(dataset)
    items = [
        it for it in choose(load_motion_set(dataset, config.split), config) if it.music_beats is not None
    ]
    if not items:
        raise InputError(f"no clips with music in {dataset} (split {config.split!r})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for k, item in enumerate(tqdm(items, desc="choreographing", unit="dance", disable=not progress)):
        music = ds.load(item.name).music
        frames = len(item.poses)
        music = music.slice(0, frames)
        dance = choreographer(
            music,
            reference_pose=item.poses.slice(0, 1),
            seconds=frames / item.poses.fps,
            seed=config.seed + k,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            progress=False,
        )
        dance.meta = {**dance.meta, "music_of": item.name, "seed": config.seed + k}
        written.append(dance.save(out / f"{item.name}.npz"))
        music.save(out / f"{item.name}{MUSIC_SUFFIX}")
    return written
