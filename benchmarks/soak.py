"""A day of visitors: the app's memory and temp folder over thousands of sessions that come and go.

    python -m benchmarks.soak --json benchmarks/results-soak.json

Starts ``python app.py`` offline on the demo model (OneDiffusion-Mini; ``--model`` for another) with its files
kept ``--keep-files`` seconds, in a temp folder of its own. Then:

1. ``--sessions`` new ``gradio_client`` sessions, each one call and gone, over a mix of tabs (text to image,
   understanding, multiview, slots) with the awkward ones in it: every ``LARGE_EVERY``-th uploads a large photo,
   every ``STOP_EVERY``-th is stopped mid-run (``job.cancel()``, as Stop), every ``KILL_EVERY``-th is a client
   process killed mid-run;
2. ``--pages`` real Chromium pages, each opened, run once (text to image) and closed.

It prints the app's resident memory after warm-up (the first ``--warm-up`` sessions) and at the end of each
part, the slope in KiB per session (least squares over samples every ``SAMPLE_EVERY`` sessions), and the size of
the temp folders (Gradio's cache and the app's run folders) at the end and once the expiry has passed.
Targets (issue 34): after the warm-up, under 20 KiB a session and 50 MiB in all; the temp folder emptied.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assets" / "examples"
SAMPLE_EVERY = 20
LARGE_EVERY, STOP_EVERY, KILL_EVERY = 40, 50, 100
FAST = {"steps": 2, "guidance": 3.0, "seed": 1, "randomize_seed": False}
SLOW = {"prompt": "a red cube", "steps": 200, "guidance": 3.0, "seed": 1, "randomize_seed": False}
TARGET_KIB, TARGET_MIB = 20, 50
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0


@dataclass
class App:
    """The app under test, in a subprocess, with its own temp folder (``TMPDIR`` and ``GRADIO_TEMP_DIR``)."""

    url: str
    process: subprocess.Popen
    temp: Path
    log: Path

    @classmethod
    def start(cls, model: str | None, keep_files: int, port: int) -> App:
        temp = Path(tempfile.mkdtemp(prefix="onediffusion-soak-"))
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "TMPDIR": str(temp),
            "GRADIO_TEMP_DIR": str(temp / "gradio"),
        }
        command = [sys.executable, "app.py", "--port", str(port), "--keep-files", str(keep_files)]
        command += ["--model", model] if model else []
        log = temp / "app.log"
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        app = cls(f"http://127.0.0.1:{port}/", process, temp, log)
        app.wait_until_up()
        return app

    def wait_until_up(self, timeout: float = 300) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the app exited: see {self.log}\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        sys.exit(f"the app did not answer in {timeout} s: see {self.log}")

    @property
    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    @property
    def temp_bytes(self) -> int:
        """Gradio's cache and the app's run folders (the log and the Python caches aside)."""
        return folder_bytes(self.temp / "gradio") + folder_bytes(self.temp / "onediffusion-studio")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.temp, ignore_errors=True)


@dataclass
class Series:
    """RSS samples of one part: (sessions so far, KiB)."""

    samples: list[tuple[int, int]] = field(default_factory=list)

    def add(self, count: int, kib: int) -> None:
        self.samples.append((count, kib))

    def after(self, warm_up: int) -> dict:
        kept = [(n, kib) for n, kib in self.samples if n >= warm_up] or self.samples[-2:]
        counts, sizes = np.array(kept, dtype=float).T
        return {
            "from_session": int(counts[0]),
            "to_session": int(counts[-1]),
            "rss_after_warm_up_mib": sizes[0] / 1024,
            "rss_end_mib": sizes[-1] / 1024,
            "growth_mib": (sizes[-1] - sizes[0]) / 1024,
            "slope_kib_per_session": float(np.polyfit(counts, sizes, 1)[0]),
        }


def large_photo(side: int = 2048) -> Path:
    """A photo of noise, ``side`` pixels square (about 12 MB as PNG: well under the 25 MB upload limit)."""
    path = Path(tempfile.gettempdir()) / f"soak-large-{side}.png"
    if not path.exists():
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
    return path


def calls(handle_file) -> dict:
    """One call per tab: (endpoint, arguments)."""
    photo = handle_file(str(EXAMPLES / "scene_az000.png"))
    cameras = {"headers": ["0", "1", "2"], "data": [[0, 20, 1.7], [120, 20, 1.7], [240, 20, 1.7]]}
    slots = {
        "headers": ["kind", "role", "image #", "azimuth (°)", "elevation (°)", "distance"],
        "data": [["image", "condition", 1, None, None, None], ["image", "target", None, None, None, None]],
    }
    return {
        "text_to_image": {"prompt": "a red cube on a grey floor", "negative_prompt": "", **FAST},
        "understand": {"photo": photo, "target": "depth", "caption": "", **FAST},
        "multiview": {"image": photo, "caption": "toys", "cameras": cameras, "size": "auto", **FAST},
        "slots": {
            "prompt": "[[depth2image]] a cube",
            "slots": slots,
            "images": [{"image": handle_file(str(EXAMPLES / "scene_depth.png")), "caption": None}],
            **FAST,
        },
    }


def wait_for_progress(job, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (job.status().progress_data or [None])[0]:
        time.sleep(0.02)


KILLED_CLIENT = """
import time
from gradio_client import Client
client = Client({url!r}, verbose=False, download_files=False)
job = client.submit(**{slow!r}, api_name="/text_to_image")
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not (job.status().progress_data or [None])[0]:
    time.sleep(0.02)
print("running", flush=True)
time.sleep(600)
"""


def killed_mid_run(url: str) -> None:
    """A client process killed during its generation."""
    script = textwrap.dedent(KILLED_CLIENT.format(url=url, slow=SLOW))
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    process.stdout.readline()
    process.send_signal(signal.SIGKILL)
    process.wait()


def one_session(url: str, number: int, plan: dict, large) -> str:
    """Session ``number``: a new client, one call (or an awkward one), gone. Returns what it did."""
    from gradio_client import Client

    if number % KILL_EVERY == 0:
        killed_mid_run(url)
        return "killed mid-run"
    client = Client(url, verbose=False, download_files=False, ssl_verify=False)
    if number % STOP_EVERY == 0:
        job = client.submit(**SLOW, api_name="/text_to_image")
        wait_for_progress(job)
        job.cancel()
        return "stopped mid-run"
    if number % LARGE_EVERY == 0:
        client.predict(photo=large, target="depth", caption="", **FAST, api_name="/understand")
        return "large upload"
    endpoint = list(plan)[number % len(plan)]
    client.predict(**plan[endpoint], api_name=f"/{endpoint}")
    return endpoint


def client_sessions(app: App, count: int) -> tuple[Series, dict]:
    from gradio_client import handle_file

    plan, large = calls(handle_file), handle_file(str(large_photo()))
    series, kinds = Series(), {}
    for number in range(1, count + 1):
        kind = one_session(app.url, number, plan, large)
        kinds[kind] = kinds.get(kind, 0) + 1
        if number % SAMPLE_EVERY == 0:
            series.add(number, app.rss_kib)
            print(f"  {number} sessions: {series.samples[-1][1] / 1024:.1f} MiB", flush=True)
    return series, kinds


def browser_pages(app: App, count: int) -> Series:
    from playwright.sync_api import expect, sync_playwright

    series = Series()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for number in range(1, count + 1):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(app.url, wait_until="load")
            panel = page.locator("#tab-text-to-image")
            panel.get_by_label("Prompt", exact=True).fill("a blue cone")
            panel.get_by_role("button", name="Generate", exact=True).first.click()
            expect(panel.locator("#t2i-gallery")).to_contain_text("seed", timeout=60_000)
            context.close()
            if number % 10 == 0:
                series.add(number, app.rss_kib)
                print(f"  {number} pages: {series.samples[-1][1] / 1024:.1f} MiB", flush=True)
        browser.close()
    return series


def wait_for_expiry(app: App, keep_files: int) -> tuple[int, float]:
    """The temp folders' bytes once the expiry has passed (Gradio's schedule and the app's sweep run every
    ``keep_files`` seconds: at most two periods), and how long that took."""
    started = time.monotonic()
    deadline = started + 2 * keep_files + 30
    while time.monotonic() < deadline and app.temp_bytes:
        time.sleep(2)
    return app.temp_bytes, time.monotonic() - started


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="a model folder or hub id (default: the app's default, offline: the demo model)")
    p.add_argument("--sessions", type=int, default=2000)
    p.add_argument("--warm-up", type=int, default=200)
    p.add_argument("--pages", type=int, default=100)
    p.add_argument("--page-warm-up", type=int, default=30, help="pages before the pages' slope is measured")
    p.add_argument("--keep-files", type=int, default=60, help="the app's file expiry in seconds (short, to see it)")
    p.add_argument("--port", type=int, default=7999)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    app = App.start(args.model, args.keep_files, args.port)
    report = {
        "command": "python -m benchmarks.soak " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "rss_at_start_mib": app.rss_kib / 1024,
    }
    try:
        print(f"{args.sessions} client sessions on {app.url}", flush=True)
        started = time.monotonic()
        series, kinds = client_sessions(app, args.sessions)
        if series.samples:
            report["clients"] = {**series.after(args.warm_up), "sessions": kinds, "seconds": time.monotonic() - started}
        report["temp_after_clients_mib"] = app.temp_bytes / 2**20
        if args.pages:
            print(f"{args.pages} browser pages", flush=True)
            pages = browser_pages(app, args.pages)
            report["pages"] = {"all": pages.after(0), "after_warm_up": pages.after(args.page_warm_up)}
        report["temp_at_end_mib"] = app.temp_bytes / 2**20
        left, waited = wait_for_expiry(app, args.keep_files)
        report["temp_after_expiry_mib"], report["expiry_waited_s"] = left / 2**20, waited
    finally:
        app.stop()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


def _line(name: str, part: dict, unit: str) -> str:
    return (
        f"{name} {part['from_session']}-{part['to_session']}: RSS {part['rss_after_warm_up_mib']:.1f} -> "
        f"{part['rss_end_mib']:.1f} MiB ({part['growth_mib']:+.1f} MiB, {part['slope_kib_per_session']:.1f} KiB/{unit})"
    )


def print_report(report: dict) -> None:
    print()
    if "clients" in report:
        print(
            _line("client sessions", report["clients"], "session") + f"; targets < {TARGET_KIB} KiB, < {TARGET_MIB} MiB"
        )
    if "pages" in report:
        print(_line("browser pages", report["pages"]["all"], "page"))
        print(_line("browser pages", report["pages"]["after_warm_up"], "page"))
    print(
        f"temp folder: {report['temp_after_clients_mib']:.2f} MiB after the clients, {report['temp_at_end_mib']:.2f} "
        f"MiB at the end, {report['temp_after_expiry_mib']:.2f} MiB {report['expiry_waited_s']:.0f} s later"
    )


if __name__ == "__main__":
    main()
