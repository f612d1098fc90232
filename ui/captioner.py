"""Captions for input photos: a small vision-language model writes the caption a photo's slot needs.

The captioner is ``HuggingFaceTB/SmolVLM-500M-Instruct`` (``Idefics3ForConditionalGeneration``, native in
transformers, no remote code). Why this one:
- size: about 0.5 B parameters, a 1.02 GB bf16 file and about 1.5 GB in use with one photo (our estimate,
  ``CAPTIONER_BYTES``); it fits beside the 2.8 B OneDiffusion model on a demo GPU, where the authors' 7 B
  captioner would not. SmolVLM-256M is half that, but its authors report a clear gain at 500M; SmolVLM-2.2B and
  Qwen2.5-VL-3B (4.5 GB and 7.5 GB in bf16) write better at 3-5 times the memory, and Qwen2.5-VL-3B's licence
  is research-only.
- quality: instruction-tuned, so the prompt can ask for a length and what to describe (a person without
  names, an object without its background); its training mix (the Cauldron) includes captioning, and it
  answers in full sentences about colours, clothing, materials and settings.
- licence: Apache 2.0, so the captions carry no terms beyond the OneDiffusion weights' own.

``Captioner(name)`` loads on the first ``describe()``, once, on the app's device and precision. ``--captioner
none``, a folder that does not exist, or a hub id that is not downloaded on an offline machine leave it
unavailable with a plain-words ``reason`` for the button. A failure while describing raises ``CaptionError``
(plain words too) so the caller can leave the caption box as it was.

``build_tiny_captioner(folder)`` writes a random tiny checkpoint of the same class, with a tokenizer and image
processor built on the spot: the offline app and the tests load it as ``--captioner FOLDER``.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from onediffusion.hub import hub_offline, is_hub_id

logger = logging.getLogger("onediffusion.studio")

DEFAULT_CAPTIONER = "HuggingFaceTB/SmolVLM-500M-Instruct"
KNOWN_PARAMETERS = {DEFAULT_CAPTIONER: 508_000_000}  # its model.safetensors: 1.02 GB in bf16
WORKING_BYTES = 512 << 20  # vision activations over 5 tiles of 512 px, KV cache, generation buffers
MAX_NEW_TOKENS = 160  # 75 words are about 100 tokens; the rest lets the last sentence finish
TILES_PER_SIDE = 2  # a 2 x 2 split plus the whole photo: detail enough for a caption, 5x fewer tokens than 4 x 4
DISABLED = ("", "none", "off", "false")


class CaptionError(RuntimeError):
    """The captioner could not describe a photo; the message is in plain words for the page."""


@dataclass(frozen=True)
class Purpose:
    """What the caption of one kind of input photo must say, and its length."""

    prompt: str
    max_words: int


PURPOSES = {
    "scene": Purpose(
        "Describe this photo in one paragraph of 40 to 70 words: the main subjects and where they are, their "
        "colours and materials, the lighting and the background. Plain sentences, no lists, no opinions.",
        max_words=90,
    ),
    "identity": Purpose(
        "Describe the person in this photo in 30 to 75 words, in one paragraph: apparent age, hair, face, "
        "expression, clothing and pose, then the setting and lighting. Never name or guess who the person is.",
        max_words=75,
    ),
    "subject": Purpose(
        "Describe the main object in this photo in 20 to 50 words: what it is, its shape, colours, materials, "
        "textures and distinctive details. Do not describe the background.",
        max_words=60,
    ),
    "multiview": Purpose(
        "Describe the main object in this photo in 15 to 40 words: what it is, its shape, colours and "
        "materials. Do not describe the background, the camera angle or any facial details.",
        max_words=50,
    ),
}

_PHOTO = r"(?:image|photo|photograph|picture)"
_BOILERPLATE = re.compile(  # openings that say nothing about the photo; "The photo was taken at night" stays
    rf"^(?:(?:the|this) {_PHOTO} (?:shows|depicts|features|displays|captures|presents|is of|contains)"
    rf"|in (?:the|this) {_PHOTO},?(?: we can see)?|this is an? {_PHOTO} (?:of|showing))\s+",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')]))\s+")  # the spaces after a sentence, quoted or not


# ---- cleaning and trimming: pure text functions ------------------------------------------------------------


def clean_caption(text: str) -> str:
    """One plain paragraph: no control characters, list markers, markdown or 'The image shows' opening."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf" and c != "\ufffd")
    text = re.sub(r"(?:^|\s)(?:[-*\u2022]|\d+\.)\s+", " ", text).replace("**", "")
    text = " ".join(text.split()).strip(" \"'")
    text = _BOILERPLATE.sub("", text, count=1)
    return text[:1].upper() + text[1:]


def drop_unfinished(text: str) -> str:
    """Drop a last sentence cut off by the token cap, when a finished one comes before it."""
    if not text or text.rstrip("\"')")[-1:] in (".", "!", "?"):
        return text
    sentences = _SENTENCE_END.split(text)
    return " ".join(sentences[:-1]) if len(sentences) > 1 else text


def fit_text(text: str, fits: Callable[[str], bool]) -> str:
    """The longest start of ``text`` that ``fits``: whole sentences when one fits, else whole words."""
    if fits(text):
        return text
    sentences = _SENTENCE_END.split(text)
    kept = 0
    while kept < len(sentences) and fits(" ".join(sentences[: kept + 1])):
        kept += 1
    if kept:
        return " ".join(sentences[:kept])
    words = text.split()
    low, high = 0, len(words)  # fits(words[:low]) holds; binary search as fitting only shrinks with length
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(" ".join(words[:mid])) else (low, mid - 1)
    cut = " ".join(words[:low]).rstrip(",;:-")
    return cut + "." if cut and fits(cut + ".") else cut


def trim_words(text: str, max_words: int) -> str:
    """At most ``max_words`` words, cut at a sentence end when possible."""
    return fit_text(text, lambda t: len(t.split()) <= max_words)


def trim_tokens(text: str, tokenizer, max_tokens: int) -> str:
    """At most ``max_tokens`` tokens of ``tokenizer`` (special tokens counted), cut at a sentence or word end."""
    return fit_text(text, lambda t: len(tokenizer(t, add_special_tokens=True)["input_ids"]) <= max_tokens)


# ---- memory ------------------------------------------------------------------------------------------------


def _count_parameters(folder: Path) -> int | None:
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with safe_open(file, "pt") as f:
            total += sum(int(np.prod(f.get_slice(key).get_shape())) for key in f.keys())
    return total


def captioner_bytes(name_or_path: str | Path | None = DEFAULT_CAPTIONER, dtype: torch.dtype = torch.bfloat16) -> int:
    """Memory the captioner takes once loaded in ``dtype``: its weights plus working memory for one photo.
    A local folder is measured from its safetensors; an unknown hub id is taken to be the default's size."""
    if name_or_path is None or str(name_or_path).strip().lower() in DISABLED:
        return 0
    folder = Path(str(name_or_path)).expanduser()
    count = _count_parameters(folder) if folder.is_dir() else None
    if count is None:
        count = KNOWN_PARAMETERS.get(str(name_or_path), KNOWN_PARAMETERS[DEFAULT_CAPTIONER])
    return count * torch.empty((), dtype=dtype).element_size() + WORKING_BYTES


CAPTIONER_BYTES = captioner_bytes(DEFAULT_CAPTIONER, torch.bfloat16)


# ---- loading -----------------------------------------------------------------------------------------------


def _in_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _fix(name: str, why: str) -> str:
    return (
        f"The captioner ({name}) could not be loaded: {why} Start the app with --captioner none to hide this, "
        f"or choose another with --captioner NAME (a hub id or a local folder)."
    )


def unavailable_reason(name: str) -> str | None:
    """Why ``name`` cannot be loaded, when that is known without loading it (no network is used)."""
    if is_hub_id(name):
        if hub_offline() and not _in_cache(name):
            return _fix(
                name, f"not downloaded and the machine is offline (download it once with `hf download {name}`)."
            )
        return None
    folder = Path(name).expanduser()
    if not folder.is_dir():
        return _fix(name, "there is no such folder, and it is not a hub id like 'owner/name'.")
    if not (folder / "config.json").is_file():
        return _fix(name, "the folder has no config.json, so it is not a transformers checkpoint.")
    return None


def _cache_only(name: str) -> bool:
    """Whether to read only the local cache: offline mode, or a hub that does not answer (this fails in
    seconds where a download would retry for minutes)."""
    if hub_offline():
        return True
    from onediffusion.serving import hub_reachable  # the app's own probe: one short TCP connection

    return is_hub_id(name) and not hub_reachable()


def _load_reason(name: str, err: Exception, cache_only: bool) -> str:
    if isinstance(err, torch.cuda.OutOfMemoryError):
        return _fix(name, "there is not enough GPU memory left beside the OneDiffusion model.")
    if isinstance(err, OSError) and cache_only and is_hub_id(name):
        return _fix(name, "not downloaded and the machine is offline.")
    if isinstance(err, (ValueError, KeyError)):
        return _fix(name, "it is not a vision-language model that transformers loads natively (no remote code is run).")
    line = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
    return _fix(name, line.rstrip(".") + ".")


def _limit_tiles(processor) -> None:
    """Fewer, larger tiles than the model's default 4 x 4: a caption needs the gist, and tokens cost time."""
    image_processor = getattr(processor, "image_processor", None)
    tile = getattr(image_processor, "max_image_size", None)
    if isinstance(tile, dict) and "longest_edge" in tile:
        image_processor.size = {"longest_edge": TILES_PER_SIDE * tile["longest_edge"]}


def _as_rgb(image) -> Image.Image:
    if image is None:
        raise CaptionError("There is no photo to describe: add one first.")
    if isinstance(image, (str, Path)):
        try:
            image = Image.open(image)
        except OSError:
            raise CaptionError(f"The photo {Path(image).name} could not be read as an image.") from None
    elif isinstance(image, np.ndarray):
        image = Image.fromarray(image.astype(np.uint8) if image.dtype != np.uint8 else image)
    if not isinstance(image, Image.Image):
        raise CaptionError(f"The captioner needs a photo, got {type(image).__name__}.")
    return image.convert("RGB")


# ---- the captioner -----------------------------------------------------------------------------------------


class Captioner:
    """A vision-language model loaded on first use that writes captions for input photos.

    ``name_or_path``: a hub id, a local folder, or ``None``/"none" (disabled). ``available`` and ``reason`` say
    whether the button can work and, if not, why in plain words; neither loads the model. ``max_new_tokens``
    caps each answer (the default lets 75 words finish their last sentence).
    """

    def __init__(
        self,
        name_or_path: str | Path | None = DEFAULT_CAPTIONER,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        max_new_tokens: int = MAX_NEW_TOKENS,
    ) -> None:
        raw = "" if name_or_path is None else str(name_or_path).strip()
        self.name = None if raw.lower() in DISABLED else raw
        self.device, self.dtype, self.max_new_tokens = torch.device(device), dtype, max_new_tokens
        self._model = self._processor = None
        self._lock = threading.Lock()
        self._error = None if self.name is None else unavailable_reason(self.name)

    @property
    def enabled(self) -> bool:
        return self.name is not None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def available(self) -> bool:
        """Whether ``describe`` can be tried: enabled, and not known to be unloadable."""
        return self.enabled and self._error is None

    @property
    def reason(self) -> str | None:
        """Why describing is unavailable, in plain words; None while it is available."""
        if not self.enabled:
            return "Describing photos is switched off (the app was started with --captioner none)."
        return self._error

    def memory_bytes(self) -> int:
        """What loading it will take, for the app's memory check."""
        return captioner_bytes(self.name, self.dtype)

    def _ensure_loaded(self) -> None:
        """Load once; a failure is remembered so every later call answers at once with the same reason."""
        if self._model is not None:
            return
        if self._error:
            raise CaptionError(self._error)
        from transformers import AutoModelForImageTextToText, AutoProcessor

        cache_only = _cache_only(self.name)
        kwargs = {"local_files_only": True} if cache_only else {}
        logger.info("Loading the captioner %s on %s (%s)", self.name, self.device, self.dtype)
        try:
            processor = AutoProcessor.from_pretrained(self.name, **kwargs)
            model = AutoModelForImageTextToText.from_pretrained(self.name, dtype=self.dtype, **kwargs)
            model = model.to(self.device).eval()
        except Exception as err:  # noqa: BLE001 - any failure becomes the button's reason, never a trace
            self._error = _load_reason(self.name, err, cache_only)
            logger.warning("%s (%s: %s)", self._error, type(err).__name__, err)
            raise CaptionError(self._error) from None
        _limit_tiles(processor)
        self._processor, self._model = processor, model

    def _inputs(self, image: Image.Image, prompt: str) -> dict:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        text = self._processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = self._processor(text=text, images=[image], return_tensors="pt").to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    @torch.inference_mode()
    def _generate(self, image: Image.Image, prompt: str) -> str:
        inputs = self._inputs(image, prompt)
        output = self._model.generate(
            **inputs, max_new_tokens=self.max_new_tokens, do_sample=False, num_beams=1, no_repeat_ngram_size=4
        )
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return self._processor.batch_decode(new_tokens, skip_special_tokens=True)[0]

    def describe(self, image, purpose: str = "scene", tokenizer=None, max_tokens: int | None = None) -> str:
        """A caption for ``image`` (PIL, array or file path) written for ``purpose`` (see ``PURPOSES``).

        Greedy decoding, so the same photo gives the same caption. The result is one cleaned paragraph within
        the purpose's word limit and, with ``tokenizer`` and ``max_tokens``, within that many tokens.
        Raises ``CaptionError`` (plain words) when the captioner is unavailable or fails.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"`purpose` must be one of {sorted(PURPOSES)}, got {purpose!r}.")
        if not self.enabled:
            raise CaptionError(self.reason)
        photo = _as_rgb(image)
        with self._lock:
            self._ensure_loaded()
            try:
                raw = self._generate(photo, PURPOSES[purpose].prompt)
            except torch.cuda.OutOfMemoryError:
                raise CaptionError("Out of GPU memory while describing the photo: try a smaller photo.") from None
            except Exception as err:  # noqa: BLE001 - the page gets plain words; the log keeps the detail
                logger.warning("The captioner failed: %s: %s", type(err).__name__, err)
                raise CaptionError(f"The captioner could not describe this photo ({type(err).__name__}).") from None
        caption = trim_words(drop_unfinished(clean_caption(raw)), PURPOSES[purpose].max_words)
        if tokenizer is not None and max_tokens is not None:
            caption = trim_tokens(caption, tokenizer, max_tokens)
        if not caption:
            raise CaptionError("The captioner returned no words for this photo.")
        return caption


# ---- a tiny random checkpoint of the same class, for tests and the offline app -----------------------------

CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)  # SmolVLM's own template, so the tiny checkpoint is prompted exactly as the real one
TINY_VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "image_size": 32, "patch_size": 8}  # fmt: skip
TINY_TEXT = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512}  # fmt: skip
TINY_SCALE = 2  # pixel shuffle: (32 / 8)^2 patches / 2^2 = 4 image tokens per tile
_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<end_of_utterance>",
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
] + [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]


def _tiny_tokenizer():
    """A byte-level BPE trained here on the purposes' prompts, with the special tokens SmolVLM's processor uses."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([p.prompt for p in PURPOSES.values()] * 4, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=_SPECIAL[3:7],
    )


def build_tiny_captioner(folder: str | Path, seed: int = 0) -> Path:
    """Write a random tiny ``Idefics3ForConditionalGeneration`` with its processor to ``folder``; returns it.
    ``Captioner(folder)`` loads it exactly as it loads the hub checkpoint. Its captions are random words."""
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
    )

    folder = Path(folder)
    tokenizer = _tiny_tokenizer()
    image_processor = Idefics3ImageProcessorPil(
        size={"longest_edge": 2 * TINY_VISION["image_size"]}, max_image_size={"longest_edge": TINY_VISION["image_size"]}
    )
    tokens_per_tile = (TINY_VISION["image_size"] // TINY_VISION["patch_size"]) ** 2 // TINY_SCALE**2
    processor = Idefics3Processor(
        image_processor, tokenizer, image_seq_len=tokens_per_tile, chat_template=CHAT_TEMPLATE
    )
    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = Idefics3Config(
        vision_config=TINY_VISION,
        text_config={**TINY_TEXT, "vocab_size": len(tokenizer), **ids},
        scale_factor=TINY_SCALE,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Idefics3ForConditionalGeneration(config)
    for key, value in ids.items():
        setattr(model.generation_config, key, value)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
