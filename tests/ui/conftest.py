"""Fixtures for the app's tests: a studio over the tiny pipeline, the real app launched on the tiny
checkpoint in a subprocess (shared by the API and browser tests), and a headless Chromium."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
EXAMPLES = ROOT / "assets" / "examples"
STARTUP_SECONDS = 180
SERVER_PIDS: dict[str, int] = {}  # URL -> process id of each app ``launched_app`` started


@pytest.fixture(scope="session")
def studio(tiny_pipe):
    from ui.service import Studio

    return Studio.for_pipeline(tiny_pipe, name="tiny", description="a tiny random model for tests.")


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def fast() -> dict:
    """Sampling settings of a quick, reproducible run (2 steps, seed 11)."""
    return {"steps": 2, "guidance": 4.0, "seed": 11, "randomize_seed": False}


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """A 3:2 photo of the example scene (not square, so sizes follow its aspect ratio)."""
    return Image.open(EXAMPLES / "scene_az000.png").convert("RGB").resize((96, 64))


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"The app exited with code {process.returncode} before serving; see {log}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    process.kill()
    pytest.fail(f"The app did not answer within {STARTUP_SECONDS} s; see {log}.")


def open_app(page, url: str) -> None:
    """Load the app in ``page`` and wait until it is drawn. Not "networkidle": every page holds its session's
    heartbeat connection open (it tells the app when the visitor leaves, ui.sessions), so the network is never idle."""
    page.goto(url, wait_until="load")
    page.locator("#model-banner").wait_for(state="visible")


@contextlib.contextmanager
def desktop_page(browser, url: str, timeout_ms: int):
    """A 1400 x 1000 page on ``url``, loaded until the network is idle; closed with its context."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    open_app(page, url)
    try:
        yield page
    finally:
        context.close()


@contextlib.contextmanager
def launched_app(*args: str, log_name: str = "app.log", prelude: str = ""):
    """``python app.py ARGS --port <free>`` offline, exactly as a user starts it; yields its URL. ``prelude``:
    Python run first in the app's process (then the launcher runs as ``app.py`` would)."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / log_name
    port = free_port()
    threads = os.environ.get("OMP_NUM_THREADS", "2")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "OMP_NUM_THREADS": threads,
        "PYTHONUNBUFFERED": "1",
        "GRADIO_HEARTBEAT_INTERVAL": "1",  # a gradio_client that leaves is noticed within a second, not 15
    }
    with log.open("w") as handle:
        entry = ["-c", f"{prelude}\nimport runpy; runpy.run_path('app.py', run_name='__main__')"] if prelude else []
        process = subprocess.Popen(
            [sys.executable, *(entry or ["app.py"]), *args, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        SERVER_PIDS[url] = process.pid
        yield url
    finally:
        SERVER_PIDS.pop(url, None)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def app_url(tiny_model_dir) -> str:
    """The app on the tiny checkpoint (``python app.py --model <tiny checkpoint>``).

    Set ONEDIFFUSION_TEST_URL to test an app already running (on a tiny checkpoint) instead.
    """
    if os.environ.get("ONEDIFFUSION_TEST_URL"):
        yield os.environ["ONEDIFFUSION_TEST_URL"]
        return
    with launched_app("--model", str(tiny_model_dir)) as url:
        yield url


@pytest.fixture(scope="session")
def offline_app_url() -> str:
    """``python app.py`` as a fresh machine runs it: the published model asked for, the hub out of reach."""
    from onediffusion.loading import PUBLISHED_MODEL

    with launched_app("--model", PUBLISHED_MODEL, log_name="app-offline.log") as url:
        yield url


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
