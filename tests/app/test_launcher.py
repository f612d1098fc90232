"""The launcher run as a user runs it, in a subprocess: every setting this machine cannot honour ends in
one line and exit status 2, without a traceback; without a port the first free one from 7860 is taken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from onediffusion.version import __version__
from ui.cli import DTYPE_NAMES, FIRST_PORT, build_parser, check

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER_VARIABLES = (
    "GRADIO_SERVER_PORT",
    "GRADIO_SERVER_NAME",
    "ONEDIFFUSION_MODEL",
    "ONEDIFFUSION_AUTH",
    "SPACES_ZERO_GPU",
    "SPACE_ID",
)
STARTUP_SECONDS = 180


def launcher_env(**variables: str) -> dict[str, str]:
    """This environment without the launcher's own variables, offline, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    return {**env, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", **variables}


def run_app(*args: str, env: dict[str, str] | None = None, module: bool = False) -> subprocess.CompletedProcess:
    entry = ["-m", "ui"] if module else ["app.py"]
    return subprocess.run(
        [sys.executable, *entry, *args],
        cwd=ROOT,
        env=env or launcher_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, nothing started, and one plain line on stderr naming the setting."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("onediffusion-studio: error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def taken_port():
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
NO_MPS = pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is available here")

BAD_SETTINGS = [  # (argv, environment, words the line must hold)
    pytest.param(["--device", "banana"], {}, ["--device 'banana'", "cpu, cuda"], id="unknown-device"),
    pytest.param(["--device", "cuda"], {}, ["--device 'cuda'", "CUDA is not available"], id="no-cuda", marks=NO_CUDA),
    pytest.param(["--device", "mps"], {}, ["--device 'mps'", "MPS"], id="no-mps", marks=NO_MPS),
    pytest.param(["--device", f"cuda:{max(torch.cuda.device_count(), 1)}"], {}, ["--device 'cuda:"], id="cuda-index"),
    pytest.param(["--offload"], {}, ["--offload", "CUDA"], id="offload-without-gpu", marks=NO_CUDA),
    pytest.param(["--port", "99999"], {}, ["--port '99999'", "from 1 to 65535"], id="port-out-of-range"),
    pytest.param(["--port", "abc"], {}, ["--port 'abc'", "leave --port out"], id="port-not-a-number"),
    pytest.param(["--port", "0"], {}, ["--port '0'"], id="port-zero"),
    pytest.param([], {"GRADIO_SERVER_PORT": "abc"}, ["GRADIO_SERVER_PORT='abc'", "unset"], id="env-port-not-a-number"),
    pytest.param([], {"GRADIO_SERVER_PORT": "70000"}, ["GRADIO_SERVER_PORT='70000'"], id="env-port-out-of-range"),
    pytest.param(["--host", "192.0.2.1"], {}, ["--host '192.0.2.1'", "0.0.0.0"], id="host-not-here"),
    pytest.param(["--host", "no-such-host.invalid"], {}, ["--host 'no-such-host.invalid'"], id="host-unknown"),
    pytest.param(["--host", ""], {}, ["--host ''", "127.0.0.1"], id="host-empty"),
    pytest.param([], {"GRADIO_SERVER_NAME": "192.0.2.1"}, ["GRADIO_SERVER_NAME='192.0.2.1'"], id="env-host-not-here"),
    pytest.param(["--dtype", "float8"], {}, ["--dtype", "'float8'", "bfloat16"], id="unknown-dtype"),
    pytest.param(["--model", ""], {}, ["--model ''", "empty"], id="model-empty"),
    pytest.param(["--model", "pyproject.toml"], {}, ["--model 'pyproject.toml'", "is a file"], id="model-a-file"),
    pytest.param(
        ["--model", "./no-such-checkpoint"], {}, ["'./no-such-checkpoint'", "no such folder"], id="model-missing-folder"
    ),
    pytest.param(
        [],
        {"ONEDIFFUSION_MODEL": "/no/such/checkpoint"},
        ["ONEDIFFUSION_MODEL='/no/such/checkpoint'"],
        id="env-model-missing-folder",
    ),
    pytest.param(["--no-such-flag"], {}, ["unrecognized arguments: --no-such-flag"], id="unknown-flag"),
    # Weights in 8 bits (issue 31): an unknown quantization, or a precision the int8 path does not run in
    pytest.param(["--quantize", "int4"], {}, ["--quantize 'int4'", "use --quantize int8"], id="quantize-unknown"),
    pytest.param(
        ["--quantize", "int8", "--dtype", "float16"],
        {},
        ["--quantize int8 runs in bfloat16 or float32"],
        id="quantize-float16",
    ),
    # Passwords: the line names the flag or variable, and the user when there is one, never the text given
    pytest.param(["--auth", "Sekr1t"], {}, ["--auth is not USER:PASSWORD", "no colon"], id="auth-no-colon"),
    pytest.param(["--auth", ":Sekr1t"], {}, ["--auth has no user name"], id="auth-no-user"),
    pytest.param(["--auth", "alice:"], {}, ["--auth gives user 'alice' an empty password"], id="auth-no-password"),
    pytest.param(["--auth", "a:1", "--auth", "bob"], {}, ["--auth number 2 is not USER:PASSWORD"], id="auth-second"),
    pytest.param(
        ["--auth", "a:1", "--auth", "a:2"],
        {},
        ["--auth number 2 gives user 'a' again (first in --auth number 1)"],
        id="auth-user-twice",
    ),
    pytest.param(
        [], {"ONEDIFFUSION_AUTH": "Sekr1t"}, ["ONEDIFFUSION_AUTH is not USER:PASSWORD"], id="env-auth-no-colon"
    ),
    pytest.param(
        [], {"ONEDIFFUSION_AUTH": "a:1, bob:"}, ["ONEDIFFUSION_AUTH entry 2", "'bob'", "empty password"], id="env-auth"
    ),
    pytest.param([], {"ONEDIFFUSION_AUTH": " , "}, ["ONEDIFFUSION_AUTH holds no user"], id="env-auth-no-user"),
]


@pytest.mark.parametrize("argv, variables, words", BAD_SETTINGS)
def test_a_setting_this_machine_cannot_honour_is_one_line_and_exit_2(argv, variables, words):
    assert_refused(run_app(*argv, env=launcher_env(**variables)), *words)


def test_a_folder_that_is_not_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "transformer").mkdir()
    assert_refused(run_app("--model", str(tmp_path)), f"--model '{tmp_path}'", "not a OneDiffusion checkpoint", "vae/")


def test_a_taken_port_is_refused_by_flag_and_by_environment(taken_port):
    assert_refused(run_app("--port", str(taken_port)), f"--port '{taken_port}' is taken", "pick a free port")
    result = run_app(env=launcher_env(GRADIO_SERVER_PORT=str(taken_port)))
    assert_refused(result, f"GRADIO_SERVER_PORT='{taken_port}' is taken", "unset GRADIO_SERVER_PORT")


def test_help_shows_four_examples_and_every_variable():
    result = run_app("--help", module=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: onediffusion-studio")
    examples = result.stdout.split("examples:")[1].split("environment:")[0].strip().splitlines()
    assert len(examples) == 4 and all(line.strip().startswith(("onediffusion-studio", "HF_")) for line in examples)
    for words in ("offline demo", "--offload", "--model ./my-checkpoint", "lehduong/OneDiffusion", "--quantize int8"):
        assert words in result.stdout
    for variable in (
        "ONEDIFFUSION_MODEL",
        "GRADIO_SERVER_PORT",
        "GRADIO_SERVER_NAME",
        "HF_HUB_OFFLINE",
        "ONEDIFFUSION_AUTH",
    ):
        assert f"\n  {variable}" in result.stdout


def test_version():
    result = run_app("--version", module=True)
    assert (result.returncode, result.stdout.strip()) == (0, f"onediffusion-studio {__version__}")


def test_the_launcher_answers_without_loading_gradio_or_torch():
    code = "import sys, ui.cli; print(sorted({'gradio', 'torch', 'onediffusion.pipeline'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_settings_come_from_the_flags_then_the_environment_then_the_defaults(taken_port):
    parse = build_parser().parse_args
    default = check(parse([]), {})
    assert (default.model, default.host, default.share, default.offload) == (None, "127.0.0.1", False, False)
    assert not default.mcp
    assert default.port is None and default.url is None  # Gradio's launch takes the first free port from 7860
    port = _first_free(taken_port + 1)
    env = {"ONEDIFFUSION_MODEL": "owner/mine", "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "0.0.0.0"}
    from_env = check(parse([]), env)
    assert (from_env.model, from_env.port, from_env.host) == ("owner/mine", port, "0.0.0.0")
    flags = check(parse(["--model", "x/y", "--share", "--dtype", "float16", "--host", "127.0.0.1", "--mcp"]), env)
    assert (flags.model, flags.share, flags.dtype, flags.host, flags.mcp) == ("x/y", True, "float16", "127.0.0.1", True)


def test_dtype_names_are_the_loaders():
    from onediffusion.serving import DTYPES

    assert sorted(DTYPE_NAMES) == sorted(DTYPES)


def _hold(port: int) -> socket.socket | None:
    """A socket listening on 127.0.0.1:port, or None when another program holds it already."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except OSError:
        sock.close()
        return None


def _first_free(start: int) -> int:
    for port in range(start, start + 100):
        if sock := _hold(port):
            sock.close()
            return port
    pytest.fail(f"no free port from {start}")


def _wait_for_line(log: Path, marker: str, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        lines = [line for line in log.read_text().splitlines() if marker in line]
        if lines:
            return lines[0]
        assert process.poll() is None, f"the app exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)
    pytest.fail(f"no {marker!r} within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_without_a_port_the_first_free_one_from_7860_serves(tiny_model_dir, tmp_path):
    held = [sock for sock in map(_hold, (FIRST_PORT, FIRST_PORT + 1)) if sock is not None]
    expected = _first_free(FIRST_PORT + 2)
    log = tmp_path / "app.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--model", str(tiny_model_dir)],
            cwd=ROOT,
            env=launcher_env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        assert "serving on the first free port from 7860" in _wait_for_line(log, "serving on", process)
        _wait_for_line(log, f"Running on local URL:  http://127.0.0.1:{expected}", process)  # Gradio's own line
        url = f"http://127.0.0.1:{expected}/"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
        for sock in held:
            sock.close()


def test_the_port_rule_is_the_message():
    from ui.cli import LaunchError, Setting, parse_port

    assert parse_port(Setting("1", "--port")) == 1 and parse_port(Setting("65535", "--port")) == 65535
    for bad in ("0", "65536", "-1", "http"):
        with pytest.raises(LaunchError, match="a whole number from 1 to 65535"):
            parse_port(Setting(bad, "--port"))


@pytest.mark.slow
def test_gradio_num_ports_bounds_the_search(tiny_model_dir):
    """Without a port, Gradio's own search serves (and honours GRADIO_NUM_PORTS): with 7860 taken and one port
    to try, the launcher ends in one line."""
    held = _hold(FIRST_PORT)
    if held is None:
        pytest.skip(f"port {FIRST_PORT} is in use by another program here")
    try:
        result = run_app("--model", str(tiny_model_dir), env=launcher_env(GRADIO_NUM_PORTS="1"))
    finally:
        held.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "onediffusion-studio: error: cannot serve on a free port from 7860: Cannot find empty port in range: 7860-7860"
        )
    )
