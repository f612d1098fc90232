"""What the parameters several endpoints share mean, for the API page and the MCP tools (``app.py --mcp``).

Gradio describes each public endpoint (as an MCP tool too) from its function's docstring, read Google
style by ``gradio.utils.get_function_description``: the description, then ``Args:`` with one line
``name: meaning`` per parameter (a second line is dropped, so each meaning fits on its line), then
``Returns:`` with one line per returned value, in order. Each endpoint's docstring describes its own
parameters; the ones below, shared by several, are written once here and added to its ``Args:`` by
``@endpoint`` (``with_shared_args``), their ranges read from the checks that enforce them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from onediffusion.prompts import PALETTE

from ..catalogue import CONTROL
from ..inputs import MAX_GUIDANCE, MAX_IMAGES, MAX_SEED, MAX_STEPS

_COLOURS = ", ".join(name for _, name in PALETTE)
SHARED = {
    "negative_prompt": "what the images must not show (a comma-separated list); leave it out for the model's own.",
    "size": "output size 'WIDTHxHEIGHT' in pixels, one of the listed choices ('auto': the first input image's aspect "
    "ratio at the model's native side).",
    "steps": f"denoising steps, a whole number from 1 to {MAX_STEPS}: fewer is faster and rougher; leave it out for "
    "the model's default.",
    "guidance": f"how closely to follow the prompt and the given images, from 0 to {MAX_GUIDANCE:g}; leave it out for "
    "the model's default for the task.",
    "seed": f"random seed, a whole number from 0 to {MAX_SEED}; used only when randomize_seed is false.",
    "randomize_seed": "true (the default): a new random seed each call, returned with the result; false: use seed, "
    "to repeat a result exactly.",
    "num_images": f"how many images to generate, 1 to {MAX_IMAGES}.",
    "fast": "true: step caching (faster, images close to but not exactly exact sampling's); false: exact sampling; "
    "leave it out for the app's default.",
    "labels": "class-and-colour table {'headers': ['class', 'colour'], 'data': [['sky', 'blue'], ['car', '']]}, one "
    f"row per class; colours: {_COLOURS} (blank: the next unused); needed for semanticmap and boundingbox only.",
    "condition": "the kind of condition: "
    + "; ".join(f"'{option.key}': {option.hint[0].lower()}{option.hint[1:].rstrip('.')}" for option in CONTROL.options)
    + ".",
}  # fmt: skip


def with_shared_args(doc: str | None, names: Iterable[str]) -> str:
    """``doc`` (cleaned of its indentation) with a line in its ``Args:`` for each of ``names`` that is shared
    (``SHARED``) and not described there yet (``Args:`` is added when missing)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    if not any(line.startswith("Args:") for line in lines):
        at = next((i for i, line in enumerate(lines) if line.startswith("Returns:")), len(lines))
        lines[at:at] = ["Args:", ""] if at < len(lines) else ["", "Args:"]
    start = lines.index("Args:") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("Returns:")), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    described = {line.split(":", 1)[0].strip() for line in lines[start:end]}
    lines[end:end] = [f"    {name}: {SHARED[name]}" for name in names if name in SHARED and name not in described]
    return "\n".join(lines)
