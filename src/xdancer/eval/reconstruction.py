"""Pose tokenizer quality: reconstruction error per body part and codebook usage.

Pure functions on arrays (:func:`part_errors`, :func:`codebook_usage`) plus one runner
(:func:`evaluate_tokenizer`) that encodes and decodes the clips of a dataset split.

Error: the mean confidence-weighted L1 error of the x and y coordinates (mean absolute error per
coordinate, weighted by the target's confidence, so unseen points count for nothing), in pixels of a
frame 512 pixels tall: each clip's error in pixels of its own frame is scaled by 512 / frame height.
This mirrors X-Dancer's ablation table (pose L1 for full body, head and hands).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xdancer.pose.skeleton import PART_NAMES, PARTS

REFERENCE_HEIGHT = 512
WHOLE_BODY = "whole_body"
ROWS = (*PART_NAMES, WHOLE_BODY)
ROW_TITLES = {"upper_body": "upper body", "lower_body": "lower body", "head": "head",
              "left_hand": "left hand", "right_hand": "right hand", WHOLE_BODY: "whole body"}  # fmt: skip


@dataclass
class PartError:
    """Weighted sums, so errors of many batches combine exactly: error = abs_sum / weight."""

    abs_sum: float = 0.0
    weight: float = 0.0

    @property
    def error(self) -> float:
        return self.abs_sum / self.weight if self.weight > 0 else float("nan")


def part_error_sums(target: np.ndarray, recon: np.ndarray, px_per_unit: np.ndarray) -> dict[str, PartError]:
    """Per-part weighted L1 sums.

    target, recon: (N, T, 134, >=2) coordinates in normalised units (target[..., 2] = confidence).
    px_per_unit: (N,) pixels of a 512-tall frame per normalised unit, per sequence.
    """
    target = np.asarray(target, dtype=np.float64)
    recon = np.asarray(recon, dtype=np.float64)
    if target.shape[:-1] != recon.shape[:-1] or target.shape[-1] < 3 or recon.shape[-1] < 2:
        raise ValueError(
            f"target (N, T, 134, 3) and recon (N, T, 134, >=2) disagree: {target.shape} vs {recon.shape}"
        )
    scale = np.asarray(px_per_unit, dtype=np.float64).reshape(-1, 1, 1)
    conf = target[..., 2]
    err = np.abs(recon[..., :2] - target[..., :2]).mean(-1) * scale * conf  # (N, T, 134)
    out = {}
    for name, idx in PARTS.items():
        out[name] = PartError(float(err[..., list(idx)].sum()), float(conf[..., list(idx)].sum()))
    out[WHOLE_BODY] = PartError(float(err.sum()), float(conf.sum()))
    return out


def part_errors(target: np.ndarray, recon: np.ndarray, px_per_unit: np.ndarray) -> dict[str, float]:
    """Per-part (and whole-body) mean confidence-weighted L1 error in pixels of a 512-tall frame.

    NaN for a part whose target confidence is 0 everywhere (nothing to measure).
    """
    return {k: v.error for k, v in part_error_sums(target, recon, px_per_unit).items()}


def codebook_usage(
    tokens: np.ndarray, codebook_size: int, shared: bool = False
) -> dict[str, tuple[float, float]]:
    """Per part: (perplexity of the token distribution, fraction of the codebook used).

    tokens: (N, T', P, K) ints. Each of a part's K codebooks is measured on its own and the K
    results averaged. WHOLE_BODY: with ``shared`` (one codebook for every token, the single-codebook
    model) that codebook measured over all tokens; otherwise the mean over the P x K codebooks.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 4 or tokens.shape[2] != len(PART_NAMES):
        raise ValueError(f"tokens must be (N, T', {len(PART_NAMES)}, K), got {tokens.shape}")

    def usage(ids: np.ndarray) -> tuple[float, float]:
        counts = np.bincount(ids.reshape(-1), minlength=codebook_size).astype(np.float64)
        if counts.sum() == 0:
            return float("nan"), float("nan")
        p = counts / counts.sum()
        nz = p[p > 0]
        return float(np.exp(-(nz * np.log(nz)).sum())), float((counts > 0).mean())

    out = {}
    for i, name in enumerate(PART_NAMES):
        per_k = [usage(tokens[:, :, i, k]) for k in range(tokens.shape[3])]
        out[name] = (float(np.mean([u[0] for u in per_k])), float(np.mean([u[1] for u in per_k])))
    if shared:
        out[WHOLE_BODY] = usage(tokens)
    else:
        per = [usage(tokens[:, :, p, k]) for p in range(tokens.shape[2]) for k in range(tokens.shape[3])]
        out[WHOLE_BODY] = (float(np.mean([u[0] for u in per])), float(np.mean([u[1] for u in per])))
    return out


@dataclass
class ReconstructionReport:
    """errors: row -> px error; usage: row -> (perplexity, fraction used); plus what was measured.
    weights: row -> the summed target confidence behind its error, so that reports on different
    clips pool exactly (:func:`pooled_errors`)."""

    errors: dict[str, float]
    usage: dict[str, tuple[float, float]]
    clips: int
    frames: int
    variant: str = ""
    weights: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, float, float, float]]:
        return [(ROW_TITLES[r], self.errors[r], *self.usage[r]) for r in ROWS]

    def to_dict(self) -> dict:
        return {"errors": self.errors, "usage": {k: list(v) for k, v in self.usage.items()},
                "clips": self.clips, "frames": self.frames, "variant": self.variant,
                "weights": self.weights}  # fmt: skip


def pooled_errors(reports: list[ReconstructionReport]) -> dict[str, float]:
    """Per row, the error over all the reports' clips together (each report weighted by its
    confidence sum, as if they had been one evaluation)."""
    out = {}
    for r in ROWS:
        w = sum(rep.weights.get(r, 0.0) for rep in reports)
        s = sum(rep.errors[r] * rep.weights.get(r, 0.0) for rep in reports if rep.weights.get(r, 0.0) > 0)
        out[r] = s / w if w > 0 else float("nan")
    return out


def evaluate_tokenizer(tokenizer, dataset_root: str, split: str = "val", window: int = 240,
                       max_clips: int | None = None, progress: bool = True,
                       source: str | None = None) -> ReconstructionReport:  # fmt: skip
    """Encode + decode every clip of ``split`` in windows of ``window`` frames (a multiple of the
    stride); report per-part errors and codebook usage. ``tokenizer``: a :class:`PoseTokenizer`;
    ``source``: only clips of this importer (e.g. "videos", the clips that show hands and faces)."""
    import torch

    from xdancer.data.dataset import DanceDataset
    from xdancer.errors import InputError
    from xdancer.pose.normalize import normalize
    from xdancer.train.common import progress as bar

    if window < 1 or window % tokenizer.temporal_stride:
        raise InputError(
            f"window ({window}) must be a positive multiple of the temporal stride ({tokenizer.temporal_stride})"
        )
    ds = DanceDataset(dataset_root)
    infos = [c for c in ds.split(split) if source is None or c.source == source]
    infos = infos[:max_clips] if max_clips else infos
    if not infos:
        raise InputError(
            f"dataset {dataset_root} has no {split!r} clips" + (f" from source {source!r}" if source else "")
        )
    sums = {r: PartError() for r in ROWS}
    tokens_all, frames = [], 0
    for info in bar(infos, desc=f"eval {split}", enabled=progress):
        seq = ds.load(info.id).poses
        norm, transform = normalize(seq.keypoints)
        n = (len(norm) // tokenizer.temporal_stride) * tokenizer.temporal_stride
        if n == 0:
            continue
        px = transform.scale * REFERENCE_HEIGHT / seq.frame_size[1]
        for start in range(0, n, window):
            chunk = norm[start : min(start + window, n)][None]  # (1, T, 134, 3)
            with torch.no_grad():
                toks = tokenizer.encode(chunk)
                recon = tokenizer.decode(toks).float().cpu().numpy()
            for r, s in part_error_sums(chunk, recon, np.array([px])).items():
                sums[r].abs_sum += s.abs_sum
                sums[r].weight += s.weight
            tokens_all.append(toks.cpu().numpy().reshape(-1, 1, *toks.shape[2:]))
            frames += chunk.shape[1]
    shared = tokenizer.config.variant == "single_codebook"
    usage = codebook_usage(np.concatenate(tokens_all, axis=0), tokenizer.codebook_size, shared=shared)
    return ReconstructionReport({r: s.error for r, s in sums.items()}, usage, len(infos), frames,
                                tokenizer.config.variant, {r: s.weight for r, s in sums.items()})  # fmt: skip


def comparison_table(reports: dict[str, ReconstructionReport], title: str = ""):
    """A rich Table: one row per part (and whole body); per model its error, perplexity and codes used."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("part")
    for name in reports:
        table.add_column(f"{name}\nL1 px", justify="right")
        table.add_column("ppl", justify="right")
        table.add_column("used", justify="right")
    for row in ROWS:
        cells = [ROW_TITLES[row]]
        for r in reports.values():
            ppl, used = r.usage[row]
            cells += [_fmt(r.errors[row]), _fmt(ppl, 1), _fmt(100 * used, 1, "%")]
        table.add_row(*cells)
    return table


def markdown_table(reports: dict[str, ReconstructionReport]) -> str:
    """The same comparison as a Markdown table (for model cards)."""
    header = ["part"]
    for name in reports:
        header += [f"{name} L1 px", f"{name} perplexity", f"{name} codes used"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in ROWS:
        cells = [ROW_TITLES[row]]
        for r in reports.values():
            ppl, used = r.usage[row]
            cells += [_fmt(r.errors[row]), _fmt(ppl, 1), _fmt(100 * used, 1, "%")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(v: float, digits: int = 2, suffix: str = "") -> str:
    return "n/a (no data)" if not np.isfinite(v) else f"{v:.{digits}f}{suffix}"
