"""A day of visitors (issue 34): what the server keeps per session is let go when the visitor leaves, the
sessions it holds are capped to the machine, and a visitor who leaves mid-run frees the model at once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
from gradio.state_holder import StateHolder
from playwright.sync_api import expect

from tests.ui.conftest import ROOT, SERVER_PIDS, open_app
from ui import sessions
from ui.runs import Runs

# A run long enough to see who waits for it: 200 steps of 512 x 512 on the tiny model take about 45 s on the
# project's 2 cores (0.23 s a step), so a request that starts within seconds did not wait for it.
SLOW = {"prompt": "a slow cube", "size": "512x512", "steps": 200, "guidance": 4.0, "seed": 1, "randomize_seed": False}
QUICK = {"prompt": "a quick cube", "size": "64x64", "steps": 1, "guidance": 4.0, "seed": 2, "randomize_seed": False}
# Seconds from the visitor leaving to the next visitor's quick run done: measured 0.31 to 0.41 s (a step of the slow
# run was 0.23 s); without the unload hook 24.9 and 25.8 s, the rest of the slow run. Since the Upscale work, 512 px
# on the 64 px test model runs in windows and Stop comes between windows, sooner still.
NEXT_STARTS_WITHIN = 2.0


def test_session_capacity_is_a_share_of_the_free_memory():
    assert sessions.session_capacity(None) == sessions.MAX_SESSIONS  # memory unknown: Gradio's own default
    assert sessions.session_capacity(0) == sessions.MIN_SESSIONS
    assert sessions.session_capacity(16 * 2**30) == 1024  # 16 GiB free: 512 MiB for sessions of 512 KiB
    assert sessions.session_capacity(2**50) == sessions.MAX_SESSIONS


@pytest.fixture
def page_with_state():
    """A small page with a ``gr.State`` whose delete callback records what it was given, its Gradio state
    holder as a launched app has it."""
    deleted = []
    with gr.Blocks() as demo:
        state = gr.State("kept", delete_callback=deleted.append)
        gr.Textbox()
    StateHolder().set_blocks(demo)
    return SimpleNamespace(demo=demo, state=state, deleted=deleted)


def test_forget_drops_what_gradio_keeps_for_a_session(page_with_state):
    demo, holder = page_with_state.demo, page_with_state.demo.state_holder
    holder["alice"][page_with_state.state._id] = "alice's value"
    holder["bob"]  # noqa: B018 (Gradio makes a session's state on first sight)
    demo._queue = SimpleNamespace(pending_messages_per_session={"alice": [], "bob": []})  # as a launched app's
    assert sessions.forget(demo, "alice")
    assert list(demo._queue.pending_messages_per_session) == ["bob"]
    assert "alice" not in holder and "alice" not in holder.time_last_used and "bob" in holder
    assert page_with_state.deleted == ["alice's value"]  # State values go as Gradio lets them go
    assert not sessions.forget(demo, "alice") and not sessions.forget(demo, None)


def test_leaving_stops_the_visitors_run_and_forgets_them(page_with_state):
    runs, demo = Runs(), page_with_state.demo
    demo.state_holder["alice"]  # noqa: B018
    with runs.stop_token("alice") as alice, runs.stop_token("bob") as bob:
        sessions.leave(demo, runs.cancel)(SimpleNamespace(session_hash="alice"))
        assert alice.is_set() and not bob.is_set()
    assert "alice" not in demo.state_holder
    sessions.leave(demo, runs.cancel)(SimpleNamespace(session_hash=None))  # no session: nobody else is stopped


def test_old_run_folders_are_swept_on_a_clock(tmp_path):
    old = tmp_path / "old-run"
    old.mkdir()
    os.utime(old, (time.time() - 60, time.time() - 60))
    stop = sessions.sweep_every(0.05, keep_seconds=30, root=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
    assert not old.exists()


def test_the_launcher_takes_the_file_expiry(tmp_path):
    from ui.cli import KEEP_FILES, LaunchError, Setting, check_keep_files

    assert KEEP_FILES == sessions.KEEP_FILES_SECONDS and check_keep_files(None) == KEEP_FILES
    assert check_keep_files(Setting("30", "--keep-files")) == 30
    for bad in ("0", "soon", "-5", "1.5"):
        with pytest.raises(LaunchError, match="is not a number of seconds"):
            check_keep_files(Setting(bad, "ONEDIFFUSION_KEEP_FILES"))


# Against the running app --------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def new_session(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, ssl_verify=False)  # http: no certificates to load


# Without the unload hook this test measures 487 KiB a session (the app's RSS 678 -> 763 MiB over 180 sessions);
# with it, three runs measured 5.6, 6.0 and 11.6 KiB. The limit leaves five times the worst of those for noise.
SESSIONS, WARM_UP = 240, 60
SLOPE_LIMIT_KIB = 60


@pytest.mark.slow
def test_new_sessions_leave_no_memory_behind(app_url):
    """A few hundred new ``gradio_client`` sessions, one call each, as visitors come and go: the app's
    memory after the first WARM_UP grows by less than SLOPE_LIMIT_KIB a session (least squares over samples)."""
    pid = SERVER_PIDS.get(app_url) or pytest.skip("the app under test was not started by these tests")
    counts, sizes = [], []
    for count in range(1, SESSIONS + 1):
        client = new_session(app_url)
        client.predict(**QUICK, api_name="/text_to_image")
        del client  # its heartbeat ends: the visitor has left
        if count >= WARM_UP and count % 10 == 0:
            counts.append(count)
            sizes.append(rss_kib(pid))
    slope = float(np.polyfit(counts, sizes, 1)[0])
    growth = (sizes[-1] - sizes[0]) / 1024
    assert slope < SLOPE_LIMIT_KIB, f"{slope:.0f} KiB a session; {growth:.1f} MiB over {counts[-1] - counts[0]}"


def _wait_for_progress(job, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (job.status().progress_data or [None])[0]:
        time.sleep(0.05)


def seconds_until_next_run(url: str) -> float:
    """How long a quick run from a new visitor takes, start to result."""
    client = new_session(url)
    started = time.monotonic()
    client.predict(**QUICK, api_name="/text_to_image")
    return time.monotonic() - started


@pytest.mark.browser
@pytest.mark.slow
def test_closing_a_page_mid_run_frees_the_model(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_app(page, app_url)
    panel = page.locator("#tab-text-to-image")
    panel.get_by_label("Prompt", exact=True).fill(SLOW["prompt"])
    panel.get_by_role("button", name="Settings").first.click()
    panel.locator(".steps input[type=number]").first.fill(str(SLOW["steps"]))
    panel.locator(".steps input[type=number]").first.press("Tab")
    panel.locator(".size input").first.fill(SLOW["size"])  # a size typed in, past the tiny model's presets
    panel.locator(".size input").first.press("Tab")
    panel.get_by_role("button", name="Generate", exact=True).first.click()
    try:  # 512 px on the 64 px model runs in windows: its progress reads "Windows x steps"
        expect(panel.locator("#t2i-gallery").get_by_text(re.compile("Denoising|Windows x steps"))).to_be_visible()
    finally:
        context.close()  # the visitor leaves (and a failed check above leaves no run behind for the next test)
    assert seconds_until_next_run(app_url) < NEXT_STARTS_WITHIN


@pytest.mark.slow
def test_an_api_client_that_disconnects_frees_the_model(app_url):
    """A ``gradio_client`` process killed mid-run: its heartbeat connection drops, and its run stops."""
    script = textwrap.dedent(f"""
        import sys, time
        from gradio_client import Client
        client = Client({app_url!r}, verbose=False, download_files=False)
        job = client.submit(**{SLOW!r}, api_name="/text_to_image")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (job.status().progress_data or [None])[0]:
            time.sleep(0.05)
        print("running", flush=True)
        time.sleep(600)
    """)
    leaving = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert leaving.stdout.readline().strip() == "running"
    finally:
        leaving.send_signal(signal.SIGKILL)
        leaving.wait()
    assert seconds_until_next_run(app_url) < NEXT_STARTS_WITHIN


def test_the_allocator_is_steadied_on_a_gpu_or_for_the_demo_model_only():
    assert sessions.wants_steady_allocator("cuda", demo_model=False, env={})
    assert sessions.wants_steady_allocator("cpu", demo_model=True, env={})
    assert not sessions.wants_steady_allocator("cpu", demo_model=False, env={})  # the model's CPU steps would pay
    assert not sessions.wants_steady_allocator("cuda", demo_model=True, env={"MALLOC_MMAP_THRESHOLD_": "65536"})
    # Where the C library is glibc (Linux here) the threshold is set; elsewhere nothing is done and False says so.
    assert sessions.steady_allocator() == (os.uname().sysname == "Linux" and os.confstr("CS_GNU_LIBC_VERSION") != "")
