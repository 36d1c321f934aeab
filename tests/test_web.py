"""The web app's HTTP behaviour: uploads, limits, type checks, queueing, confinement.

The dance itself is replaced by a small real worker (it writes real mp4 files) so these tests
exercise the app; the browser test in test_web_browser.py runs the real pipeline end to end.
"""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from xdancer.web.app import ServeConfig, create_app  # noqa: E402


def _png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((64, 48, 3), 200, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _wav_bytes(seconds: float = 2.0) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    t = np.arange(int(24000 * seconds)) / 24000
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 24000, format="WAV")
    return buf.getvalue()


class FakeDance:
    """Writes two short real videos; can be held back to test queueing."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.order: list[str] = []

    def __call__(self, job, progress) -> str:
        from xdancer.video.io import write_video

        self.gate.wait(30)
        self.order.append(job.id)
        progress("render", 0.5)
        frames = [np.full((32, 32, 3), 10 * i, np.uint8) for i in range(6)]
        write_video(frames, job.folder / "dance.mp4", 6)
        write_video(frames, job.folder / "skeleton.mp4", 6)
        return f"seed {job.params['seed']}"


@pytest.fixture
def app_and_worker(tmp_path):
    worker = FakeDance()
    app = create_app(ServeConfig(work_dir=tmp_path / "web", max_photo_mb=1, max_music_mb=1, queue_capacity=2), worker)
    return TestClient(app), worker, tmp_path / "web"


def _wait(client, job_id, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        s = client.get(f"/api/jobs/{job_id}").json()
        if s["state"] in ("done", "error"):
            return s
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_page_and_limits(app_and_worker):
    client, _, _ = app_and_worker
    page = client.get("/")
    assert page.status_code == 200 and "dance-form" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/..%2Fapp.py").status_code == 404
    assert client.get("/api/limits").json()["max_photo_mb"] == 1


def test_upload_to_video(app_and_worker):
    client, _, _ = app_and_worker
    r = client.post("/api/jobs", files={"photo": ("me.png", _png_bytes()), "music": ("song.wav", _wav_bytes())},
                    data={"seconds": "3", "seed": "7"})  # fmt: skip
    assert r.status_code == 200, r.text
    status = _wait(client, r.json()["id"])
    assert status["state"] == "done" and status["summary"] == "seed 7"
    video = client.get(status["files"][0])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_examples_need_no_upload(app_and_worker):
    client, _, _ = app_and_worker
    r = client.post("/api/jobs", data={"example_photo": "true", "example_music": "true", "seconds": "2"})
    assert r.status_code == 200, r.text
    assert _wait(client, r.json()["id"])["state"] == "done"


@pytest.mark.parametrize(
    "files,data,status,needle",
    [
        ({"photo": ("me.gif", b"GIF89a"), "music": ("s.wav", b"x")}, {}, 400, "photo must be one of"),
        ({"photo": ("me.png", b"not really a png"), "music": ("s.wav", _wav_bytes())}, {}, 400, "image"),
        ({"photo": ("me.png", _png_bytes()), "music": ("s.wav", b"RIFF....junk")}, {}, 400, "audio"),
        ({"photo": ("me.png", b"x" * (2 << 20)), "music": ("s.wav", b"x")}, {}, 413, "larger than"),
        ({"photo": ("me.png", _png_bytes())}, {}, 400, "choose a song"),
        ({"photo": ("me.png", _png_bytes()), "music": ("s.wav", _wav_bytes())}, {"seconds": "100000"}, 400, "length"),
        ({"photo": ("me.png", _png_bytes()), "music": ("s.wav", _wav_bytes())}, {"start": "-3"}, 400, "start"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(app_and_worker, files, data, status, needle):
    client, _, work = app_and_worker
    r = client.post("/api/jobs", files=files, data=data)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"].lower()
    assert list((work / "jobs").iterdir()) == []


def test_only_result_files_of_known_jobs_are_served(app_and_worker):
    client, _, _ = app_and_worker
    r = client.post("/api/jobs", data={"example_photo": "true", "example_music": "true", "seconds": "2"})
    job_id = r.json()["id"]
    _wait(client, job_id)
    assert client.get(f"/api/jobs/{job_id}/photo.png").status_code == 404
    assert client.get(f"/api/jobs/{job_id}/..%2F..%2Fexamples%2Fdemo_song.wav").status_code == 404
    assert client.get("/api/jobs/../../etc/passwd").status_code == 404
    assert client.get("/api/jobs/" + "0" * 32).status_code == 404


def test_requests_queue_in_order_and_overflow_is_refused(app_and_worker):
    client, worker, _ = app_and_worker
    worker.gate.clear()  # hold the worker so jobs pile up
    body = {"example_photo": "true", "example_music": "true", "seconds": "2"}
    first = client.post("/api/jobs", data=body).json()["id"]
    second = client.post("/api/jobs", data=body).json()["id"]
    assert client.get(f"/api/jobs/{second}").json()["queue_position"] == 1
    third = client.post("/api/jobs", data=body)
    assert third.status_code == 503 and "waiting" in third.json()["detail"]
    worker.gate.set()
    assert _wait(client, first)["state"] == "done" and _wait(client, second)["state"] == "done"
    assert worker.order == [first, second]


def test_worker_errors_are_reported_not_fatal(tmp_path):
    from xdancer.errors import InputError

    def failing(job, progress):
        raise InputError("no person found in the photo")

    client = TestClient(create_app(ServeConfig(work_dir=tmp_path / "w"), failing))
    r = client.post("/api/jobs", data={"example_photo": "true", "example_music": "true", "seconds": "2"})
    status = _wait(client, r.json()["id"])
    assert status["state"] == "error" and "no person" in status["message"]
    assert client.get("/").status_code == 200  # the server lives on
