"""Evaluation reports: one figure (PNG) with the metric table, per-sequence BAS, beat plots of music
beats against dance beats and kinetic-energy curves; or an HTML page with the tables and that figure
embedded. The number of sequences is written beside every panel."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xdancer.eval import motion_features as F
from xdancer.io_utils import atomic_path

if TYPE_CHECKING:
    from xdancer.eval.run import MotionEvalConfig, MotionItem

MOTION_ROWS = (
    ("BAS", "bas", "higher is better"),
    ("BAS by chance", "bas_chance", "beats phase-shifted"),
    ("DIV_k", "div_k", "closer to real"),
    ("DIV_g", "div_g", "closer to real"),
    ("FID_k", "fid_k", "lower is better"),
    ("FID_g", "fid_g", "lower is better"),
    ("Paired_k", "paired_k", "lower is better"),
    ("Foot skating (L/s)", "foot_skating", "lower is better"),
)
BEAT_PLOT_SECONDS = 10.0
KE_PLOT_SECONDS = 30.0


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def _table_rows(results: dict[str, Any]) -> list[list[str]]:
    gen, real = results["generated"], results["real"]
    rows = [[label, _fmt(gen.get(key)), _fmt(real.get(key) if key not in ("fid_k", "fid_g", "paired_k") else 0.0), note]
            for label, key, note in MOTION_ROWS]  # fmt: skip
    rows.append(["sequences", str(gen["n_sequences"]), str(real["n_sequences"]), "with music: "
                 f"{gen['n_with_music']} / {real['n_with_music']}"])  # fmt: skip
    return rows


def _beat_panel(ax, item: MotionItem, config: MotionEvalConfig, title: str) -> None:
    kps, fps = item.poses.keypoints, item.poses.fps
    speed = F.smoothed_speed(kps, fps, conf_threshold=config.conf_threshold)
    try:
        speed = speed / F.body_scale(kps, config.conf_threshold)
        unit = "L/s"
    except ValueError:
        unit = "px/s"
    t = (np.arange(len(speed)) + 0.5) / fps
    beats = F.dance_beats(kps, fps, conf_threshold=config.conf_threshold)
    ax.plot(t, speed, color="0.3", lw=1.0, label="smoothed joint speed")
    ax.plot(beats, np.interp(beats, t, speed), "v", color="tab:red", ms=4, label="dance beats")
    if item.music_beats is not None:
        for i, b in enumerate(item.music_beats[item.music_beats < min(BEAT_PLOT_SECONDS, t[-1])]):
            ax.axvline(b, color="tab:blue", lw=0.8, alpha=0.6, label="music beats" if i == 0 else None)
    ax.set_xlim(0, min(BEAT_PLOT_SECONDS, t[-1]))
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(labelsize=7)


def _labels(results: dict[str, Any]) -> tuple[str, str]:
    labels = results.get("labels", {})
    return labels.get("generated", "generated"), labels.get("real", "real")


def _plot_pairs(
    generated: list[MotionItem], real: list[MotionItem], n: int
) -> list[tuple[MotionItem | None, MotionItem | None]]:
    """The first n generated dances, each beside the real dance of the same name (same music) when
    there is one, else beside the real dances in name order."""
    by_name = {it.name: it for it in real}
    spare = [it for it in real if it.name not in {g.name for g in generated[:n]}]
    pairs: list[tuple[MotionItem | None, MotionItem | None]] = []
    for k in range(n):
        gen = generated[k] if k < len(generated) else None
        match = by_name.get(gen.name) if gen is not None else None
        pairs.append((gen, match if match is not None else (spare.pop(0) if spare else None)))
    return pairs


def motion_figure(
    results: dict[str, Any], generated: list[MotionItem], real: list[MotionItem], config: MotionEvalConfig
):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_plot = min(config.plot_sequences, max(len(generated), len(real)))
    fig = plt.figure(figsize=(13, 4.2 + 2.0 * n_plot + 3.0))
    grid = fig.add_gridspec(2 + n_plot, 2, height_ratios=[4.2] + [2.0] * n_plot + [3.0], hspace=0.6)
    gen_n, real_n = results["generated"]["n_sequences"], results["real"]["n_sequences"]
    gen_label, real_label = _labels(results)

    ax = fig.add_subplot(grid[0, 0])
    ax.axis("off")
    table = ax.table(cellText=_table_rows(results), colLabels=["metric", f"{gen_label} (N={gen_n})",
                     f"{real_label} (N={real_n})", ""], loc="center", cellLoc="left", colWidths=[0.27, 0.27, 0.27, 0.19])  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.4)
    ax.set_title("Motion metrics", fontsize=10)

    ax = fig.add_subplot(grid[0, 1])
    for k, (label, side) in enumerate(((gen_label, "generated"), (real_label, "real"))):
        vals = [r["bas"] for r in results["sequences"][side] if r["bas"] is not None]
        ax.bar(np.arange(len(vals)) + 0.4 * k, vals, width=0.4, label=f"{label} (N={len(vals)})")
    chance = results["generated"].get("bas_chance")
    if chance is not None:
        ax.axhline(chance, color="0.4", ls="--", lw=0.8, label=f"{gen_label}: chance level")
    ax.set_title(f"BAS per sequence (sigma {config.bas_sigma * 1000:.0f} ms)", fontsize=10)
    ax.set_xlabel("sequence (name order)", fontsize=8)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)

    pairs = _plot_pairs(generated, real, n_plot)
    for row, pair in enumerate(pairs):
        for col, (item, label, items) in enumerate(
            ((pair[0], gen_label, generated), (pair[1], real_label, real))
        ):
            if item is None:
                continue
            ax = fig.add_subplot(grid[1 + row, col])
            _beat_panel(ax, item, config, f"{label}: {item.name} (one of N={len(items)})")
            if row == 0:
                ax.legend(fontsize=6, loc="upper right")

    for col, label in enumerate((gen_label, real_label)):
        ax = fig.add_subplot(grid[1 + n_plot, col])
        shown = [p[col] for p in pairs if p[col] is not None]
        for item in shown:
            try:
                ke = F.kinetic_energy_curve(item.poses.keypoints, item.poses.fps, config.conf_threshold)
            except ValueError:
                continue
            width = max(1, int(round(0.25 * item.poses.fps)))
            smooth = np.convolve(ke, np.ones(width) / width, mode="same")
            ax.plot((np.arange(len(ke)) + 0.5) / item.poses.fps, smooth, lw=0.9, label=item.name)
        total = len(generated) if col == 0 else len(real)
        ax.set_title(f"{label}: kinetic energy, 0.25 s mean ({len(shown)} of N={total})", fontsize=9)
        ax.set_xlim(0, KE_PLOT_SECONDS)
        ax.set_xlabel("time (s)", fontsize=8)
        ax.set_ylabel("(L/s)^2", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    return fig


def _figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _write(path: Path, title: str, sections: list[str], png: bytes | None) -> Path:
    with atomic_path(path) as tmp:
        if path.suffix == ".png":
            if png is None:
                raise ValueError("no figure to write")
            tmp.write_bytes(png)
        else:
            img = (
                f'<img alt="{html.escape(title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                if png
                else ""
            )
            style = "body{font-family:sans-serif;max-width:1200px;margin:auto}td,th{padding:2px 8px;border-bottom:1px solid #ddd}img{max-width:100%}"
            tmp.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                           f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}{img}</body></html>")  # fmt: skip
    return path


def write_motion_report(
    path: str | Path,
    results: dict[str, Any],
    generated: list[MotionItem],
    real: list[MotionItem],
    config: MotionEvalConfig,
) -> Path:
    """The motion report as a PNG figure or an HTML page (tables + the figure)."""
    path = Path(path)
    png = _figure_png(motion_figure(results, generated, real, config))
    gen_n, real_n = results["generated"]["n_sequences"], results["real"]["n_sequences"]
    gen_label, real_label = _labels(results)
    sections = [
        "<h2>Metrics</h2>",
        _html_table(
            ["metric", f"{gen_label} (N={gen_n})", f"{real_label} (N={real_n})", ""], _table_rows(results)
        ),
    ]
    for side, label in (("generated", gen_label), ("real", real_label)):
        recs = results["sequences"][side]
        sections.append(f"<h2>{html.escape(label)} sequences (N={len(recs)})</h2>")
        keys = ["name", "seconds", "fps", "bas", "bas_chance", "music_beats", "dance_beats", "foot_skating"]
        sections.append(_html_table(keys, [[r[k] for k in keys] for r in recs]))
    return _write(path, "xdancer motion evaluation", sections, png)


def write_video_report(path: str | Path, results: dict[str, Any]) -> Path:
    """The video report: per-video PSNR / SSIM / PCK and FVD, as a PNG figure or an HTML page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    videos = results["videos"]
    keys = ["name", "psnr", "ssim", "pck", "frames"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, key in zip(axes, ("psnr", "ssim", "pck"), strict=True):
        vals = [(v["name"], v[key]) for v in videos if v.get(key) is not None]
        ax.bar(range(len(vals)), [v for _, v in vals])
        ax.set_xticks(range(len(vals)), [n for n, _ in vals], rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{key.upper()} per video (N={len(vals)})", fontsize=9)
    fvd_text = "-" if results.get("fvd") is None else (
        f"{results['fvd']:.2f} ({results['fvd_clips_generated']} generated vs {results['fvd_clips_real']} real clips)")  # fmt: skip
    fig.suptitle(f"FVD {fvd_text}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    png = _figure_png(fig)
    summary = [["FVD", fvd_text], ["PSNR (dB)", results.get("psnr")], ["SSIM", results.get("ssim")],
               ["PCK", results.get("pck")], ["videos", results["generated"]["n_videos"]]]  # fmt: skip
    sections = [_html_table(["metric", "value"], summary), "<h2>Per video</h2>",
                _html_table(keys, [[v.get(k) for k in keys] for v in videos])]  # fmt: skip
    return _write(path, "xdancer video evaluation", sections, png)
