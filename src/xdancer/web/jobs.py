"""A first-in, first-out queue of dance jobs run by one worker thread.

One worker because a dance already uses every CPU core: running two at once would only make both
slower and double the memory. Requests beyond the queue's capacity are refused with a clear
message instead of piling up.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xdancer.errors import InputError

log = logging.getLogger(__name__)

# Share of the total work each stage stands for, for one overall progress bar and its ETA.
STAGE_WEIGHTS = {"queued": 0.0, "pose": 0.05, "music": 0.05, "choreograph": 0.15, "render": 0.75}


@dataclass
class Job:
    id: str
    folder: Path
    params: dict[str, Any]
    state: str = "queued"  # queued | running | done | error
    stage: str = "queued"
    stage_fraction: float = 0.0
    message: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    summary: str = ""

    @property
    def fraction(self) -> float:
        done = 0.0
        for name, weight in STAGE_WEIGHTS.items():
            if name == self.stage:
                return min(1.0, done + weight * self.stage_fraction)
            done += weight
        return 1.0 if self.state == "done" else done

    def eta_seconds(self) -> float | None:
        if self.started is None or self.state != "running" or self.fraction < 0.02:
            return None
        elapsed = time.time() - self.started
        return elapsed * (1 - self.fraction) / self.fraction


class JobQueue:
    """Runs ``work(job, progress)`` for each submitted job, one at a time, in submission order."""

    def __init__(self, root: Path, work: Callable[[Job, Callable[[str, float], None]], str],
                 capacity: int = 8, keep: int = 20) -> None:  # fmt: skip
        self.root = root
        self.work = work
        self.capacity = capacity
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self._pending: queue.Queue[Job] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="xdancer-jobs", daemon=True)
        self._thread.start()

    def new_job_folder(self) -> tuple[str, Path]:
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def submit(self, job: Job) -> None:
        with self._lock:
            waiting = sum(1 for j in self.jobs.values() if j.state in ("queued", "running"))
            if waiting >= self.capacity:
                raise OverflowError(f"{waiting} dances are already waiting; try again in a few minutes")
            self.jobs[job.id] = job
            self._forget_old()
        self._pending.put(job)

    def position(self, job: Job) -> int:
        """How many jobs run or wait before this one (0 = it is running)."""
        with self._lock:
            return sum(1 for j in self.jobs.values() if j.state in ("queued", "running") and j.created < job.created)

    def _forget_old(self) -> None:
        finished = sorted((j for j in self.jobs.values() if j.state in ("done", "error")), key=lambda j: j.created)
        for job in finished[: max(0, len(finished) - self.keep)]:
            shutil.rmtree(job.folder, ignore_errors=True)
            del self.jobs[job.id]

    def _run(self) -> None:
        while True:
            job = self._pending.get()
            job.state, job.started = "running", time.time()

            def progress(stage: str, fraction: float, job: Job = job) -> None:
                job.stage, job.stage_fraction = stage, float(fraction)

            try:
                job.summary = self.work(job, progress)
                job.state, job.stage, job.stage_fraction = "done", "render", 1.0
            except InputError as e:
                job.state, job.message = "error", str(e)
            except Exception as e:  # noqa: BLE001 - a failure is reported to the page, never crashes the server
                log.exception("dance %s failed", job.id)
                job.state, job.message = "error", f"internal error ({type(e).__name__}: {e})"
            finally:
                job.finished = time.time()
