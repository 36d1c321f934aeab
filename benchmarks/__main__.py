"""Run the benchmark suite: every ``benchmarks/bench_*.py`` (each defines ``main()``), one fresh
process each, so one stage's models and memory do not colour the next one's numbers.

    python -m benchmarks                 # all of them
    python -m benchmarks pose tokenizer  # bench_pose.py and bench_tokenizer.py only
    python -m benchmarks --list

Each script prints its own table and records it in its section of docs/benchmarks.md; this runner
adds a summary section (script, status, wall time). Benchmarks measure, they never fail on time: a
script that crashes is reported as failed, and the exit status is non-zero only with ``--strict``.
Three of them measure quality rather than speed and take longest: generator_quality (about 5
minutes), render_recovery (about 4 minutes) and tokenizer_hands (8 tokenizer trainings, about 45
minutes the first time; trained folds are reused from outputs/tokenizer_hands).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import machine_info, record

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Path]:
    """{short name: path} of benchmarks/bench_<name>.py, in name order."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def run_script(name: str, path: Path) -> tuple[int, float]:
    """Run ``main()`` of one benchmark module in a fresh interpreter; (return code, wall seconds)."""
    module = f"benchmarks.{path.stem}"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; m.main()"], cwd=HERE.parent, check=False
    )
    return proc.returncode, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    scripts = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(scripts)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a benchmark crashes")
    args = parser.parse_args(argv)
    if args.list:
        for name, path in scripts.items():
            print(f"{name:20s} {path.relative_to(HERE.parent)}")
        return 0
    unknown = [n for n in args.names if n not in scripts]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; have {', '.join(scripts)}")
    chosen = {n: scripts[n] for n in (args.names or scripts)}
    print(f"Machine: {machine_info()}\n")
    rows = []
    for name, path in chosen.items():
        print(f"=== {path.name} ===", flush=True)
        code, seconds = run_script(name, path)
        status = "ok" if code == 0 else f"failed (exit {code})"
        rows.append([path.name, status, f"{seconds:.1f}"])
        print(f"--- {path.name}: {status} in {seconds:.1f} s\n", flush=True)
    record(
        "Suite summary (python -m benchmarks)",
        ["script", "status", "wall time (s)"],
        rows,
        notes="Wall time of each script in its own process, model loading and warm-up runs included; "
        "the per-stage numbers are in the sections above.",
    )
    failed = [r for r in rows if r[1] != "ok"]
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
