"""Passwords (issue 32): ``--auth``, ``--auth-file`` and ``$ONEDIFFUSION_AUTH`` checked as the launcher checks
every setting, the warning when others can reach an app without one, and a real app started with users, as
its visitors meet it: the page, the API, the files it hands out and the MCP server, each asked with and
without a login. What Gradio 6.31 does under ``auth`` is asserted as it is (README, "Passwords")."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError
from playwright.sync_api import expect

from tests.app.test_launcher import ROOT, _wait_for_line, assert_refused, launcher_env, run_app
from tests.helpers import free_port
from tests.ui.conftest import ARTIFACTS, launched_app
from ui.cli import Launch, LaunchError, Login, build_parser, check, check_auth, is_loopback, open_warning

ALICE = ("alice", "Al1ce-secret")  # given with --auth
BOB = ("bob", "b0b:with a colon")  # from the --auth-file: the first colon splits, the password keeps the rest
SECRETS = ("Al1ce-secret", "b0b:with a colon", "Sekr1t")


def _auth_file(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "users.txt"
    path.write_text(text)
    path.chmod(mode)
    return path


def _launch(*argv: str, env: dict[str, str] | None = None) -> Launch:
    return check(build_parser().parse_args(list(argv)), env or {})


# --- the settings, checked in this process (no Gradio, no model) ---


def test_flags_and_the_file_combine_and_the_variable_serves_only_without_them(tmp_path):
    users = _auth_file(tmp_path, f"# who may use it\n\n  {BOB[0]}:{BOB[1]}  \n")
    env = {"ONEDIFFUSION_AUTH": "carol:c1, dave:d:2"}
    assert _launch("--auth", ":".join(ALICE), "--auth-file", str(users), env=env).gradio_auth == [ALICE, BOB]
    assert _launch("--auth-file", str(users), env=env).gradio_auth == [BOB]
    assert _launch(env=env).gradio_auth == [("carol", "c1"), ("dave", "d:2")]
    assert _launch(env={"ONEDIFFUSION_AUTH": ""}).gradio_auth is None  # empty counts as unset, as for every variable
    assert _launch().auth == () and _launch().gradio_auth is None


def test_no_password_shows_in_the_launch_or_its_errors(tmp_path):
    launch = _launch("--auth", ":".join(ALICE))
    assert launch.auth == (Login(*ALICE),)
    assert "alice" in repr(launch) and ALICE[1] not in repr(launch) and ALICE[1] not in str(launch)
    bad = _auth_file(tmp_path, f"{':'.join(ALICE)}\nSekr1t\n")
    for flags, file, env in [(["Sekr1t"], None, {}), ([], str(bad), {}), ([], None, {"ONEDIFFUSION_AUTH": "Sekr1t"})]:
        with pytest.raises(LaunchError) as refused:
            check_auth(flags, file, env)
        assert not any(secret in str(refused.value) for secret in SECRETS), refused.value


# --- bad input: one line and exit status 2, before Gradio or torch loads ---


def _refuse_file(tmp_path: Path, text: str | None, mode: int = 0o600) -> Path:
    if text is None:
        return tmp_path / "no-such-users.txt"
    return _auth_file(tmp_path, text, mode)


BAD_FILES = [  # (file text, or None for no file; its mode; words the line must hold)
    pytest.param(None, 0o600, ["there is no such file"], id="missing"),
    pytest.param("# nobody yet\n\n", 0o600, ["holds no user", "user:password"], id="no-user"),
    pytest.param("alice:Sekr1t\n", 0o644, ["read by other users", "chmod 600", "(mode 644)"], id="world-readable"),
    pytest.param("alice:Sekr1t\n", 0o640, ["read by other users", "chmod 600"], id="group-readable"),
    pytest.param("alice:Sekr1t\n", 0o602, ["changed by other users", "chmod 600"], id="world-writable"),
    pytest.param("# users\nalice:Al1ce-secret\n\nSekr1t\n", 0o600, ["line 4 is not USER:PASSWORD"], id="no-colon"),
    pytest.param("alice:\n", 0o600, ["line 1 gives user 'alice' an empty password"], id="empty-password"),
    pytest.param("alice:a\nalice:Sekr1t\n", 0o600, ["line 2 gives user 'alice' again", "line 1)"], id="user-twice"),
]


@pytest.mark.parametrize("text, mode, words", BAD_FILES)
def test_a_bad_auth_file_is_one_line_and_exit_2(tmp_path, text, mode, words):
    path = _refuse_file(tmp_path, text, mode)
    result = run_app("--auth-file", str(path))
    assert_refused(result, f"--auth-file '{path}'", *words)
    assert not any(secret in result.stderr for secret in SECRETS), result.stderr


def test_a_folder_as_the_auth_file_is_refused(tmp_path):
    assert_refused(run_app("--auth-file", str(tmp_path)), f"--auth-file '{tmp_path}' is a folder")


# --- the warning: who can reach an app without a password ---


def test_loopback_is_127_0_0_0_8_ipv6_1_and_localhost():
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "fe80::1", "my-laptop.lan", "128.0.0.1"):
        assert not is_loopback(host), host


def test_the_warning_goes_with_an_open_address_and_no_password():
    base = _launch()
    everyone = dataclasses.replace(base, host="0.0.0.0", port=7861)
    line = open_warning(everyone, {})
    assert line.startswith("onediffusion-studio: warning: ") and "\n" not in line
    for words in ("anyone who can reach this machine's port 7861", "--auth USER:PASSWORD", "--auth-file", "127.0.0.1"):
        assert words in line
    assert "anyone who can reach" in open_warning(dataclasses.replace(everyone, host="::"), {})
    assert "anyone who can reach" in open_warning(dataclasses.replace(everyone, host="192.168.1.20"), {})
    shared = open_warning(dataclasses.replace(base, share=True), {})  # loopback, but a public gradio.live link
    assert "gradio.live link" in shared and "port" not in shared
    assert open_warning(base, {}) is None  # this machine only
    assert open_warning(dataclasses.replace(base, host="localhost"), {}) is None
    assert open_warning(dataclasses.replace(everyone, auth=(Login(*ALICE),)), {}) is None  # locked
    assert open_warning(everyone, {"SPACE_ID": "someone/studio"}) is None  # the Space's owner sets who sees it


def test_check_reads_the_address_from_the_environment_too():
    launch = _launch(env={"GRADIO_SERVER_NAME": "0.0.0.0"})  # as in the Docker image
    assert "anyone who can reach" in open_warning(launch, {})
    assert open_warning(_launch("--auth", "a:1", env={"GRADIO_SERVER_NAME": "0.0.0.0"}), {}) is None


@pytest.mark.slow
def test_an_open_start_on_every_address_warns_once_on_stderr_and_serves(tiny_model_dir, tmp_path):
    port = free_port()
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--model", str(tiny_model_dir), "--host", "0.0.0.0", "--port", str(port)],
            cwd=ROOT,
            env=launcher_env(),
            stdout=stdout,
            stderr=stderr,
        )
    try:
        _wait_for_line(out, "Running on local URL", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=10) as response:
            assert response.status == 200  # open: no login asked
    finally:
        process.terminate()
        process.wait(timeout=30)
    warnings = [line for line in err.read_text().splitlines() if "warning" in line.lower()]
    assert warnings == [
        f"onediffusion-studio: warning: no password is set, so anyone who can reach this machine's port {port} "
        "can use the app (listening on 0.0.0.0): lock it with --auth USER:PASSWORD or --auth-file PATH, or keep "
        "it to this machine with --host 127.0.0.1."
    ], err.read_text()[-3000:]


# --- a real app with two users (alice by flag, bob from a file) on every address, with MCP ---


@pytest.fixture(scope="module")
def auth_app(tiny_model_dir, tmp_path_factory):
    users = _auth_file(tmp_path_factory.mktemp("auth"), f"# the app's users\n{BOB[0]}:{BOB[1]}\n")
    args = ["--model", str(tiny_model_dir), "--host", "0.0.0.0", "--mcp", "--auth", ":".join(ALICE)]
    with launched_app(*args, "--auth-file", str(users), log_name="app-auth.log") as url:
        yield SimpleNamespace(url=url, log=ARTIFACTS / "app-auth.log")


@pytest.fixture(scope="module")
def alice(auth_app) -> Client:
    return Client(auth_app.url, auth=ALICE, verbose=False, download_files=False)


@pytest.fixture(scope="module")
def generated(alice) -> tuple[list, int]:
    """One text-to-image run as alice (2 steps, 64x64): the gallery and the seed."""
    gallery, seed, _ = alice.predict(
        prompt="a red cube",
        negative_prompt="",
        size="64x64",
        steps=2,
        guidance=4.0,
        seed=1,
        randomize_seed=False,
        api_name="/text_to_image",
    )
    return gallery, seed


@pytest.mark.browser
def test_the_page_asks_for_a_login_refuses_a_wrong_password_and_lets_a_user_in(browser, auth_app):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(auth_app.url, wait_until="load")
        expect(page.get_by_role("button", name="Login")).to_be_visible()
        assert page.locator("#model-banner").count() == 0  # nothing of the app before the login
        page.get_by_label("username").fill(BOB[0])
        page.get_by_label("password").fill("not-his-password")
        page.get_by_role("button", name="Login").click()
        expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
        expect(page.get_by_label("username")).to_have_value("")  # Gradio clears the form after a refusal
        page.get_by_label("username").fill(BOB[0])
        page.get_by_label("password").fill(BOB[1])
        page.get_by_role("button", name="Login").click()
        page.locator("#model-banner").wait_for(state="visible")  # the app itself, after Gradio reloads the page
    finally:
        context.close()


def test_the_api_needs_a_login_and_a_user_can_call_it(auth_app, alice, generated, tiny_model_dir):
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(auth_app.url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):  # Gradio answers 400, gradio_client says ValueError
        Client(auth_app.url, auth=(ALICE[0], "wrong"), verbose=False)
    assert alice.predict(api_name="/model_info")["model"] == str(tiny_model_dir)
    gallery, seed = generated
    assert seed == 1 and gallery[0]["caption"] == "image 1 · seed 1"
    assert gallery[0]["image"]["url"].startswith(f"{auth_app.url}gradio_api/file=")


def test_the_files_it_hands_out_need_the_login_too(alice, generated):
    url = generated[0][0]["image"]["url"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401  # Gradio's answer: 401 "Not authenticated", no redirect to the login
    assert b"Not authenticated" in refused.value.read()
    served = httpx.get(url, cookies=alice.cookies, timeout=10)  # the session's cookie from the login
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "method, route",
    [
        ("GET", "config"),
        ("GET", "gradio_api/info"),
        ("GET", f"gradio_api/file={ROOT / 'assets' / 'examples' / 'scene_az000.png'}"),  # an allowed path
        ("POST", "gradio_api/upload"),
        ("POST", "gradio_api/queue/join"),
    ],
)
def test_every_app_route_refuses_a_visitor_without_the_login(auth_app, method, route):
    assert httpx.request(method, f"{auth_app.url}{route}", timeout=10).status_code == 401


def test_mcp_lists_the_tools_to_anyone_but_runs_none_under_auth(auth_app, alice):
    """Gradio 6.31 mounts its MCP server outside the login check: anyone lists the tools (and reads their
    schema at /gradio_api/mcp/schema); but each call goes through an internal gradio_client that has no
    credentials, so every call fails, for a visitor and a logged-in user alike."""
    from tests.app.test_mcp import session, texts

    mcp_url = f"{auth_app.url}gradio_api/mcp/"
    assert httpx.get(f"{mcp_url}schema", timeout=10).status_code == 200

    async def work(client):
        tools = (await client.list_tools()).tools
        return tools, await client.call_tool("model_info", {})

    cookie = "; ".join(f"{name}={value}" for name, value in alice.cookies.items())
    for headers in (None, {"Cookie": cookie}):
        tools, result = session(mcp_url, work, headers)
        assert {"text_to_image", "model_info"} <= {tool.name for tool in tools}
        assert result.isError and "credentials were not provided" in texts(result), texts(result)


def test_no_password_reaches_the_apps_log(auth_app, alice):
    log = auth_app.log.read_text()
    warnings = [line for line in log.splitlines() if "onediffusion-studio: warning" in line]
    assert "Running on local URL" in log and len(warnings) == 1  # users set: no open-address warning
    assert warnings[0].startswith("onediffusion-studio: warning: --mcp behind a password lists the tools to anyone")
    assert not any(secret in log for secret in SECRETS)


def test_mcp_behind_a_password_is_warned_about():
    from ui.cli import build_parser, check, mcp_warning

    parse = build_parser().parse_args
    assert mcp_warning(check(parse(["--mcp"]), {})) is None
    assert mcp_warning(check(parse(["--auth", "alice:pw"]), {})) is None
    assert "lists the tools to anyone and runs none" in mcp_warning(check(parse(["--mcp", "--auth", "a:pw"]), {}))
