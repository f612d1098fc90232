"""Reuse settings: a result PNG dropped on a tab puts the settings it carries back into that tab's controls.

``reuse(path, zone, sizes)`` reads the PNG (``onediffusion.metadata.read_png``, which never raises) and
returns the values for the controls it could read, by name (``prompt``, ``negative_prompt``, ``seed``,
``randomize``, ``steps``, ``guidance``, ``size``, ``option``, ``labels``, ``subject``, ``caption_1``...),
and a short report of what it read and what it could not. A control it did not read is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from onediffusion.metadata import read_png
from onediffusion.prompts import COLOR_NAMES

from .catalogue import CONTROL, IDENTITY, UNDERSTANDING

# Each drop zone: the engine tasks whose results it takes back whole, and the option key each selects.
ZONES: dict[str, dict[str, str | None]] = {
    "text-to-image": {"text2image": None},
    "control": {option.task: option.key for option in CONTROL.options},
    "understanding": {option.task: option.key for option in UNDERSTANDING.options},
    "identity": {option.task: option.key for option in IDENTITY.options},
    "multiview": {"image2multiview": None, "text2multiview": None},
    "slots": {},  # its raw prompt is the prompt as sent: any task's result fits
}
_TOKEN = re.compile(r"^\s*\[\[(\w+)\]\]\s*")
_LABEL = re.compile(r"<#[0-9a-fA-F]{6} (\w+) (?:mask|boundingbox): ([^<>]*)>\s*")
_ITEM = re.compile(r"<item: ([^<>]*)>\s*")
_IMAGE = re.compile(r"\s*\[\[img(\d)\]\]\s*")
SHOWN_PROMPT = 60  # characters of the prompt quoted in the report


@dataclass
class Reused:
    """What a dropped result gave: control name -> value, and the report's parts."""

    values: dict[str, object] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def message(self, name: str) -> str:
        """One short paragraph for ``gr.Info``: what was read, then what could not be."""
        said = f"Read from {name}: {', '.join(self.read)}." if self.read else f"Nothing could be reused from {name}."
        return " ".join([said, *self.problems])


def reuse(path: str | Path | None, zone: str, sizes: list[str] = ()) -> Reused:
    """The settings a result PNG carries, as values of zone ``zone``'s controls (``ZONES``); ``sizes``
    are the zone's size choices (a recorded size is set only when it is one of them)."""
    found = Reused()
    if not path:
        return found
    read = read_png(path)
    found.problems += read.problems[:3]  # a hostile file may list many; three say enough
    fields = read.fields
    _shared(fields, sizes, found)
    if fields.get("prompt"):
        _prompt(fields["prompt"], fields.get("task"), zone, found)
    return found


def _shared(fields: dict, sizes: list[str], found: Reused) -> None:
    """Negative prompt, seed (and no random seed), steps, guidance and size: every tab's settings."""
    if "negative_prompt" in fields:
        found.values["negative_prompt"] = fields["negative_prompt"]
        found.read.append("negative prompt" if fields["negative_prompt"] else "no negative prompt")
    if "seed" in fields:
        found.values.update(seed=fields["seed"], randomize=False)
        found.read.append(f"seed {fields['seed']}")
    for name in ("steps", "guidance"):
        if name in fields:
            found.values[name] = fields[name]
            found.read.append(f"{name} {fields[name]:g}")
    if "width" in fields and "height" in fields:
        size = f"{fields['width']}x{fields['height']}"
        if size in sizes:
            found.values["size"] = size
            found.read.append(f"size {size}")
        else:
            found.problems.append(f"The size {size} is not one of this tab's sizes; the size was left as it is.")


def _prompt(prompt: str, task: str | None, zone: str, found: Reused) -> None:
    """The prompt as sent, taken apart into the zone's controls when the result is of one of its tasks."""
    token = _TOKEN.match(prompt)
    task = task or ("text2image" if token is None else None)  # another tool's prompt: a text-to-image one
    tasks = ZONES[zone]
    if zone == "slots":
        found.values["prompt"] = prompt
        found.read.append(f"the prompt “{_short(prompt)}”")
        return
    if task not in tasks:
        what = f"task {task!r}" if task else "a task it does not name"
        found.problems.append(f"The result is of {what}, made on another tab: only the shared settings were filled.")
        return
    rest = prompt[token.end() :] if token else prompt
    if tasks[task] is not None:
        found.values["option"] = tasks[task]
        found.read.append(f"option {tasks[task]!r}")
    if task in ("identity", "subject_driven"):
        _identity(rest, found)
    else:
        _caption(rest, found)


def _caption(text: str, found: Reused) -> None:
    rows = [[name.strip(), colour] for colour, name in _LABEL.findall(text) if colour in COLOR_NAMES]
    if rows:
        found.values["labels"] = rows
        found.read.append(f"{len(rows)} class row{'s' * (len(rows) > 1)}")
    caption = _LABEL.sub("", text).strip()
    found.values["prompt"] = caption
    found.read.append(f"the caption “{_short(caption)}”")


def _identity(text: str, found: Reused) -> None:
    """``<item: name> [[img0]] target [[img1]] caption 1 ...``: the subject, target caption and references'."""
    item = _ITEM.match(text)
    if item:
        found.values["subject"] = item.group(1).strip()
        found.read.append(f"subject “{_short(found.values['subject'])}”")
    parts = _IMAGE.split(text[item.end() :] if item else text)
    captions = {int(number): caption.strip() for number, caption in zip(parts[1::2], parts[2::2])}
    if 0 in captions:
        found.values["prompt"] = captions.pop(0)
        found.read.append(f"the target caption “{_short(found.values['prompt'])}”")
    for number, caption in captions.items():
        if 1 <= number <= 4:
            found.values[f"caption_{number}"] = caption
    if captions:
        found.read.append(f"{len(captions)} reference caption{'s' * (len(captions) > 1)}")


def _short(text: str) -> str:
    return text if len(text) <= SHOWN_PROMPT else text[: SHOWN_PROMPT - 1] + "…"
