"""Settings in PNGs: round trips, other tools' settings, and hostile chunks that must never raise."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from onediffusion.metadata import (
    JSON_KEY,
    MAX_TEXT_BYTES,
    PARAMETERS_KEY,
    ResultSettings,
    app_version,
    parse_parameters,
    read_png,
    save_png,
)

SETTINGS = ResultSettings(
    prompt='[[text2image]] a fox, "red": on snow\nsecond line, ünïcode ✓',
    seed=123,
    steps=30,
    guidance=4.5,
    width=64,
    height=48,
    negative_prompt="blurry, low quality",
    task="text2image",
    model="lehduong/OneDiffusion",
)


def _image() -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8))


def _png(info: PngInfo | None = None) -> bytes:
    buffer = io.BytesIO()
    _image().save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _with_chunks(*chunks: bytes) -> bytes:
    """A valid PNG with extra chunks inserted after IHDR (PIL would refuse to write some of them)."""
    data = _png()
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + b"".join(chunks) + data[ihdr_end:]


def test_round_trip_through_a_file(tmp_path):
    path = tmp_path / "out.png"
    save_png(_image(), path, SETTINGS)
    read = read_png(path)
    assert read.settings == SETTINGS
    assert read.problems == []
    assert read.parameters == SETTINGS.parameters_text()
    with Image.open(path) as reopened:  # the pixels are untouched and PIL reads the same chunks
        assert np.array_equal(np.asarray(reopened), np.asarray(_image()))
        assert read_png(reopened).settings == SETTINGS


def test_dict_round_trip_and_version():
    data = json.loads(json.dumps(SETTINGS.as_dict()))
    assert ResultSettings.from_dict(data) == (SETTINGS, [])
    assert SETTINGS.size == (64, 48)
    assert SETTINGS.version == app_version() and app_version() != "unknown"


def test_parameters_text_has_the_a1111_layout():
    lines = SETTINGS.parameters_text().split("\n")
    assert lines[:2] == SETTINGS.prompt.split("\n")
    assert lines[2] == "Negative prompt: blurry, low quality"
    assert lines[3].startswith("Steps: 30, Sampler: Euler, CFG scale: 4.5, Seed: 123, Size: 64x48, ")
    assert "Model: lehduong/OneDiffusion" in lines[3]
    no_negative = ResultSettings("a cat", 1, 2, 3.0, 16, 16)
    assert no_negative.parameters_text().split("\n")[1].startswith("Steps: 2,")


def test_the_parameters_text_alone_gives_the_settings_back():
    fields, problems = parse_parameters(SETTINGS.parameters_text())
    assert problems == []
    assert ResultSettings(**fields) == SETTINGS


def test_another_tools_settings_are_read():
    text = (
        "masterpiece, a cat\nNegative prompt: ugly\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, "
        'CFG scale: 7, Seed: 42, Size: 512x768, Model hash: 6ce0161689, Model: v1-5, Lora hashes: "a: 1, b: 2", '
        "Version: v1.10.1"
    )
    info = PngInfo()
    info.add_text(PARAMETERS_KEY, text)
    read = read_png(_png(info))
    assert read.settings is not None and read.problems == []
    assert read.fields["prompt"] == "masterpiece, a cat" and read.fields["negative_prompt"] == "ugly"
    assert (read.settings.steps, read.settings.guidance, read.settings.seed) == (20, 7.0, 42)
    assert read.settings.size == (512, 768) and read.settings.model == "v1-5"


def test_no_settings_and_foreign_chunks():
    plain = read_png(_png())
    assert plain.settings is None and plain.problems == ["The image carries no settings."]
    info = PngInfo()
    info.add_text("prompt", json.dumps({"3": {"class_type": "KSampler"}}))  # ComfyUI's graph, not ours
    comfy = read_png(_png(info))
    assert comfy.settings is None and comfy.fields == {}
    assert read_png(b"GIF89a not a png").problems == ["The file is not a PNG."]
    assert read_png("/no/such/file.png").problems[0].startswith("Could not read the file")


def test_megabytes_of_text_and_a_zip_bomb_are_refused():
    huge = _chunk(b"tEXt", PARAMETERS_KEY.encode() + b"\0" + b"x" * 3_000_000)
    bomb = _chunk(b"zTXt", JSON_KEY.encode() + b"\0\0" + zlib.compress(b"{" * 50_000_000, 9))
    read = read_png(_with_chunks(huge, bomb))
    assert read.settings is None and read.parameters is None
    assert any("3000000 bytes" in p for p in read.problems)
    assert any(f"more than {MAX_TEXT_BYTES}" in p and JSON_KEY in p for p in read.problems)


def test_invalid_json_falls_back_to_the_parameters_text():
    info = PngInfo()
    info.add_itxt(PARAMETERS_KEY, SETTINGS.parameters_text())
    info.add_itxt(JSON_KEY, '{"prompt": "unterminated')
    read = read_png(_png(info))
    assert read.settings == SETTINGS
    assert any("not valid JSON" in p for p in read.problems)


def test_control_characters_wrong_types_and_broken_chunks():
    data = {**SETTINGS.as_dict(), "prompt": "a\x00b\x1b[31mc", "seed": "123", "steps": True}
    broken_itxt = _chunk(b"iTXt", b"parameters\0\x01\0\0\0not zlib at all")
    info_chunk = _chunk(b"iTXt", JSON_KEY.encode() + b"\0\0\0\0\0" + json.dumps(data).encode())
    read = read_png(_with_chunks(broken_itxt, info_chunk))
    assert read.settings is None  # seed and steps could not be read
    assert read.fields["prompt"] == "ab[31mc" and "seed" not in read.fields
    assert any("control characters" in p for p in read.problems)
    assert any("`seed` should be int" in p for p in read.problems)
    assert any("`parameters` chunk is broken" in p for p in read.problems)
    truncated = read_png(_png(PngInfo())[:40])
    assert truncated.settings is None and any("cut short" in p for p in truncated.problems)


def test_compressed_chunks_are_read():
    info = PngInfo()
    info.add_itxt(JSON_KEY, json.dumps(SETTINGS.as_dict()), zip=True)
    info.add_text(PARAMETERS_KEY, "not ours", zip=True)  # zTXt
    read = read_png(_png(info))
    assert read.settings == SETTINGS and read.parameters == "not ours" and read.problems == []
