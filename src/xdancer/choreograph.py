"""Music -> dance: the motion GPT writes pose tokens, the pose tokenizer turns them into poses.

    from xdancer.music.features import music_features
    from xdancer.choreograph import choreograph
    poses = choreograph(music_features("song.mp3"), seconds=20, seed=1)   # PoseSequence, 30 fps

With a ``reference_pose`` (the photo's pose) the dance starts from that pose and lives in the
photo's pixel frame; without one it starts from a pose of the model's choosing, centred in a
512 x 896 canvas. :class:`Choreographer` keeps the two models loaded for many dances.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from xdancer.constants import CANVAS_HEIGHT, CANVAS_WIDTH, POSE_FPS, SAMPLING_TEMPERATURE
from xdancer.errors import InputError
from xdancer.music.features import MusicFeatures
from xdancer.pose.sequence import PoseSequence

# Classifier-free guidance used when none is asked for, on generators trained with music dropout:
# at the default temperature, the lowest Frechet distance to the validation dances of 1, 2 and 3.5
# (the bundled model card has the numbers).
DEFAULT_GUIDANCE = 3.5


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch CPU threads, then restore the previous number.

    Token-by-token decoding is a long chain of tiny kernels: one thread avoids the synchronisation
    cost of a thread pool (several times slower on a busy 2-core machine).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tokenizer_fingerprint(tokenizer) -> str:
    """A short hash of the tokenizer's weights: the generator records the one it was trained on."""
    h = hashlib.sha256()
    for name, tensor in sorted(tokenizer.model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class Choreographer:
    """The tokenizer and the generator, loaded once (None = the bundled defaults)."""

    def __init__(self, tokenizer_path: str | Path | None = None, generator_path: str | Path | None = None,
                 device: str | torch.device = "cpu") -> None:  # fmt: skip
        from xdancer.generator import load_generator
        from xdancer.tokenizer import load_tokenizer

        self.device = torch.device(device)
        self.tokenizer = load_tokenizer(tokenizer_path, device=self.device)
        self.generator = load_generator(generator_path, device=self.device)
        g, t = self.generator.cfg, self.tokenizer
        mine = (g.codebook_size, g.n_parts, g.tokens_per_part, g.temporal_stride)
        theirs = (t.codebook_size, t.num_parts, t.tokens_per_part, t.temporal_stride)
        if mine != theirs:
            raise InputError(
                f"the generator speaks tokens (codebook, parts, tokens per part, stride) = {mine} but the "
                f"tokenizer makes {theirs}: use the tokenizer the generator was trained with"
            )
        trained_with = getattr(self.generator, "meta", {}).get("tokenizer", {}).get("fingerprint")
        if trained_with is not None and trained_with != tokenizer_fingerprint(self.tokenizer):
            warnings.warn(
                "the tokenizer is not the one the generator was trained with (its weights differ): the dances "
                "will be garbled; retrain the generator with `xdancer train generator`",
                stacklevel=2,
            )

    def __call__(
        self,
        music: MusicFeatures,
        *,
        reference_pose: PoseSequence | None = None,
        seconds: float | None = None,
        seed: int = 0,
        temperature: float = SAMPLING_TEMPERATURE,
        top_k: int | None = None,
        top_p: float | None = None,
        guidance: float | None = None,
        progress: bool = True,
    ) -> PoseSequence:
        from xdancer.generator import SamplingConfig, generate
        from xdancer.generator.sampling import check_guidance
        from xdancer.pose.normalize import sequence_transform

        cfg = self.generator.cfg
        # 1. Check inputs.
        if guidance is None:
            guidance = DEFAULT_GUIDANCE if cfg.null_music else 1.0
        try:
            sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p, seed=int(seed),
                                      guidance=guidance)  # fmt: skip
            check_guidance(cfg, guidance)
        except ValueError as e:
            raise InputError(str(e)) from None
        n_pose = _dance_frames(music, seconds)
        if music.features.shape[1] != cfg.music_dim or music.global_context.size != cfg.global_dim:
            raise InputError(
                f"the generator was trained on {cfg.music_dim}-d frame features and a {cfg.global_dim}-d "
                f"track summary; these features are {music.features.shape[1]}-d and {music.global_context.size}-d "
                "(extract them with xdancer.music.features.music_features and the default encoder)"
            )
        S = cfg.temporal_stride
        n_tok = math.ceil(n_pose / S)

        # 2. The reference pose: its tokens start the dance, its body frame places the dance in pixels.
        prompt, transform, frame_size = None, None, (CANVAS_WIDTH, CANVAS_HEIGHT)
        if reference_pose is not None:
            first = reference_pose.keypoints[:1]
            if not (first[..., 2] > 0).any():
                raise InputError("the reference pose has no visible keypoint")
            still = PoseSequence(np.repeat(first, S, axis=0), POSE_FPS, reference_pose.frame_size)
            prompt = self.tokenizer.encode_sequence(still)[None, :1].to(self.device)  # (1, 1, P, K)
            transform = sequence_transform(first)
            frame_size = reference_pose.frame_size

        # 3. Tokens, window by window (music of the whole track, so the edges hear what follows).
        feats = torch.from_numpy(np.ascontiguousarray(music.features)).to(self.device)[None]  # (1, T, D)
        glob = torch.from_numpy(np.ascontiguousarray(music.global_context)).to(self.device)[None]  # (1, G)
        with torch_threads(1) if self.device.type == "cpu" else contextlib.nullcontext():
            tokens = generate(self.generator, n_tok, feats, glob, prompt=prompt, sampling=sampling, progress=progress)
            seq = self.tokenizer.decode_sequence(tokens[0], POSE_FPS, frame_size, transform)
        seq = seq.slice(0, n_pose)
        seq.meta = {
            "source": "xdancer.choreograph", "seed": int(seed), "temperature": temperature, "top_k": top_k,
            "top_p": top_p, "guidance": guidance, "tempo_bpm": float(music.tempo_bpm), "reference_pose": reference_pose is not None,
        }  # fmt: skip
        return seq


def _dance_frames(music: MusicFeatures, seconds: float | None) -> int:
    if abs(music.fps - POSE_FPS) > 1e-6:
        raise InputError(f"music features must be at {POSE_FPS} fps (the pose rate), got {music.fps}")
    if len(music) < 2:
        raise InputError("the music is too short to dance to")
    if seconds is None:
        return len(music)
    if not seconds > 0 or not math.isfinite(seconds):
        raise InputError(f"seconds must be a positive number, got {seconds}")
    frames = round(seconds * POSE_FPS)
    if frames > len(music):
        raise InputError(f"asked for {seconds:g} s of dance but the music lasts {len(music) / POSE_FPS:.1f} s")
    return max(frames, 1)


@functools.lru_cache(maxsize=2)
def _default_choreographer(device: str) -> Choreographer:
    return Choreographer(device=device)


def choreograph(
    music: MusicFeatures,
    *,
    reference_pose: PoseSequence | None = None,
    seconds: float | None = None,
    seed: int = 0,
    temperature: float = SAMPLING_TEMPERATURE,
    top_k: int | None = None,
    top_p: float | None = None,
    guidance: float | None = None,
    progress: bool = True,
) -> PoseSequence:
    """A dance (30 fps PoseSequence) to ``music`` by the bundled models.

    reference_pose: the photo's pose (T >= 1, its first frame is used): the dance starts from it and
        is placed in its pixel frame (``frame_size`` of the reference); otherwise a 512 x 896 canvas.
    seconds: dance length (default: the whole music). seed, temperature, top_k, top_p: sampling.
    guidance: classifier-free guidance on the music (1 = none; needs a model trained with music
        dropout); None = :data:`DEFAULT_GUIDANCE` for such models, else 1.
    """
    return _default_choreographer("cpu")(
        music, reference_pose=reference_pose, seconds=seconds, seed=seed, temperature=temperature,
        top_k=top_k, top_p=top_p, guidance=guidance, progress=progress,
    )  # fmt: skip
