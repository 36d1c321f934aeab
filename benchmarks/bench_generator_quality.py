"""Motion generator quality on the validation dances: BAS, DIV_k, FID_k and paired_k (2D kinetic features).

    python -m benchmarks.bench_generator_quality [--dataset work/dataset] [--seconds 40] [--repeats 3] [--out outputs/generator_eval]

For every validation clip with music (its first ``--seconds``), five sets of dances are compared
with xdancer.eval (Bailando's BAS, kinetic-feature diversity and Frechet distance, and the paired
distance of each dance to the real dance of its clip):

- real: the validation dances themselves (the same clips, cut to the same length: the reference of
  every DIV_k and FID_k below, and the z-normalisation of the kinetic features);
- generated: the model dancing to the clip's music, from the clip's first pose;
- other song: the model dancing to another validation song's music (a different dance), scored
  against the clip's own music and the clip's own real dance: if the music matters, BAS drops and
  paired_k rises. Every validation song is some clip's other song, so this set dances the same music
  as the generated one, handed to other clips: FID_k and DIV_k, which compare sets, can tell the two
  apart only by chance or through the start poses; paired_k can;
- retrieval: the real training segment whose music is nearest to the clip's (z-normalised frame
  features, mean squared distance over the segment, starts every 10 frames) played as it is;
- tokenizer round trip: the real dance encoded and decoded by the pose tokenizer, which is what a
  generator that wrote exactly the real dances' tokens would score.

The two sampled sets are drawn ``--repeats`` times with different seeds and reported as the mean and
standard deviation over those draws: with 15 dances a set, FID_k moves by up to 20 % from one draw
to the next, as much as between neighbouring sampling settings.

Writes the dances and metrics.json under ``--out`` and the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import record
from xdancer.constants import POSE_FPS, SAMPLING_TEMPERATURE
from xdancer.data.dataset import DanceDataset
from xdancer.eval.run import MUSIC_SUFFIX, MotionEvalConfig, evaluate_motion
from xdancer.pose.normalize import sequence_transform
from xdancer.pose.sequence import PoseSequence

RETRIEVAL_STEP = 10  # frames between candidate segment starts
SEED_STRIDE = 100  # draw r dances clip k with seed SEED + SEED_STRIDE * r + k
SAMPLED = ("generated", "other_song")


def retrieve(query: np.ndarray, library: list[tuple[np.ndarray, PoseSequence]], mean, std) -> PoseSequence:
    """The library segment (same length as ``query`` (T, D)) whose music is nearest to it."""
    T = len(query)
    q = (query - mean) / std
    best, best_d = None, np.inf
    for music, poses in library:
        m = (music - mean) / std
        for s in range(0, len(m) - T + 1, RETRIEVAL_STEP):
            d = float(np.mean((m[s : s + T] - q) ** 2))
            if d < best_d:
                best, best_d = poses.slice(s, s + T), d
    if best is None:
        raise ValueError("no training clip is long enough for retrieval")
    return best


def round_trip(tokenizer, poses: PoseSequence) -> PoseSequence:
    """The dance as the tokenizer gives it back: encode, decode, in the dance's own pixel frame."""
    tokens = tokenizer.encode_sequence(poses)
    back = tokenizer.decode_sequence(tokens, poses.fps, poses.frame_size, transform=sequence_transform(poses.keypoints))
    return back.slice(0, len(poses))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="work/dataset")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--out", default="outputs/generator_eval")
    ap.add_argument("--generator", default=None, help="generator checkpoint (default: the bundled one)")
    ap.add_argument("--tokenizer", default=None, help="tokenizer checkpoint (default: the bundled one)")
    ap.add_argument("--temperature", type=float, default=SAMPLING_TEMPERATURE)
    ap.add_argument("--top-k", type=int, default=None)
    ap.add_argument("--top-p", type=float, default=None)
    ap.add_argument("--guidance", type=float, default=None, help="classifier-free guidance (default: the model's)")
    ap.add_argument("--seed", type=int, default=0, help=f"clip k is danced with seed SEED + {SEED_STRIDE} * r + k")
    ap.add_argument("--repeats", type=int, default=3, help="draws of the sampled sets, each with its own seeds")
    args = ap.parse_args()
    if not 1 <= args.repeats <= 10:
        ap.error("--repeats must lie in 1..10")
    seeds = [args.seed + SEED_STRIDE * r for r in range(args.repeats)]

    from xdancer.choreograph import DEFAULT_GUIDANCE, Choreographer

    chor = Choreographer(args.tokenizer, args.generator)
    ds = DanceDataset(args.dataset)
    frames = int(round(args.seconds * POSE_FPS))
    val = [ds.load(c.id) for c in ds.split("val") if c.has_music and c.frames >= frames]
    train = [ds.load(c.id) for c in ds.split("train") if c.has_music and c.frames >= frames]
    library = [(c.music.features, c.poses) for c in train]
    allm = np.concatenate([m for m, _ in library])
    mean, std = allm.mean(0), allm.std(0) + 1e-6
    out = Path(args.out)
    dirs = {name: out / name for name in ("real", "retrieval", "round_trip")}
    dirs |= {f"{name}/seed{s}": out / name / f"seed{s}" for name in SAMPLED for s in seeds}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)

    for k, clip in enumerate(val):
        music = clip.music.slice(0, frames)
        ref = clip.poses.slice(0, 1)
        real_dance = clip.poses.slice(0, frames)
        # another song: the next validation clip from a different dance (group)
        other = next(val[(k + j) % len(val)] for j in range(1, len(val) + 1)
                     if val[(k + j) % len(val)].info.group != clip.info.group)  # fmt: skip
        sets = {
            "real": real_dance,
            "retrieval": retrieve(music.features, library, mean, std),
            "round_trip": round_trip(chor.tokenizer, real_dance),
        }
        sampling = dict(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, guidance=args.guidance)
        for s in seeds:
            for name, song in (("generated", music), ("other_song", other.music.slice(0, frames))):
                sets[f"{name}/seed{s}"] = chor(song, reference_pose=ref, seed=s + k, progress=False, **sampling)
        for name, dance in sets.items():
            dance.save(dirs[name] / f"{clip.info.id}.npz")
            music.save(dirs[name] / f"{clip.info.id}{MUSIC_SUFFIX}")  # scored against the clip's own music
        print(f"{clip.info.id}: done ({k + 1}/{len(val)})")

    cfg = MotionEvalConfig(seconds=args.seconds)
    # Every set against exactly these clips: the split's other clips (motion capture without music,
    # dances shorter than --seconds) are not what the generator was asked to dance.
    results = {
        name: evaluate_motion(d, dirs["real"], cfg, progress=False) for name, d in dirs.items() if name != "real"
    }
    (out / "metrics.json").write_text(json.dumps({k: {"generated": v["generated"], "real": v["real"]}
                                                  for k, v in results.items()}, indent=2, default=str))  # fmt: skip
    real = results["round_trip"]["real"]

    def f(values: list) -> str:
        """One value as it is; several as mean +- standard deviation over the draws."""
        if any(v is None for v in values):
            return "-"
        if len(values) == 1:
            return f"{values[0]:.3f}"
        return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"

    rows = [["real validation dances", len(val), f([real["bas"]]), f([real["bas_chance"]]), f([real["div_k"]]), "-", "-"]]
    labels = {"generated": "generated (own music)", "other_song": "(b) generated to another song",
              "retrieval": "(c) retrieval of nearest training segment",
              "round_trip": "(d) real dances through the tokenizer (encode + decode)"}  # fmt: skip
    for name, label in labels.items():
        keys = [f"{name}/seed{s}" for s in seeds] if name in SAMPLED else [name]
        draws = [results[key]["generated"] for key in keys]
        metrics = [f([g[m] for g in draws]) for m in ("bas", "bas_chance", "div_k", "fid_k", "paired_k")]
        rows.append([label, draws[0]["n_sequences"], *metrics])
    guidance = args.guidance
    if guidance is None:  # what Choreographer uses when asked for none
        guidance = DEFAULT_GUIDANCE if chor.generator.cfg.null_music else 1.0
    notes = (
        f"{len(val)} validation clips of {args.dataset} with music, first {args.seconds:g} s each; "
        f"sampling temperature {args.temperature}, top-k {args.top_k}, top-p {args.top_p}, guidance {guidance}; "
        f"sampled sets drawn {args.repeats} times (seeds {', '.join(f'{s}..{s + len(val) - 1}' for s in seeds)}), "
        "given as mean ± standard deviation over the draws. "
        "BAS: Bailando's score (sigma 50 ms), bas_chance: the same against beats shifted over one beat period. "
        "DIV_k / FID_k: kinetic features z-normalised with the real set's statistics; paired_k: mean distance, in "
        "that space, of each dance to the real dance of its clip. All scored against the clip's own music and dance."
    )
    record("Motion generator quality", ["dances", "n", "BAS", "BAS chance", "DIV_k", "FID_k", "paired_k"], rows, notes)


if __name__ == "__main__":
    main()
