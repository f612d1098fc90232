"""Send to: an image result taken on to another tab as its input, without downloading and uploading it.

Each tab with image results puts a row of "Send to" buttons under them (``Links.source``); each tab that takes
an image names where a sent one goes (``Links.target``): Control's photo (to make a condition from) or its
condition, Understanding's photo, Identity's first reference, Multiview's photo, the Orbit video's, Upscale's. ``Links.wire`` joins them once
the page is built: a button puts the selected image (the first when none is) in place, carries its caption
over (read from the settings the result PNG carries, ``ui.reuse``) and opens the target tab. An understanding
result sent as a condition also sets the condition (depth, segmentation, ...) and its class rows. With no
result yet, the button says so at the result and nothing changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import gradio as gr

from .catalogue import CONTROL
from .common import CHEAP
from .reuse import reuse

# Each target: its button's words and the page tab it opens.
TARGETS = {
    "control-photo": ("Control (as photo)", "control"),
    "control-condition": ("Control (as condition)", "control"),
    "understanding": ("Understanding", "understanding"),
    "identity": ("Identity (as reference)", "identity"),
    "multiview": ("Multiview (as photo)", "multiview"),
    "orbit": ("Orbit video", "multiview"),
    "upscale": ("Upscale", "upscale"),
}
NOTHING_YET = "Nothing to send yet: make a result first."
_CONDITIONS = {option.key for option in CONTROL.options}


@dataclass(frozen=True)
class Sent:
    """What a sent result carries along: its caption, and for an understanding result the estimate and classes."""

    caption: str | None = None
    option: str | None = None
    labels: list | None = None

    @property
    def condition(self) -> str | None:
        """The Control condition an understanding result is (its estimate's key), if it is one."""
        return self.option if self.option in _CONDITIONS else None


@dataclass
class Target:
    image: gr.components.Component
    caption: gr.Textbox | None = None
    extras: Sequence[tuple[gr.components.Component, Callable[[Sent], object]]] = ()


@dataclass
class Source:
    tab: str
    result: gr.components.Component
    selected: gr.State | None
    buttons: dict[str, gr.Button] = field(default_factory=dict)


def picked(value, selected: int | None = None) -> str | None:
    """The path of the image to send: a gallery's selected item (its first when none is), or an image's file."""
    if isinstance(value, (list, tuple)) and value and not isinstance(value, str):
        items = list(value)
        item = items[selected if selected is not None and 0 <= selected < len(items) else 0]
        value = item[0] if isinstance(item, (list, tuple)) else item
    if isinstance(value, dict):
        value = value.get("path") or (value.get("image") or {}).get("path")
    return str(value) if value else None


def sent_from(path: str, tab: str) -> Sent:
    """What the result at ``path`` carries, read as the tab that made it reads its own results."""
    found = reuse(path, tab).values
    caption = found.get("prompt")
    if tab == "slots" and isinstance(caption, str):  # a raw prompt: drop its task token
        caption = caption.split("]]", 1)[-1].strip() if caption.lstrip().startswith("[[") else caption
    return Sent(caption or None, found.get("option"), found.get("labels"))


def _selected(event: gr.SelectData) -> int:
    return event.index


def check_sent(value, selected=None):
    """The Send buttons' validator: a result must be there to send."""
    answer = gr.validate(bool(picked(value, selected)), NOTHING_YET)
    return answer if selected is None else [answer, gr.validate(True, "")]


class Links:
    """The page's Send-to buttons and the inputs they fill, joined by ``wire`` once every tab is built."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self.targets: dict[str, Target] = {}

    def source(self, tab: str, result: gr.components.Component, label: str = "Send to") -> None:
        """A row of Send-to buttons under ``result`` (a gallery or an image of tab ``tab``), one per target
        on another tab."""
        selected = None
        if isinstance(result, gr.Gallery):
            selected = gr.State(0)
            result.select(_selected, None, selected, **CHEAP)
        with gr.Row(elem_classes=["send-to"]):
            gr.Markdown(f"{label}:", elem_classes=["send-to-label"])
            buttons = {
                key: gr.Button(f"➜ {words}", size="sm", min_width=80, elem_classes=["send-button"])
                for key, (words, target_tab) in TARGETS.items()
                if target_tab != tab
            }
        self.sources.append(Source(tab, result, selected, buttons))

    def target(self, key: str, image, caption=None, extras: Sequence = ()) -> None:
        self.targets[key] = Target(image, caption, extras)

    def wire(self, tabs: gr.Tabs) -> None:
        for source in self.sources:
            inputs = [source.result, *([source.selected] if source.selected is not None else [])]
            for key, button in source.buttons.items():
                target = self.targets[key]
                outputs = [target.image, *([target.caption] if target.caption else []), *(c for c, _ in target.extras)]
                send = functools.partial(_send, source.tab, key, target)
                button.click(send, inputs, [*outputs, tabs], validator=check_sent, **CHEAP)


def _send(tab: str, key: str, target: Target, value, selected: int | None = None) -> list:
    path = picked(value, selected)
    sent = sent_from(path, tab)
    caption = [gr.update(value=sent.caption) if sent.caption else gr.update()] if target.caption else []
    extras = [make(sent) for _, make in target.extras]
    return [path, *caption, *extras, gr.Tabs(selected=TARGETS[key][1])]
