"""The settings of one result, carried with it: PNG text chunks and a JSON dict.

A PNG gets two text chunks: ``parameters`` in the layout most image tools read (AUTOMATIC1111's)::

    [[text2image]] a red fox in the snow
    Negative prompt: blurry
    Steps: 30, Sampler: Euler, CFG scale: 4.0, Seed: 123, Size: 512x512, Model: lehduong/OneDiffusion, ...

and ``onediffusion``, the same settings as JSON, read back exactly. Reading never raises: a PNG without
settings, with another tool's, or with hostile chunks (megabytes of text, invalid JSON, control
characters) gives what could be read and a list of problems in plain words.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zlib
from dataclasses import asdict, dataclass, field

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pydantic import BaseModel, ConfigDict, ValidationError

from .version import __version__

PARAMETERS_KEY = "parameters"
JSON_KEY = "onediffusion"
SAMPLER = "Euler"  # the flow-matching Euler scheduler
MAX_TEXT_BYTES = 64 * 1024  # far above any real settings (prompts are at most 300 tokens)
MAX_PNG_BYTES = 256 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A1111's own pattern for one "Key: value" pair of the last line; values may be quoted.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_PARAM_FIELDS = {"Steps": "steps", "CFG scale": "guidance", "Seed": "seed", "Model": "model", "Task": "task",
                 "Version": "version"}  # fmt: skip


_RESULT_FIELDS = ("prompt", "negative_prompt", "task", "model", "version", "seed", "steps", "width", "height",
                  "guidance")  # fmt: skip


def app_version() -> str:
    """This package's version (``onediffusion.version``: the one ``pip install .`` records too)."""
    return __version__


@dataclass(frozen=True)
class ResultSettings:
    """Everything needed to make one result again. ``prompt`` is the prompt as sent (task token first)."""

    prompt: str
    seed: int
    steps: int
    guidance: float
    width: int
    height: int
    negative_prompt: str = ""
    task: str = "text2image"
    model: str = ""
    version: str = field(default_factory=app_version)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.width, self.height

    def as_dict(self) -> dict:
        """JSON-ready settings, for manifests, zips and the ``onediffusion`` chunk."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> tuple[ResultSettings | None, list[str]]:
        """Settings from a dict (ours or read from a file): None when a required field is missing or of the
        wrong type, with the problems found; unknown keys are ignored."""
        values, problems = _typed_fields(data)
        missing = [name for name in ("prompt", "seed", "steps", "guidance", "width", "height") if name not in values]
        if missing:
            return None, problems + [f"No {', '.join(missing)} in the settings."]
        return cls(**values), problems

    def parameters_text(self) -> str:
        """The A1111 ``parameters`` text (no "Negative prompt" line when there is none, as A1111 writes it)."""
        pairs = {
            "Steps": self.steps,
            "Sampler": SAMPLER,
            "CFG scale": float(self.guidance),
            "Seed": self.seed,
            "Size": f"{self.width}x{self.height}",
            "Model": self.model,
            "Task": self.task,
            "Version": self.version,
        }
        last = ", ".join(f"{key}: {_quote(str(value))}" for key, value in pairs.items())
        negative = f"\nNegative prompt: {self.negative_prompt}" if self.negative_prompt else ""
        return f"{self.prompt}{negative}\n{last}"


class TypedFields(BaseModel):
    """The typed settings a result's JSON, a PNG's ``parameters`` or a batch line may hold: one rule for all
    (strict: ``"5"`` is not a number and ``true`` not 1; a whole number is a fine guidance). Every field is
    optional; what each reader requires, it checks itself."""

    model_config = ConfigDict(strict=True, extra="ignore")

    prompt: str | None = None
    negative_prompt: str | None = None
    task: str | None = None
    model: str | None = None
    version: str | None = None
    seed: int | None = None
    steps: int | None = None
    width: int | None = None
    height: int | None = None
    guidance: float | None = None
    images: list | None = None  # a batch line's image paths
    size: str | list | None = None  # a batch line's size: "WxH" or [W, H]


def typed_fields(data: dict) -> tuple[dict, dict[str, list[str]]]:
    """The fields of ``data`` that ``TypedFields`` accepts, as values; and those it does not, as {name: the
    type names it takes}. Absent fields are in neither."""
    given = {name: data[name] for name in TypedFields.model_fields if name in data and data[name] is not None}
    try:
        return TypedFields.model_validate(given).model_dump(exclude_unset=True), {}
    except ValidationError as err:
        wrong = sorted({str(error["loc"][0]) for error in err.errors()})
    good = TypedFields.model_validate({k: v for k, v in given.items() if k not in wrong})
    return good.model_dump(exclude_unset=True), {name: _type_names(name) for name in wrong}


def _type_names(name: str) -> list[str]:
    """``str | list | None`` -> ["str", "list"]."""
    annotation = str(TypedFields.model_fields[name].annotation)
    return [part.strip() for part in annotation.split("|") if part.strip() != "None"]


def _from_text(name: str, text: str):
    """A field written as text (an A1111 ``parameters`` pair) as its type, by the same model, laxly: "30" is 30
    there. Raises ValueError (pydantic's ValidationError is one) when it is not."""
    return TypedFields.model_validate({name: text}, strict=False).model_dump(exclude_unset=True)[name]


def _typed_fields(data: dict) -> tuple[dict, list[str]]:
    """The result's fields that are well typed, control characters removed from texts; a problem each for
    the rest (ignored: reading never raises)."""
    values, wrong = typed_fields({name: data[name] for name in _RESULT_FIELDS if name in data})
    problems = [
        f"`{name}` should be {' or '.join(kinds)}, got {type(data[name]).__name__}; ignored."
        for name, kinds in wrong.items()
    ]
    for name, value in values.items():
        if isinstance(value, str):
            values[name] = _clean(value, name, problems)
    return values, problems


def _clean(text: str, name: str, problems: list[str]) -> str:
    cleaned = _CONTROL.sub("", text)
    if cleaned != text:
        problems.append(f"`{name}` held control characters; they were removed.")
    return cleaned


def _quote(value: str) -> str:
    """A1111 quotes a value that holds a comma, colon or quote (JSON string escaping)."""
    return json.dumps(value) if any(ch in value for ch in ',:"') else value


# Writing ---------------------------------------------------------------------------------------


def png_info(settings: ResultSettings) -> PngInfo:
    """The two text chunks for ``image.save(path, pnginfo=...)``; iTXt, since prompts are not Latin-1."""
    info = PngInfo()
    info.add_itxt(PARAMETERS_KEY, settings.parameters_text())
    info.add_itxt(JSON_KEY, json.dumps(settings.as_dict(), ensure_ascii=False, sort_keys=True))
    return info


def save_png(image: Image.Image, path: str | os.PathLike | io.IOBase, settings: ResultSettings) -> None:
    """Save ``image`` as a PNG carrying ``settings``."""
    image.save(path, format="PNG", pnginfo=png_info(settings))


def save_text_chunks(image: Image.Image, path, keys: tuple[str, ...] = (PARAMETERS_KEY, JSON_KEY)) -> None:
    """Save ``image`` as a PNG with the text it carries in ``image.info`` under ``keys`` (``image.save`` alone
    drops it)."""
    info = PngInfo()
    for key in keys:
        if isinstance(image.info.get(key), str):
            info.add_itxt(key, image.info[key])
    image.save(path, format="PNG", pnginfo=info)


# Reading ---------------------------------------------------------------------------------------


@dataclass
class ReadSettings:
    """What a PNG said about itself: the settings when complete, every field that could be read
    (ours or another tool's A1111 text), the raw ``parameters`` text, and the problems met."""

    settings: ResultSettings | None = None
    fields: dict = field(default_factory=dict)
    parameters: str | None = None
    problems: list[str] = field(default_factory=list)


def read_png(source: str | os.PathLike | bytes | Image.Image) -> ReadSettings:
    """Settings from a PNG file, its bytes or an opened image. Never raises."""
    result = ReadSettings()
    try:
        texts = _text_of_image(source, result.problems)
    except Exception as err:  # a file that cannot be read at all is one more problem, never a crash
        result.problems.append(f"Could not read the file: {type(err).__name__}: {err}"[:300])
        return result
    _read_texts(texts, result)
    return result


def _text_of_image(source, problems: list[str]) -> dict[str, str]:
    if isinstance(source, Image.Image):
        info = getattr(source, "text", None) or source.info
        return {k: v for k, v in info.items() if isinstance(v, str) and _fits(k, v.encode("utf-8"), problems)}
    if isinstance(source, (bytes, bytearray)):
        return png_texts(bytes(source), problems)
    with open(source, "rb") as handle:
        return png_texts(handle.read(MAX_PNG_BYTES), problems)


def _read_texts(texts: dict[str, str], result: ReadSettings) -> None:
    if PARAMETERS_KEY in texts:
        result.parameters = _clean(texts[PARAMETERS_KEY], PARAMETERS_KEY, result.problems)
    if JSON_KEY in texts:
        try:
            data = json.loads(texts[JSON_KEY])
        except json.JSONDecodeError as err:
            data = None
            result.problems.append(f"The `{JSON_KEY}` chunk is not valid JSON ({err.msg}).")
        if isinstance(data, dict):
            result.settings, problems = ResultSettings.from_dict(data)
            result.fields, _ = _typed_fields(data)
            result.problems += problems
            return
        if data is not None:
            result.problems.append(f"The `{JSON_KEY}` chunk is not a JSON object.")
    if result.parameters is not None:
        result.fields, problems = parse_parameters(result.parameters)
        result.problems += problems
        result.settings, _ = ResultSettings.from_dict(result.fields)
    elif not result.problems:
        result.problems.append("The image carries no settings.")


def parse_parameters(text: str) -> tuple[dict, list[str]]:
    """Fields of an A1111 ``parameters`` text (ours or another tool's): prompt, negative prompt,
    steps, guidance, seed, size, model, task and version, whichever are there and well formed."""
    lines = text.strip().split("\n")
    pairs = _PARAM.findall(lines[-1]) if lines else []
    if len(pairs) < 3:  # as A1111: a last line with fewer pairs is part of the prompt
        pairs = []
    else:
        lines = lines[:-1]
    body = "\n".join(lines)
    prompt, _, negative = body.partition("\nNegative prompt: ")
    if body.startswith("Negative prompt: "):
        prompt, negative = "", body.removeprefix("Negative prompt: ")
    data: dict = {"prompt": prompt, "negative_prompt": negative}
    problems: list[str] = []
    for key, raw in pairs:
        value = _unquote(raw.strip())
        _parse_pair(key.strip(), value, data, problems)
    return _typed_fields(data)[0], problems


def _parse_pair(key: str, value: str, data: dict, problems: list[str]) -> None:
    try:
        if key == "Size":
            width, height = (int(v) for v in value.lower().split("x"))
            data.update(width=width, height=height)
        elif key in _PARAM_FIELDS:
            name = _PARAM_FIELDS[key]
            data[name] = _from_text(name, value)
    except ValueError:
        problems.append(f"`{key}: {value[:50]}` could not be read; ignored.")


def _unquote(value: str) -> str:
    if len(value) > 1 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except json.JSONDecodeError:
            return value[1:-1]
    return value


# PNG chunks, read by hand: PIL raises on oversized or broken text chunks, and only text is wanted here.


def png_texts(data: bytes, problems: list[str]) -> dict[str, str]:
    """Every tEXt, zTXt and iTXt chunk of a PNG as {keyword: text}; oversized, broken or truncated
    chunks are skipped with a problem noted."""
    if not data.startswith(PNG_SIGNATURE):
        problems.append("The file is not a PNG.")
        return {}
    texts: dict[str, str] = {}
    offset, kind = len(PNG_SIGNATURE), b""
    while offset + 8 <= len(data) and kind != b"IEND":
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if len(body) < length:
            break
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            _add_text(kind, body, texts, problems)
        offset += 12 + length
    if kind != b"IEND":
        problems.append("The PNG is cut short; the text chunks before the cut were read.")
    return texts


def _add_text(kind: bytes, body: bytes, texts: dict[str, str], problems: list[str]) -> None:
    keyword, _, rest = body.partition(b"\0")
    key = keyword.decode("latin-1")
    try:
        if kind == b"tEXt":
            raw, encoding = rest, "latin-1"
        elif kind == b"zTXt":
            raw, encoding = _inflate(rest[1:]), "latin-1"
        else:
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, raw = rest.partition(b"\0")
            raw, encoding = (_inflate(raw) if compressed else raw), "utf-8"
        if raw is not None and _fits(key, raw, problems):
            texts[key] = raw.decode(encoding)
        elif raw is None:
            problems.append(f"The `{key}` chunk inflates to more than {MAX_TEXT_BYTES} bytes; ignored.")
    except (IndexError, zlib.error, UnicodeDecodeError) as err:
        problems.append(f"The `{key}` chunk is broken ({type(err).__name__}); ignored.")


def _inflate(raw: bytes) -> bytes | None:
    """Decompress at most MAX_TEXT_BYTES (+1 to tell an oversized text); None when it is larger."""
    inflater = zlib.decompressobj()
    text = inflater.decompress(raw, MAX_TEXT_BYTES + 1)
    return None if len(text) > MAX_TEXT_BYTES else text


def _fits(key: str, raw: bytes, problems: list[str]) -> bool:
    if len(raw) > MAX_TEXT_BYTES:
        problems.append(f"The `{key}` chunk holds {len(raw)} bytes, more than the {MAX_TEXT_BYTES} read; ignored.")
        return False
    return True
