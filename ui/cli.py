"""The launcher: `onediffusion-studio`, `python -m ui` and `python app.py` all run ``main``.

Every setting is checked before Gradio or the model is loaded, and a setting this machine cannot
honour ends in one line naming it, its value and what to do instead, with exit status 2 (as argparse
does). Models: an explicit local folder (``--model`` or ``$ONEDIFFUSION_MODEL``) that is missing, a
file or not a checkpoint is an error, since the user typed it; a hub id that cannot be had (offline,
unknown) and the default published model fall back to the bundled demo model, with a banner saying so.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import shlex
import socket
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from onediffusion.hub import is_hub_id  # imports only huggingface_hub's validators (no torch)
from onediffusion.version import __version__  # imports nothing heavy (onediffusion loads lazily)

PROG = "onediffusion-studio"
FIRST_PORT = 7860  # Gradio's default: without a port, Gradio takes the first free one from here (GRADIO_NUM_PORTS)
DTYPE_NAMES = (
    "bfloat16",
    "float16",
    "float32",
)  # onediffusion.serving.DTYPES's keys, named here to answer without torch
DEVICE_TYPES = ("cpu", "cuda", "mps")
EVERY_ADDRESS = ("0.0.0.0", "::")
AUTH_VARIABLE = "ONEDIFFUSION_AUTH"
KEEP_FILES = 3600  # seconds the served files are kept: ui.sessions.KEEP_FILES_SECONDS, named here without Gradio

EXAMPLES = f"""examples:
  HF_HUB_OFFLINE=1 {PROG}                    # offline demo: the bundled demo model, OneDiffusion-Mini
  {PROG} --device cuda --offload             # the published model on a GPU, idle parts in CPU memory (16 GB)
  {PROG} --model ./my-checkpoint --port 7870 # a local checkpoint in the published folder layout
  {PROG} --device cpu --quantize int8 --fast  # the published model in 8 GB of RAM, faster sampling on

environment:
  ONEDIFFUSION_MODEL   the model when --model is not given (a hub id or a local folder)
  GRADIO_SERVER_PORT   the port when --port is not given (else the first free one from {FIRST_PORT})
  GRADIO_SERVER_NAME   the address when --host is not given (0.0.0.0 in Docker and on Spaces)
  GRADIO_NUM_PORTS     how many ports from {FIRST_PORT} Gradio tries without a port (its default: 100)
  HF_HUB_OFFLINE=1     never reach the hub: a hub model must be in the local cache, else the demo model runs
  HF_HOME              where downloaded weights are kept (default ~/.cache/huggingface)
  ONEDIFFUSION_CACHE   where the random tiny fallback model is built (default ~/.cache/onediffusion)
  ONEDIFFUSION_KEEP_FILES  seconds the app keeps the files it hands out when --keep-files is not given ({KEEP_FILES})
  {AUTH_VARIABLE}    user:password pairs, separated by commas, when neither --auth nor --auth-file is given
  SPACES_ZERO_GPU      set by Hugging Face ZeroGPU Spaces: CUDA is attached per call, so it is not checked
"""


class LaunchError(Exception):
    """A setting this machine cannot honour; the message is the one line the user sees."""


@dataclass(frozen=True)
class Login:
    """One user allowed in; the password never shows in a repr (nor, below, in any message)."""

    user: str
    password: str = field(repr=False)
    given: str = field(default="", repr=False, compare=False)  # where: "--auth", "--auth-file 'f' line 3", ...


@dataclass(frozen=True)
class Launch:
    """Checked settings: what to load, where to run it, where to serve it."""

    model: str | None  # None: the loader's default (the published model)
    device: str | None
    dtype: str | None
    offload: bool
    host: str
    port: int | None  # None: Gradio takes the first free one from FIRST_PORT
    share: bool
    captioner: str | None = None  # None: the default captioner (ui.captioner.DEFAULT_CAPTIONER)
    mcp: bool = False
    keep_files: int = KEEP_FILES  # seconds
    auth: tuple[Login, ...] = ()  # nobody asked for a password when empty
    quantize: str | None = None  # "int8": the transformer's and text encoder's weights in 8 bits
    fast: bool = False  # "Faster sampling" (step caching) on by default in the app

    @property
    def url(self) -> str | None:
        """Where the app will answer; None until Gradio has picked the port."""
        if self.port is None:
            return None
        host = "127.0.0.1" if self.host in EVERY_ADDRESS else self.host
        return f"http://[{host}]:{self.port}/" if ":" in host else f"http://{host}:{self.port}/"

    @property
    def gradio_auth(self) -> list[tuple[str, str]] | None:
        """The users as ``launch(auth=...)`` takes them; None leaves the app open."""
        return [(login.user, login.password) for login in self.auth] or None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line and exit status 2, for argparse's own complaints and for ours alike."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="OneDiffusion Studio: every OneDiffusion task in the browser.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        help="hub id (owner/name) or local folder in the published layout "
        "(default: $ONEDIFFUSION_MODEL, else lehduong/OneDiffusion)",
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: cuda if present, else mps, else cpu)")
    parser.add_argument("--dtype", choices=DTYPE_NAMES, help="precision (default: bfloat16 on CUDA, float32 on CPU)")
    parser.add_argument("--offload", action="store_true", help="keep idle parts in CPU memory (CUDA only; less memory)")
    parser.add_argument(
        "--quantize",
        metavar="int8",
        help="weights of the transformer and text encoder in 8 bits (torchao): half the memory of bfloat16, "
        "images close to but not exactly bfloat16's; computes in bfloat16 on a GPU, float32 on a CPU",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="'Faster sampling' on by default: step caching runs the full network at about half of the steps "
        "(images close to, not exactly, exact sampling's)",
    )
    parser.add_argument(
        "--host",
        help="address to listen on (default: $GRADIO_SERVER_NAME, else 127.0.0.1); 0.0.0.0 accepts other machines",
    )
    parser.add_argument(
        "--port", help=f"port (default: $GRADIO_SERVER_PORT, else the first free one from {FIRST_PORT})"
    )
    parser.add_argument(
        "--captioner",
        metavar="NAME|none",
        help="the model behind the 'Describe this photo' buttons: a hub id or a local folder, loaded on first use "
        "(default: HuggingFaceTB/SmolVLM-500M-Instruct); none switches the buttons off",
    )
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    parser.add_argument(
        "--mcp",
        action="store_true",
        help="also serve the tasks as tools for agents: an MCP server at <url>gradio_api/mcp/ (off by default)",
    )
    parser.add_argument(
        "--keep-files",
        metavar="SECONDS",
        help="how long results and uploads stay on the server before they are deleted "
        f"(default: $ONEDIFFUSION_KEEP_FILES, else {KEEP_FILES})",
    )
    parser.add_argument(
        "--auth",
        action="append",
        metavar="USER:PASSWORD",
        help="ask for a user name and password on the page and the API; repeat for several users "
        f"(default: ${AUTH_VARIABLE} when --auth-file is not given either, else no password)",
    )
    parser.add_argument(
        "--auth-file",
        metavar="PATH",
        help="users from a file only you can read (chmod 600): one user:password a line, # comments; "
        "combines with --auth",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


@dataclass(frozen=True)
class Setting:
    """One setting's text and where the user gave it: a flag (``--port``) or an environment variable."""

    value: str
    source: str

    def __str__(self) -> str:
        return f"{self.source} {self.value!r}" if self.source.startswith("--") else f"{self.source}={self.value!r}"

    @property
    def instead(self) -> str:
        """How to go back to the default."""
        return f"leave {self.source} out" if self.source.startswith("--") else f"unset {self.source}"


def _setting(flag_value: str | None, flag: str, env: dict[str, str], variable: str) -> Setting | None:
    """The flag, else the environment variable (an empty one counts as unset), else None."""
    if flag_value is not None:
        return Setting(flag_value, flag)
    return Setting(env[variable], variable) if env.get(variable) else None


def parse_port(port: Setting) -> int:
    number = int(port.value) if port.value.strip().isdigit() else 0
    if not 1 <= number <= 65535:
        raise LaunchError(
            f"{port} is not a port: give a whole number from 1 to 65535, or {port.instead} "
            f"to take the first free one from {FIRST_PORT}."
        )
    return number


def _bind_error(host: str, port: int) -> OSError | None:
    """Why ``host:port`` cannot be listened on, or None when it can (the socket is closed at once)."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
            0
        ]
        with socket.socket(family, kind) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Gradio binds: TIME_WAIT is no obstacle
            sock.bind(address)
    except (OSError, UnicodeError) as err:  # UnicodeError: a host name IDNA cannot encode
        return err if isinstance(err, OSError) else OSError(errno.EADDRNOTAVAIL, str(err))
    return None


def _bind_message(err: OSError, host: Setting, port: Setting) -> str:
    if isinstance(err, socket.gaierror) or err.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this machine: use 127.0.0.1 (this machine only) or 0.0.0.0 "
            f"(other machines too), or {host.instead}."
        )
    if err.errno == errno.EADDRINUSE:
        return (
            f"{port} is taken on {host.value} (another program listens there): pick a free port, or "
            f"{port.instead} to take the first free one from {FIRST_PORT}."
        )
    if err.errno == errno.EACCES:
        return f"{port}: ports below 1024 need administrator rights here: pick one from 1024 to 65535."
    return f"cannot listen on {host.value} port {port.value}: {err.strerror or err}."


def choose_port(host: Setting, port: Setting | None) -> int | None:
    """The port asked for when it is free here, else an error. Without one, None once the address is known to
    be this machine's: Gradio's launch then takes the first free port from 7860 (``GRADIO_NUM_PORTS`` tried)."""
    number = parse_port(port) if port is not None else 0  # 0: any free port, to check the address alone
    if err := _bind_error(host.value, number):
        raise LaunchError(_bind_message(err, host, port or Setting(str(FIRST_PORT), "--port")))
    return number or None


def check_model(model: Setting | None) -> Path | None:
    """Reject a model the user typed that cannot be one; return it when it is a local folder (checked later,
    after the cheap checks, since reading it means importing the library)."""
    if model is None:
        return None
    text = model.value
    if not text.strip():
        raise LaunchError(f"{model} is empty: give a hub id like owner/name or a model folder, or {model.instead}.")
    path = Path(text).expanduser()
    if path.is_file():
        raise LaunchError(
            f"{model} is a file: give the checkpoint's folder (the one holding transformer/, vae/, "
            "text_encoder/, tokenizer/, scheduler/) or a hub id like owner/name."
        )
    if path.is_dir():
        return path
    if not is_hub_id(text):
        raise LaunchError(
            f"{model}: there is no such folder here, and it is not a hub id like owner/name: check the path."
        )
    return None  # a hub id: downloaded at load time, or the demo model with a banner saying why not


def check_checkpoint(model: Setting, folder: Path) -> None:
    from onediffusion.loading import SUBFOLDERS  # loads the library, which the app needs next anyway

    missing = [f"{name}/" for name in SUBFOLDERS if not (folder / name).is_dir()]
    if missing:
        raise LaunchError(
            f"{model} is not a OneDiffusion checkpoint: it lacks {', '.join(missing)}; give the folder that holds them."
        )


def _check_cuda(device: Setting, index: int | None) -> None:
    import torch

    if not torch.cuda.is_available():
        why = "this PyTorch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise LaunchError(
            f"{device}: CUDA is not available here ({why}): use --device cpu, or leave --device out "
            "for the best device here."
        )
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        names = "cuda:0" if count == 1 else f"cuda:0 to cuda:{count - 1}"
        raise LaunchError(f"{device}: this machine has {count} CUDA GPU{'s' * (count > 1)}: use {names}.")


def check_device(device: Setting | None, zero_gpu: bool) -> bool:
    """Reject a device this machine lacks; return whether the model will run on CUDA."""
    import torch  # about 2 s; Gradio and the model are still not loaded

    if device is None:
        return zero_gpu or torch.cuda.is_available()
    try:
        parsed = torch.device(device.value)
    except (RuntimeError, ValueError):
        parsed = None
    if parsed is None or parsed.type not in DEVICE_TYPES:
        raise LaunchError(
            f"{device} is not a device the app runs on: use cpu, cuda, cuda:N or mps, or leave "
            "--device out for the best one here."
        )
    if parsed.type == "cuda" and not zero_gpu:  # ZeroGPU attaches CUDA per call: nothing to ask before
        _check_cuda(device, parsed.index)
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise LaunchError(f"{device}: MPS (Apple GPUs) is not available here: use --device cpu, or leave --device out.")
    return parsed.type == "cuda"


def check_precision(dtype: str | None, offload: bool, cuda: bool, zero_gpu: bool) -> None:
    import torch

    if offload and not cuda:
        raise LaunchError(
            "--offload moves idle parts of the model between a CUDA GPU and CPU memory, and the model "
            "does not run on CUDA here: drop --offload."
        )
    if dtype == "bfloat16" and cuda and not zero_gpu and not torch.cuda.is_bf16_supported():
        raise LaunchError("--dtype 'bfloat16': this GPU cannot compute in bfloat16: use --dtype float16.")


def check_quantize(quantize: str | None, dtype: str | None, device: str | None, cuda: bool) -> None:
    """A weight quantization this machine cannot honour (unknown, torchao missing, no int8 kernels on the
    device, a precision other than bfloat16 or float32), in one line naming the flag and what to do."""
    from onediffusion.quantize import QUANTIZE_CHOICES
    from onediffusion.quantize import check_quantize as check

    if quantize is None:
        return
    if quantize not in QUANTIZE_CHOICES:
        raise LaunchError(f"--quantize {quantize!r} is not one the app knows: use --quantize int8, or leave it out.")
    if dtype not in (None, "bfloat16", "float32"):
        raise LaunchError(
            f"--quantize {quantize} runs in bfloat16 or float32: use --dtype bfloat16 on a GPU, "
            "--dtype float32 on a CPU, or leave --dtype out."
        )
    try:
        check(quantize, device or ("cuda" if cuda else "cpu"))
    except ValueError as err:
        raise LaunchError(f"--quantize {quantize}: {err}") from None


def check_keep_files(keep: Setting | None) -> int:
    """Seconds the served files are kept (``KEEP_FILES`` without a setting)."""
    if keep is None:
        return KEEP_FILES
    text = keep.value.strip()
    if not text.isdigit() or int(text) < 1:
        raise LaunchError(
            f"{keep} is not a number of seconds: give a whole number of at least 1, or {keep.instead} "
            f"to keep files for {KEEP_FILES} seconds."
        )
    return int(text)


def parse_login(text: str, where: str) -> Login:
    """``user:password``, split at the first colon (a password may hold more). ``where`` names it in errors,
    which never show ``text``: it may be a password typed without its user."""
    user, colon, password = text.partition(":")
    user = user.strip()  # Gradio strips the name typed at login: one with spaces around it could never log in
    if not colon:
        raise LaunchError(f"{where} is not USER:PASSWORD (there is no colon): give each user as name:password.")
    if not user:
        raise LaunchError(f"{where} has no user name before the colon: give each user as name:password.")
    if not password:
        raise LaunchError(f"{where} gives user {user!r} an empty password: give it as {user}:PASSWORD.")
    return Login(user, password, where)


def _auth_file_text(file: Setting) -> str:
    """The file's text, once it is known to be a file only its owner can read or change."""
    path = Path(file.value).expanduser()
    if not file.value.strip():
        raise LaunchError(f"{file} is empty: give the file of user:password lines, or {file.instead}.")
    if path.is_dir():
        raise LaunchError(f"{file} is a folder: give the file of user:password lines inside it.")
    if not path.is_file():
        raise LaunchError(f"{file}: there is no such file: check the path, or {file.instead}.")
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name != "nt" and mode & 0o066:  # group or others may read or write: passwords for anyone on the machine
        who = "read" if mode & 0o044 else "changed"
        raise LaunchError(
            f"{file} can be {who} by other users of this machine (mode {mode:o}): run chmod 600 "
            f"{shlex.quote(str(path))} so that only you can, then start again."
        )
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
        raise LaunchError(f"{file} cannot be read ({why}): give a text file of user:password lines.") from None


def read_auth_file(file: Setting) -> list[Login]:
    """One ``user:password`` a line; blank lines and ``#`` comments skipped, spaces around a line ignored."""
    logins = [
        parse_login(line.strip(), f"{file} line {number}")
        for number, line in enumerate(_auth_file_text(file).splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not logins:
        raise LaunchError(f"{file} holds no user: add a line user:password for each, or {file.instead}.")
    return logins


def _auth_from_env(variable: Setting) -> list[Login]:
    """``user:password`` pairs separated by commas, spaces around each ignored (so no password holds a comma
    or ends in a space here: those go in --auth-file)."""
    pairs = [pair.strip() for pair in variable.value.split(",")]
    many = len([pair for pair in pairs if pair]) > 1
    logins = [
        parse_login(pair, f"{variable.source} entry {number}" if many else variable.source)
        for number, pair in enumerate(pairs, start=1)
        if pair
    ]
    if not logins:
        raise LaunchError(f"{variable.source} holds no user: give user:password, or {variable.instead}.")
    return logins


def check_auth(flags: list[str] | None, file: str | None, env: Mapping[str, str]) -> tuple[Login, ...]:
    """The users: every --auth and the --auth-file's together; $ONEDIFFUSION_AUTH only when neither is given."""
    flags = flags or []
    logins = [
        parse_login(text, f"--auth number {n}" if len(flags) > 1 else "--auth") for n, text in enumerate(flags, 1)
    ]
    if file is not None:
        logins += read_auth_file(Setting(file, "--auth-file"))
    if not flags and file is None and env.get(AUTH_VARIABLE):
        logins = _auth_from_env(Setting(env[AUTH_VARIABLE], AUTH_VARIABLE))
    first: dict[str, Login] = {}
    for login in logins:  # Gradio keeps the last password of a user given twice: say so rather than guess
        if (earlier := first.setdefault(login.user, login)) is not login:
            raise LaunchError(
                f"{login.given} gives user {login.user!r} again (first in {earlier.given}): give each user once."
            )
    return tuple(logins)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``: localhost, 127.0.0.0/8 or ::1. Any other name counts as
    reachable (it is not looked up): a warning too many beats one too few."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is IPv4's loopback too
    return (mapped or address).is_loopback


def open_warning(launch: Launch, env: Mapping[str, str]) -> str | None:
    """The line to print when others can use the app without a password; None when only this machine can,
    when users are set, or on a Hugging Face Space (``SPACE_ID``), whose visibility the Space's owner sets."""
    if launch.auth or env.get("SPACE_ID"):
        return None
    reachable = not is_loopback(launch.host)
    port = f"port {launch.port}" if launch.port else "the app's port"
    who = [f"anyone who can reach this machine's {port}"] if reachable else []
    if launch.share:
        who.append("anyone with its public gradio.live link")
    if not who:
        return None
    local = ", or keep it to this machine with --host 127.0.0.1" if reachable else ""
    return (
        f"{PROG}: warning: no password is set, so {' and '.join(who)} can use the app (listening on "
        f"{launch.host}): lock it with --auth USER:PASSWORD or --auth-file PATH{local}."
    )


def mcp_warning(launch: Launch) -> str | None:
    """The line to print when the MCP server is asked for behind a password: Gradio 6.31 lists its tools to
    anyone but runs each call through an internal client without the login, so every call fails
    (tests/app/test_auth.py)."""
    if not (launch.mcp and launch.auth):
        return None
    return (
        f"{PROG}: warning: --mcp behind a password lists the tools to anyone and runs none of them (Gradio serves "
        "MCP calls without the login): drop --mcp, or serve the tools from a second app on 127.0.0.1."
    )


def check(args: argparse.Namespace, env: dict[str, str]) -> Launch:
    """Every setting checked, the cheap ones first; a LaunchError names the first that cannot be honoured."""
    host = _setting(args.host, "--host", env, "GRADIO_SERVER_NAME") or Setting("127.0.0.1", "--host")
    if not host.value.strip():
        raise LaunchError(f"{host} is empty: use 127.0.0.1 (this machine only) or 0.0.0.0 (other machines too).")
    port = choose_port(host, _setting(args.port, "--port", env, "GRADIO_SERVER_PORT"))
    keep_files = check_keep_files(_setting(args.keep_files, "--keep-files", env, "ONEDIFFUSION_KEEP_FILES"))
    auth = check_auth(args.auth, args.auth_file, env)
    model = _setting(args.model, "--model", env, "ONEDIFFUSION_MODEL")
    folder = check_model(model)
    device = Setting(args.device, "--device") if args.device is not None else None
    zero_gpu = bool(env.get("SPACES_ZERO_GPU"))
    cuda = check_device(device, zero_gpu)
    check_precision(args.dtype, args.offload, cuda, zero_gpu)
    check_quantize(args.quantize, args.dtype, args.device, cuda)
    if folder is not None:
        check_checkpoint(model, folder)
    model_name = model.value if model else None
    return Launch(
        model_name,
        args.device,
        args.dtype,
        args.offload,
        host.value,
        port,
        args.share,
        args.captioner,
        args.mcp,
        keep_files,
        auth,
        args.quantize,
        args.fast,
    )


def serve(launch: Launch) -> None:
    """Load the model (or the demo model, saying why), then serve the app until stopped."""
    import logging

    import torch

    from ui import Settings, Studio, build_demo, launch_options
    from ui.sessions import steady_allocator, sweep_every, wants_steady_allocator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    model = {"model": launch.model} if launch.model is not None else {}
    if launch.captioner is not None:
        model["captioner"] = launch.captioner
    studio = Studio(
        Settings(
            device=launch.device,
            dtype=launch.dtype,
            offload=launch.offload,
            quantize=launch.quantize,
            fast=launch.fast,
            **model,
        )
    )
    try:
        info = studio.load()
    except torch.OutOfMemoryError:
        sys.exit(f"{PROG}: error: out of memory loading the model: add --offload, or try --dtype float16.")
    if info.is_fallback:
        print(f"\nCould not load {info.requested}: {info.fallback_reason}\nUsing the demo model: {info.description}\n")
    if info.advice:
        print(info.advice, flush=True)  # what to run instead, or what this choice costs
    if wants_steady_allocator(info.device, info.is_demo):
        steady_allocator()  # large uploads no longer grow the app for good (ui.sessions)
    sweep_every(min(launch.keep_files, 600), launch.keep_files)  # the app's own run folders, as Gradio's cache
    try:
        build_demo(studio, launch.keep_files).launch(
            server_name=launch.host,
            server_port=launch.port,
            share=launch.share,
            auth=launch.gradio_auth,
            **launch_options(mcp=launch.mcp),
        )
    except OSError as err:  # the port, free when checked, taken while the model loaded
        where = launch.url or f"a free port from {FIRST_PORT}"
        sys.exit(f"{PROG}: error: cannot serve on {where}: {str(err).splitlines()[0]}; start again.")


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        launch = check(args, dict(os.environ))
    except LaunchError as err:
        parser.error(str(err))
    for warning in (open_warning(launch, os.environ), mcp_warning(launch)):
        if warning:
            print(warning, file=sys.stderr, flush=True)
    where = launch.url or f"the first free port from {FIRST_PORT} (its address follows)"
    tools = f" (tools for agents at {launch.url or '<address>/'}gradio_api/mcp/)" if launch.mcp else ""
    print(f"OneDiffusion Studio: loading the model, then serving on {where}{tools}", flush=True)
    try:
        serve(launch)
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C while the model loads: stop without a traceback
