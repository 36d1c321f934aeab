"""The motion metrics of X-Dancer and its peers, as pure functions on arrays.

- BAS (beat alignment score, Bailando): :func:`beat_align_score`, :func:`sequence_beat_align_score`,
  and its chance level for the music's tempo, :func:`beat_align_chance`.
- DIV / Div_k / Div_g: :func:`diversity` (mean pairwise Euclidean distance of feature vectors).
- FID_k / FID_g: :func:`fid_k`, :func:`fid_g` on the features of
  :func:`xdancer.eval.motion_features.kinetic_features` / ``geometric_features``, through
  :func:`frechet_distance`, whose matrix square root is computed on a symmetric positive
  semi-definite matrix (no complex parts, no failure on singular covariances).
- Foot skating in 2D, a stand-in for EDGE's PFC: :func:`foot_skating`.

Units. Beat times are seconds unless ``fps`` is given, in which case they are frame indices at that
frame rate (frame f is at time f / fps). Sigma is always in seconds: Bailando's 3 frames at 60 fps are
0.05 s, i.e. 1.5 frames at 30 fps.
"""

from __future__ import annotations

import numpy as np

from xdancer.eval.motion_features import CONF_THRESHOLD, DANCE_BEAT_SMOOTH_SECONDS, dance_beats, foot_contacts

BAS_SIGMA_SECONDS = 0.05


def beat_align_score(
    music_beats: np.ndarray,
    dance_beats: np.ndarray,
    sigma: float = BAS_SIGMA_SECONDS,
    fps: float | None = None,
) -> float:
    """Bailando's beat alignment score: mean over music beats b of exp(-min_d (d - b)^2 / (2 sigma^2)),
    d over the dance beats. In [0, 1]; 0 when there are no dance beats.

    ``music_beats`` and ``dance_beats`` share one unit: seconds (``fps=None``) or frames at ``fps``.
    ``sigma`` is in seconds (default 50 ms = Bailando's 3 frames at 60 fps).
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive (seconds), got {sigma}")
    music = np.asarray(music_beats, dtype=np.float64).reshape(-1)
    dance = np.asarray(dance_beats, dtype=np.float64).reshape(-1)
    if fps is not None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        music, dance = music / fps, dance / fps
    if music.size == 0:
        raise ValueError("no music beats: the beat alignment score is undefined")
    if dance.size == 0:
        return 0.0
    nearest = np.abs(music[:, None] - dance[None, :]).min(axis=1)
    return float(np.exp(-(nearest**2) / (2.0 * sigma**2)).mean())


def beat_align_chance(
    music_beats: np.ndarray, dance_beats: np.ndarray, sigma: float = BAS_SIGMA_SECONDS, n_phases: int = 16
) -> float:
    """The BAS a dance would get by chance with this music's tempo: the mean BAS against the music
    beats shifted by k / n_phases of the median beat period, k = 0 .. n_phases - 1 (a sweep over the
    beat phase, deterministic). A BAS well above this means the dance follows the beat's phase, not
    just its density. Beat times in seconds; NaN with fewer than 2 music beats."""
    music = np.sort(np.asarray(music_beats, dtype=np.float64).reshape(-1))
    if music.size < 2:
        return float("nan")
    period = float(np.median(np.diff(music)))
    shifts = np.arange(n_phases) / n_phases * period
    return float(np.mean([beat_align_score(music + s, dance_beats, sigma=sigma) for s in shifts]))


def sequence_beat_align_score(
    keypoints: np.ndarray,
    fps: float,
    music_beat_times: np.ndarray,
    sigma: float = BAS_SIGMA_SECONDS,
    smooth_seconds: float = DANCE_BEAT_SMOOTH_SECONDS,
    conf_threshold: float = CONF_THRESHOLD,
) -> float:
    """BAS of one pose sequence (T, J, 3) against music beat times (s) on the same clock.

    Only the music beats inside the dance, [0, T / fps), count.
    """
    music = np.asarray(music_beat_times, dtype=np.float64).reshape(-1)
    music = music[(music >= 0) & (music < len(keypoints) / fps)]
    beats = dance_beats(keypoints, fps, sigma_seconds=smooth_seconds, conf_threshold=conf_threshold)
    return beat_align_score(music, beats, sigma=sigma)


def _features(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise ValueError(f"{name} must be (N, D) feature vectors, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contain NaN or infinity")
    return arr


def normalize_features(features: np.ndarray, real_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z-normalise both sets with the real set's per-dimension mean and standard deviation.

    Dimensions that are constant in the real set are only centred (divided by 1, not by ~0 as
    Bailando's ``std + 1e-10`` would, which lets one dead dimension dominate every distance).
    """
    feats, real = _features(features, "features"), _features(real_features, "real features")
    if feats.shape[1] != real.shape[1]:
        raise ValueError(f"feature sizes differ: {feats.shape[1]} vs {real.shape[1]}")
    mean, std = real.mean(axis=0), real.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    return (feats - mean) / std, (real - mean) / std


def diversity(features: np.ndarray, real_features: np.ndarray | None = None) -> float:
    """Mean Euclidean distance over all pairs of the N feature vectors (N, D), after z-normalising
    with the real set's statistics when ``real_features`` is given (Bailando's DIV)."""
    feats = _features(features, "features")
    if real_features is not None:
        feats, _ = normalize_features(feats, real_features)
    n = len(feats)
    if n < 2:
        raise ValueError("diversity needs at least 2 sequences")
    gram = feats @ feats.T
    sq = np.diag(gram)[:, None] + np.diag(gram)[None, :] - 2 * gram
    dist = np.sqrt(np.clip(sq, 0, None))
    return float(dist[np.triu_indices(n, k=1)].mean())


def paired_distance(features: np.ndarray, real_features: np.ndarray) -> float:
    """Mean Euclidean distance between row i of ``features`` (N, D) and row i of ``real_features``
    (N, D), the real dance the same music was danced to, after z-normalising both with the real
    set's statistics.

    FID and DIV compare sets, so they cannot tell a model that gives every song its own dance from
    one that hands the same dances to the songs in another order; this can: if the music matters,
    dances made to their own clip's music lie nearer their clip's real dance than dances made to
    another clip's music.
    """
    feats, real = _features(features, "features"), _features(real_features, "real features")
    if feats.shape != real.shape:
        raise ValueError(f"paired sets must have the same shape, got {feats.shape} and {real.shape}")
    if len(feats) < 2:
        raise ValueError("paired distance needs at least 2 pairs (the normalisation needs a spread)")
    feats, real = normalize_features(feats, real)
    return float(np.linalg.norm(feats - real, axis=1).mean())


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of N >= 2 feature vectors (N, D)."""
    feats = _features(features, "features")
    if len(feats) < 2:
        raise ValueError("a covariance needs at least 2 feature vectors")
    return feats.mean(axis=0), np.atleast_2d(np.cov(feats, rowvar=False))


def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigen-decomposition, with the
    tiny negative eigenvalues that rounding produces clipped to zero."""
    sym = 0.5 * (matrix + matrix.T)
    w, v = np.linalg.eigh(sym)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2):
    |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2)).

    tr((S1 S2)^(1/2)) = tr((S1^(1/2) S2 S1^(1/2))^(1/2)) (the two matrices are similar), and the
    right-hand matrix is symmetric PSD, so its eigenvalues are real and >= 0 up to rounding: no
    complex square root, no eps retry as in the usual scipy.linalg.sqrtm code.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma {s1.shape}, {s2.shape}")
    root1 = sqrtm_psd(s1)
    middle = root1 @ (0.5 * (s2 + s2.T)) @ root1
    eig = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean
    return float(max(value, 0.0))


def feature_frechet_distance(generated: np.ndarray, real: np.ndarray, normalize: bool = True) -> float:
    """Frechet distance between two feature sets (N, D) and (M, D), z-normalised with the real set's
    statistics first (as Bailando does for FID_k and FID_g) unless ``normalize`` is False."""
    gen, ref = _features(generated, "generated features"), _features(real, "real features")
    if normalize:
        gen, ref = normalize_features(gen, ref)
    return frechet_distance(*gaussian_stats(gen), *gaussian_stats(ref))


def fid_k(generated_kinetic: np.ndarray, real_kinetic: np.ndarray) -> float:
    """FID_k: Frechet distance of kinetic features (N, 3J) vs (M, 3J), see ``kinetic_features``."""
    return feature_frechet_distance(generated_kinetic, real_kinetic)


def fid_g(generated_geometric: np.ndarray, real_geometric: np.ndarray) -> float:
    """FID_g: Frechet distance of geometric features (N, R) vs (M, R), see ``geometric_features``."""
    return feature_frechet_distance(generated_geometric, real_geometric)


def foot_skating(
    keypoints: np.ndarray,
    fps: float,
    contact_tolerance: float = 0.05,
    ground_window_seconds: float = 1.0,
    conf_threshold: float = CONF_THRESHOLD,
) -> float:
    """Foot skating in 2D: the mean horizontal speed (torso lengths per second) of a foot while it
    touches the ground line, over all (frame step, foot) pairs where the foot is in contact at both
    ends of the step. 0 for a planted foot; 0 when no foot ever touches the ground. Lower is better.
    See :func:`xdancer.eval.motion_features.foot_contacts` for the contact rule."""
    contact, foot_x, scale = foot_contacts(
        keypoints, fps, contact_tolerance, ground_window_seconds, conf_threshold
    )
    both = contact[1:] & contact[:-1]  # (T-1, 2)
    if not both.any():
        return 0.0
    speed = np.abs(np.diff(foot_x, axis=0)) * fps / scale
    return float(speed[both].mean())
