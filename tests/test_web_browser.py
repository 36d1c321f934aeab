"""End to end in headless Chromium: upload a photo, pick the example song, get a playable video.

Runs the real pipeline with the bundled models. Uses Debian's chromium through Playwright's
library (no browser download); skipped with a reason where either is missing.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="playwright (test extra) is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                "--disable-background-networking", "--disable-component-update"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from xdancer.web.app import ServeConfig, create_app

    work = tmp_path_factory.mktemp("web")
    port = _free_port()
    config = uvicorn.Config(create_app(ServeConfig(work_dir=work)), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    t0 = time.time()
    while not srv.started:
        if time.time() - t0 > 60:
            raise RuntimeError("web server did not start")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", work
    srv.should_exit = True
    thread.join(10)


def test_upload_photo_and_watch_the_dance(server, tmp_path):
    from xdancer.demo import demo_photo
    from xdancer.image_io import save_image
    from xdancer.video.io import probe_video

    url, _ = server
    photo = save_image(tmp_path / "me.png", demo_photo())
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.set_input_files("#photo", str(photo))
        page.check("#example_music")
        page.fill("#seconds", "3")
        page.fill("#seed", "1")
        page.click("#go")
        page.wait_for_selector("#results:not([hidden])", timeout=240_000)
        assert "error" not in (page.get_attribute("#status", "class") or "")
        # The browser itself must be able to play it: wait until it has decoded data.
        page.wait_for_function("document.getElementById('dance').readyState >= 2", timeout=30_000)
        duration = page.evaluate("document.getElementById('dance').duration")
        assert 2.5 <= duration <= 3.5
        href = page.get_attribute("#download", "href")
        data = page.request.get(url + href).body()
        browser.close()
    out = tmp_path / "downloaded.mp4"
    out.write_bytes(data)
    info = probe_video(out)
    assert info.has_audio and info.n_frames >= 80 and info.height == 512
