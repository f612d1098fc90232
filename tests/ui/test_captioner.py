"""The photo captioner: lazy loading, deterministic captions within word and token budgets, and plain-words
reasons when it is switched off, cannot be loaded, or fails mid-run. Runs on a tiny random SmolVLM-class
checkpoint built here."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from onediffusion.tiny import train_tokenizer
from ui.captioner import (
    CAPTIONER_BYTES,
    DEFAULT_CAPTIONER,
    PURPOSES,
    Captioner,
    CaptionError,
    build_tiny_captioner,
    captioner_bytes,
    clean_caption,
    drop_unfinished,
    trim_tokens,
    trim_words,
)

LONG = (
    "A young woman with short curly brown hair smiles at the camera. She wears a green wool coat over a white "
    "shirt and a thin silver necklace. Behind her a busy city street fades into soft evening light, with "
    "shop windows glowing orange and a red bus passing on the left. Her hands rest in her pockets, her head "
    "tilted slightly to the right, and a few leaves lie on the wet pavement near her boots. The scene feels "
    "calm although the street is crowded with people walking home after work in the cold autumn air today."
)


@pytest.fixture(scope="module")
def tiny_captioner_dir(tmp_path_factory):
    return build_tiny_captioner(tmp_path_factory.mktemp("tiny-captioner"))


@pytest.fixture(scope="module")
def t5_tokenizer(tmp_path_factory):
    """The tiny OneDiffusion T5 tokenizer: the budget the pipeline's text encoder counts in."""
    return train_tokenizer(tmp_path_factory.mktemp("t5-tokenizer"))


@pytest.fixture(scope="module")
def captioner(tiny_captioner_dir):
    """Answers capped at 32 tokens: the tiny model writes random tokens, and 160 of them cost seconds each."""
    return Captioner(tiny_captioner_dir, device="cpu", dtype=torch.float32, max_new_tokens=32)


@pytest.fixture(scope="module")
def photo():
    image = Image.new("RGB", (96, 64), (40, 90, 200))
    image.paste((230, 200, 30), (20, 10, 60, 50))
    return image


def test_loads_on_first_describe_not_at_construction(tiny_captioner_dir, photo):
    captioner = Captioner(tiny_captioner_dir)
    assert captioner.available and captioner.reason is None and not captioner.loaded
    caption = captioner.describe(photo, "scene")
    assert captioner.loaded
    assert isinstance(caption, str) and caption.strip()


@pytest.fixture(scope="module")
def captions(captioner, photo) -> dict[str, str]:
    return {purpose: captioner.describe(photo, purpose) for purpose in PURPOSES}


def test_every_purpose_gives_one_clean_paragraph(captions):
    for purpose, caption in captions.items():
        assert caption and "\n" not in caption and caption == " ".join(caption.split()), purpose
        assert all(ch.isprintable() for ch in caption), repr(caption)
        assert len(caption.split()) <= PURPOSES[purpose].max_words


def test_same_photo_same_caption(captioner, photo, captions):
    assert captioner.describe(photo, "identity") == captions["identity"]


def test_describe_accepts_an_array_and_fits_a_token_budget(captioner, photo, captions, t5_tokenizer):
    import numpy as np

    full = captioner.describe(np.asarray(photo), "subject")
    assert full == captions["subject"]
    budget = 4
    assert len(t5_tokenizer(full)["input_ids"]) > budget  # the budget does cut this caption
    short = captioner.describe(photo, "subject", tokenizer=t5_tokenizer, max_tokens=budget)
    assert short and len(t5_tokenizer(short)["input_ids"]) <= budget
    assert full.startswith(short.rstrip("."))


def test_trim_words_keeps_whole_sentences_within_75_words():
    assert len(LONG.split()) > 75
    trimmed = trim_words(LONG, 75)
    assert len(trimmed.split()) <= 75 and trimmed.endswith(".") and LONG.startswith(trimmed)
    assert len(trimmed.split()) > 40  # it keeps as many whole sentences as fit, not just the first
    one_long_sentence = LONG.replace(".", ",")
    cut = trim_words(one_long_sentence, 30)
    assert len(cut.split()) == 30 and cut.endswith(".") and not cut.endswith(",.")
    assert trim_words("Short and sweet.", 75) == "Short and sweet."


def test_trim_tokens_cuts_at_sentence_then_word_ends(t5_tokenizer):
    def count(text: str) -> int:
        return len(t5_tokenizer(text)["input_ids"])

    first_sentence = LONG.split(". ")[0] + "."
    budget = count(first_sentence) + 3
    trimmed = trim_tokens(LONG, t5_tokenizer, budget)
    assert trimmed == first_sentence and count(trimmed) <= budget
    tight = trim_tokens(LONG, t5_tokenizer, 8)
    assert tight and count(tight) <= 8 and LONG.startswith(tight.rstrip("."))
    assert trim_tokens("A cat.", t5_tokenizer, 300) == "A cat."


def test_clean_caption_removes_boilerplate_control_characters_and_lists():
    raw = "The image shows a red car\x0b parked\n\n- on a **wet** street\ufffd.\u200b"
    assert clean_caption(raw) == "A red car parked on a wet street."
    assert clean_caption("In this photo, two dogs play.") == "Two dogs play."
    assert clean_caption("The photo was taken at night.") == "The photo was taken at night."
    assert clean_caption("this is an image of a lamp.") == "A lamp."


def test_a_sentence_cut_by_the_token_cap_is_dropped():
    assert drop_unfinished("A red car. It stands on a wet") == "A red car."
    assert drop_unfinished('A sign reads "open." A dog') == 'A sign reads "open."'
    assert drop_unfinished("A red car parked on a wet") == "A red car parked on a wet"  # nothing else to keep


def test_none_is_disabled_with_a_reason_and_never_loads(photo, monkeypatch):
    import transformers

    def no_loading(*args, **kwargs):
        raise AssertionError("a disabled captioner must not load anything")

    monkeypatch.setattr(transformers.AutoModelForImageTextToText, "from_pretrained", no_loading)
    for name in (None, "none", "None"):
        captioner = Captioner(name)
        assert not captioner.enabled and not captioner.available
        assert "--captioner none" in captioner.reason
        with pytest.raises(CaptionError, match="switched off"):
            captioner.describe(photo, "identity")
        assert not captioner.loaded
    assert captioner_bytes("none") == 0


def test_hub_id_not_downloaded_offline_is_unavailable_in_plain_words(photo, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    name = "nobody-here/not-a-cached-captioner"
    captioner = Captioner(name)  # must not raise
    assert not captioner.available
    assert captioner.reason.startswith(f"The captioner ({name}) could not be loaded: not downloaded")
    assert "offline" in captioner.reason and "--captioner none" in captioner.reason
    assert "Traceback" not in captioner.reason
    with pytest.raises(CaptionError) as caught:
        captioner.describe(photo, "scene")
    assert str(caught.value) == captioner.reason
    assert not captioner.loaded


def test_a_missing_folder_is_unavailable(tmp_path):
    captioner = Captioner(tmp_path / "no-such-captioner")
    assert not captioner.available and "no such folder" in captioner.reason


def test_a_load_failure_is_remembered(tmp_path, photo):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "not-a-model"}')
    captioner = Captioner(broken)
    assert captioner.available  # not knowable before trying
    with pytest.raises(CaptionError, match=r"could not be loaded") as caught:
        captioner.describe(photo, "scene")
    assert not captioner.available and captioner.reason == str(caught.value)


def test_a_failure_inside_generation_raises_caption_error(captioner, photo, captions, monkeypatch):
    def broken_generate(*args, **kwargs):
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(captioner._model, "generate", broken_generate)
    with pytest.raises(CaptionError, match="could not describe this photo") as caught:
        captioner.describe(photo, "scene")
    assert "device-side" not in str(caught.value)
    monkeypatch.undo()
    # one failure does not disable it
    assert captioner.available and captioner.describe(photo, "scene") == captions["scene"]


def test_bad_input_is_refused_in_plain_words(captioner):
    with pytest.raises(CaptionError, match="no photo"):
        captioner.describe(None, "scene")
    with pytest.raises(CaptionError, match="could not be read"):
        captioner.describe("no-such-photo.png", "scene")
    with pytest.raises(ValueError, match="`purpose`"):
        captioner.describe(Image.new("RGB", (8, 8)), "poem")


def test_memory_estimate(tiny_captioner_dir):
    assert captioner_bytes(DEFAULT_CAPTIONER, torch.bfloat16) == CAPTIONER_BYTES
    assert 1.0e9 < CAPTIONER_BYTES < 2.0e9  # 0.5 B parameters in bf16 plus working memory
    assert captioner_bytes(DEFAULT_CAPTIONER, torch.float32) > CAPTIONER_BYTES
    assert Captioner(tiny_captioner_dir).memory_bytes() < CAPTIONER_BYTES  # measured from its own weights
