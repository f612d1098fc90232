"""Prompt vocabulary of the published model: task tokens, the colour palette, prompt builders,
the 512-pixel aspect-ratio table and the authors' recommended settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TASK_TOKENS: dict[str, str] = {
    "text2image": "[[text2image]]",
    "deblurring": "[[deblurring]]",
    "inpainting": "[[image_inpainting]]",
    "canny": "[[canny2image]]",
    "depth": "[[depth2image]]",
    "hed": "[[hed2img]]",
    "pose": "[[pose2image]]",
    "editing": "[[image_editing]]",
    "semanticmap": "[[semanticmap2image]]",
    "boundingbox": "[[boundingbox2image]]",
    "faceid": "[[faceid]]",
    "multiview": "[[multiview]]",
    "subject_driven": "[[subject_driven]]",
}

# (hex, name) in the order the model was trained with.
PALETTE: tuple[tuple[str, str], ...] = (
    ("#FF0000", "red"), ("#00FF00", "lime"), ("#0000FF", "blue"), ("#FFFF00", "yellow"),
    ("#FF00FF", "magenta"), ("#00FFFF", "cyan"), ("#FFA500", "orange"), ("#800080", "purple"),
    ("#A52A2A", "brown"), ("#008000", "green"), ("#FFC0CB", "pink"), ("#008080", "teal"),
    ("#FF8C00", "darkorange"), ("#8A2BE2", "blueviolet"), ("#006400", "darkgreen"),
    ("#FF4500", "orangered"), ("#000080", "navy"), ("#FFD700", "gold"), ("#40E0D0", "turquoise"),
    ("#DA70D6", "orchid"),
)  # fmt: skip
COLOR_NAMES = {name: hex_code for hex_code, name in PALETTE}

DEFAULT_NEGATIVE_PROMPT = (
    "monochrome, greyscale, low-res, bad anatomy, bad hands, text, error, missing fingers, extra digit, "
    "fewer digits, cropped, worst quality, low quality, normal quality, jpeg artifacts, signature, "
    "watermark, username, blurry, artist name, poorly drawn, bad anatomy, wrong anatomy, extra limb, "
    "missing limb, floating limbs, disconnected limbs, mutation, mutated, ugly, disgusting, blurry, amputation"
)
DEFAULT_STEPS = 50
DEFAULT_GUIDANCE = 4.0
EDITING_GUIDANCE = 3.2
MAX_PROMPT_TOKENS = 300
INPAINT_GREY = (128, 128, 128)

ASPECT_RATIO_512: dict[float, tuple[int, int]] = {
    0.25: (256, 1024), 0.26: (256, 992), 0.27: (256, 960), 0.28: (256, 928), 0.32: (288, 896),
    0.33: (288, 864), 0.35: (288, 832), 0.4: (320, 800), 0.42: (320, 768), 0.48: (352, 736),
    0.5: (352, 704), 0.52: (352, 672), 0.57: (384, 672), 0.6: (384, 640), 0.68: (416, 608),
    0.72: (416, 576), 0.78: (448, 576), 0.82: (448, 544), 0.88: (480, 544), 0.94: (480, 512),
    1.0: (512, 512), 1.07: (512, 480), 1.13: (544, 480), 1.21: (544, 448), 1.29: (576, 448),
    1.38: (576, 416), 1.46: (608, 416), 1.67: (640, 384), 1.75: (672, 384), 2.0: (704, 352),
    2.09: (736, 352), 2.4: (768, 320), 2.5: (800, 320), 2.89: (832, 288), 3.0: (864, 288),
    3.11: (896, 288), 3.62: (928, 256), 3.75: (960, 256), 3.88: (992, 256), 4.0: (1024, 256),
}  # fmt: skip


def nearest_size(height: int, width: int, table: dict[float, tuple[int, int]] = ASPECT_RATIO_512) -> tuple[int, int]:
    """The (height, width) of the table entry whose h/w ratio is nearest to the given image's."""
    ratio = height / width
    return table[min(table, key=lambda r: abs(r - ratio))]


def scaled_size(height: int, width: int, side: int) -> tuple[int, int]:
    """The 512-table entry nearest the image's aspect ratio, scaled so its area matches side x side."""
    h, w = nearest_size(height, width)
    scale = side / 512
    return max(16, round(h * scale / 16) * 16), max(16, round(w * scale / 16) * 16)


def token_count(tokenizer, text: str) -> int:
    """How many tokens the model is given for ``text``: the tokenizer's ids, special tokens included."""
    return len(tokenizer(text, add_special_tokens=True).input_ids) if text else 0


def truncated(tokenizer, text: str, max_length: int = MAX_PROMPT_TOKENS) -> tuple[int, str] | None:
    """(token count, the words beyond ``max_length`` tokens) when ``text`` is too long for the model; else None."""
    ids = tokenizer(text, add_special_tokens=True).input_ids if text else []
    if len(ids) <= max_length:
        return None
    return len(ids), tokenizer.decode(ids[max_length - 1 : -1], skip_special_tokens=True)


def fallback_negative_prompt(tokenizer) -> str:
    """The authors' negative prompt, unless this tokenizer reads it as more than the model takes (tiny
    demo tokenizers do): then none, rather than a warning on every run."""
    return DEFAULT_NEGATIVE_PROMPT if token_count(tokenizer, DEFAULT_NEGATIVE_PROMPT) <= MAX_PROMPT_TOKENS else ""


@dataclass(frozen=True)
class Label:
    """A class named in a semantic-map or box prompt, drawn in one palette colour."""

    name: str
    color: str = "cyan"

    def __post_init__(self):
        if self.color not in COLOR_NAMES:
            raise ValueError(f"`color` must be one of the palette's names {list(COLOR_NAMES)}, got {self.color!r}.")
        if not self.name.strip() or any(ch in self.name for ch in "<>"):
            raise ValueError(f"`name` must be non-empty and free of '<' and '>', got {self.name!r}.")

    @property
    def hex(self) -> str:
        return COLOR_NAMES[self.color]

    @property
    def rgb(self) -> tuple[int, int, int]:
        h = self.hex.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

    def token(self, kind: str) -> str:
        if kind not in ("mask", "boundingbox"):
            raise ValueError(f"`kind` must be 'mask' or 'boundingbox', got {kind!r}.")
        return f"<{self.hex} {self.color} {kind}: {self.name.strip()}>"


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def task_prompt(task: str, caption: str = "", labels: Sequence[Label] = (), label_kind: str = "mask") -> str:
    """``[[token]] <labels...> caption`` for a task key of :data:`TASK_TOKENS`."""
    if task not in TASK_TOKENS:
        raise ValueError(f"`task` must be one of {list(TASK_TOKENS)}, got {task!r}.")
    return _join(TASK_TOKENS[task], *(label.token(label_kind) for label in labels), caption)


def identity_prompt(target_caption: str, reference_captions: Sequence[str]) -> str:
    """``[[faceid]] [[img0]] target [[img1]] reference 1 ...`` (slot 0 the target, references after)."""
    if not 1 <= len(reference_captions) <= 4:
        raise ValueError(f"Identity takes 1 to 4 reference photos, got {len(reference_captions)}.")
    refs = [f"[[img{i}]] {caption.strip()}".strip() for i, caption in enumerate(reference_captions, start=1)]
    return _join(TASK_TOKENS["faceid"], f"[[img0]] {target_caption.strip()}".strip(), *refs)


def subject_prompt(item: str, target_caption: str, source_caption: str) -> str:
    """``[[subject_driven]] <item: name> [[img0]] target [[img1]] source``."""
    if not item.strip():
        raise ValueError("`item` (the subject's name) must not be empty.")
    return _join(
        TASK_TOKENS["subject_driven"],
        f"<item: {item.strip()}>",
        f"[[img0]] {target_caption.strip()}".strip(),
        f"[[img1]] {source_caption.strip()}".strip(),
    )
