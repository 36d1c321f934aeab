"""Benchmark helpers: time a callable (median of several runs), print a table, and record it in
docs/benchmarks.md under a section of its own. Benchmarks measure; they never fail on time."""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine_info() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} logical CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}, torch threads {torch.get_num_threads()}"
    )


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def record(section: str, header: Sequence[str], rows: Sequence[Sequence[object]], notes: str = "") -> str:
    """Print the table and replace (or add) ``## section`` in docs/benchmarks.md."""
    body = f"## {section}\n\n{markdown_table(header, rows)}\n\nMachine: {machine_info()}. " + (
        f"Recorded {time.strftime('%Y-%m-%d')}.\n"
    )
    if notes:
        body += f"\n{notes.strip()}\n"
    print(body)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\nWritten by the scripts in `benchmarks/` (`python -m benchmarks`).\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(body + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + body
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(DOC)
    return body
