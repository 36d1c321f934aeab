"""The local web app: upload (or pick) a photo and a song, watch progress, play and download.

FastAPI with one static page rather than Gradio: the page works offline (Gradio's front end pulls
fonts and scripts from the internet), every route is ours to restrict (no generic file server), and
the dependency is small. Safety rules:
- uploads are size-limited while they stream in, and must decode as an image / as audio;
- files are stored under fixed names inside a per-job folder named by a random id, and only the
  two result files of a job can be fetched, so nothing outside the work folder is reachable;
- one worker runs dances in order; extra requests queue (and are refused when the queue is full).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from xdancer.errors import InputError
from xdancer.web.jobs import Job, JobQueue

STATIC = Path(__file__).parent / "static"
PHOTO_TYPES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
MUSIC_TYPES = {".wav", ".mp3", ".ogg", ".flac", ".m4a", ".mp4", ".webm", ".mov"}
RESULT_FILES = {"dance.mp4": "video/mp4", "skeleton.mp4": "video/mp4"}
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1 << 20


@dataclass
class ServeConfig:
    work_dir: Path
    max_photo_mb: float = 20.0
    max_music_mb: float = 50.0
    max_seconds: float = 120.0  # longest dance a visitor may ask for
    queue_capacity: int = 8
    height: int = 512


async def _save_upload(upload: UploadFile, dest_stem: Path, allowed: set[str], max_mb: float, what: str) -> Path:
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in allowed:
        raise InputError(f"{what} must be one of {', '.join(sorted(allowed))}; got {upload.filename!r}")
    dest = dest_stem.with_suffix(suffix)
    limit, size = int(max_mb * CHUNK), 0
    with open(dest, "wb") as f:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                f.close()
                dest.unlink()
                raise HTTPException(413, f"{what} is larger than {max_mb:.0f} MB")
            f.write(chunk)
    if size == 0:
        dest.unlink()
        raise InputError(f"{what} is empty")
    return dest


def create_app(config: ServeConfig, make_dance: Callable[[Job, Callable[[str, float], None]], str] | None = None) -> FastAPI:
    """Build the app. ``make_dance(job, progress)`` renders ``job.folder/dance.mp4`` and
    ``skeleton.mp4`` and returns a one-line summary (default: the bundled DancePipeline)."""
    work = config.work_dir.resolve()
    (work / "jobs").mkdir(parents=True, exist_ok=True)
    examples = _write_examples(work / "examples")
    jobs = JobQueue(work / "jobs", make_dance or _pipeline_worker(config), capacity=config.queue_capacity)
    app = FastAPI(title="xdancer", docs_url=None, redoc_url=None)

    @app.exception_handler(InputError)
    async def _bad_input(_request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (STATIC / "index.html").read_text()

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        allowed = {"app.js": "text/javascript", "style.css": "text/css"}
        if name not in allowed:
            raise HTTPException(404)
        return FileResponse(STATIC / name, media_type=allowed[name])

    @app.get("/api/limits")
    def limits() -> dict:
        return {"max_photo_mb": config.max_photo_mb, "max_music_mb": config.max_music_mb,
                "max_seconds": config.max_seconds, "photo_types": sorted(PHOTO_TYPES),
                "music_types": sorted(MUSIC_TYPES)}  # fmt: skip

    @app.post("/api/jobs")
    async def submit(
        photo: Annotated[UploadFile | None, File()] = None,
        music: Annotated[UploadFile | None, File()] = None,
        example_photo: Annotated[bool, Form()] = False,
        example_music: Annotated[bool, Form()] = False,
        start: Annotated[float, Form()] = 0.0,
        seconds: Annotated[float, Form()] = 10.0,
        seed: Annotated[int, Form()] = 0,
    ) -> dict:
        from xdancer.pipeline import DanceOptions

        if not (1.0 <= seconds <= config.max_seconds):
            raise InputError(f"length must be between 1 and {config.max_seconds:.0f} seconds")
        DanceOptions(start=start, seconds=seconds, seed=seed)  # validates before anything is stored
        if photo is None and not example_photo:
            raise InputError("choose a photo (or the example photo)")
        if music is None and not example_music:
            raise InputError("choose a song (or the example song)")
        job_id, folder = jobs.new_job_folder()
        try:
            photo_path = examples[0] if example_photo or photo is None else await _save_upload(
                photo, folder / "photo", PHOTO_TYPES, config.max_photo_mb, "the photo")
            music_path = examples[1] if example_music or music is None else await _save_upload(
                music, folder / "music", MUSIC_TYPES, config.max_music_mb, "the song")  # fmt: skip
            _check_decodes(photo_path, music_path)
            params = {"photo": str(photo_path), "music": str(music_path), "start": start,
                      "seconds": seconds, "seed": seed}  # fmt: skip
            job = Job(job_id, folder, params)
            jobs.submit(job)
        except OverflowError as e:
            _remove(folder)
            raise HTTPException(503, str(e)) from None
        except BaseException:
            _remove(folder)
            raise
        return {"id": job_id}

    def get_job(job_id: str) -> Job:
        if not JOB_ID.match(job_id) or job_id not in jobs.jobs:
            raise HTTPException(404, "no such dance")
        return jobs.jobs[job_id]

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str) -> dict:
        job = get_job(job_id)
        eta = job.eta_seconds()
        return {"id": job.id, "state": job.state, "stage": job.stage, "progress": round(job.fraction, 4),
                "eta_seconds": None if eta is None else round(eta, 1), "queue_position": jobs.position(job),
                "message": job.message, "summary": job.summary,
                "files": [f"/api/jobs/{job.id}/{n}" for n in RESULT_FILES] if job.state == "done" else []}  # fmt: skip

    @app.get("/api/jobs/{job_id}/{name}")
    def result_file(job_id: str, name: str) -> FileResponse:
        job = get_job(job_id)
        if name not in RESULT_FILES or job.state != "done":
            raise HTTPException(404)
        return FileResponse(job.folder / name, media_type=RESULT_FILES[name], filename=name)

    app.state.jobs = jobs
    return app


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _check_decodes(photo: Path, music: Path) -> None:
    """Refuse files that only pretend to be a photo or a song (cheap: one decode of the photo, one
    second of the song)."""
    from xdancer.image_io import load_image
    from xdancer.music.io import load_audio

    load_image(photo)
    load_audio(music, duration=1.0)


def _write_examples(folder: Path) -> tuple[Path, Path]:
    from xdancer.demo import write_demo_files

    return write_demo_files(folder)


def _pipeline_worker(config: ServeConfig) -> Callable[[Job, Callable[[str, float], None]], str]:
    holder: dict[str, object] = {}

    def work(job: Job, progress: Callable[[str, float], None]) -> str:
        from xdancer.pipeline import DanceOptions, DancePipeline
        from xdancer.render.skeleton import SkeletonRenderer

        if "pipe" not in holder:  # loaded on first use, in the worker thread, then reused
            holder["pipe"] = DancePipeline()
        pipe: DancePipeline = holder["pipe"]  # type: ignore[assignment]
        p = job.params
        options = DanceOptions(start=p["start"], seconds=p["seconds"], seed=p["seed"], height=config.height)
        result = pipe(p["photo"], p["music"], options, progress=progress, show_progress=False)
        result.save(job.folder / "dance.mp4", progress=progress, show_progress=False)
        summary = result.summary()
        result.renderer = SkeletonRenderer()  # the pose preview shown beside the video
        result.save(job.folder / "skeleton.mp4", show_progress=False)
        return summary

    return work
