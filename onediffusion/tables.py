"""Tables and sizes as people write them, read into engine values: ``"WIDTHxHEIGHT"`` sizes, class-and-colour
rows, and the rows of any table (a list of lists, a pandas frame, or a Gradio Dataframe's dict).

The app's widgets and the batch command's files share these readers, so a table means the same in both.
Every reader raises ``InputError`` (a ``ValueError``) with a message a non-coder can act on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .prompts import COLOR_NAMES, PALETTE, Label

AUTO_SIZE = "auto"
# The limits of the sampling settings people type (the app's sliders, its API, grids and the batch command).
MAX_SEED = 2**32 - 1
MAX_STEPS = 200
MAX_GUIDANCE = 20.0
_HEX_TO_NAME = {hex_code.lower(): name for hex_code, name in PALETTE}


class InputError(ValueError):
    """Bad input, described in plain words for the person who typed it; ``field`` names the input at fault (a
    parameter name, such as ``"prompt"`` or ``"x_values"``) when it is known, so a form can show it there."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def parse_size(size: str | None) -> tuple[int, int] | None:
    """``"WIDTHxHEIGHT"`` -> (height, width); ``"auto"`` or empty -> None (the task picks)."""
    text = (size or "").strip().lower()
    if text in ("", AUTO_SIZE) or text.startswith("auto"):
        return None
    match = re.fullmatch(r"(\d+)\s*[x×*]\s*(\d+)", text)
    if not match:
        raise InputError(f"Size must look like 512x512 (width x height) or 'auto', not {size!r}.")
    width, height = int(match[1]), int(match[2])
    for name, value in (("width", width), ("height", height)):
        if value % 16 or not 16 <= value <= 2048:
            raise InputError(f"The {name} must be a multiple of 16 between 16 and 2048; {value} is not.")
    return height, width


def _colour_name(text: str, used: set[str]) -> str:
    value = text.strip().lower()
    if not value:
        free = [name for _, name in PALETTE if name not in used]
        return free[0] if free else PALETTE[0][1]
    if value in COLOR_NAMES:
        return value
    if value in _HEX_TO_NAME:
        return _HEX_TO_NAME[value]
    names = ", ".join(name for _, name in PALETTE)
    raise InputError(f"Colour {text!r} is not one the model knows. Use one of: {names}.")


def labels(rows: Sequence[Sequence] | None) -> list[Label]:
    """Class-and-colour table rows -> labels; blank colours take the next unused palette colour."""
    result: list[Label] = []
    for row in _rows(rows):
        name = str(row[0] if len(row) > 0 and row[0] is not None else "").strip()
        if not name:
            continue
        if any(ch in name for ch in "<>"):
            raise InputError(f"Class names cannot contain '<' or '>': {name!r}.")
        colour = _colour_name(str(row[1] if len(row) > 1 and row[1] is not None else ""), {lb.color for lb in result})
        result.append(Label(name, colour))
    if len(result) > len(PALETTE):
        raise InputError(f"At most {len(PALETTE)} classes can be named at once; {len(result)} were given.")
    return result


def _rows(rows) -> list[list]:
    """Table rows from a list of lists, a pandas frame or the Dataframe's dict form."""
    if rows is None:
        return []
    if hasattr(rows, "values") and hasattr(rows, "columns"):  # a pandas DataFrame
        return rows.values.tolist()
    if isinstance(rows, dict):
        return list(rows.get("data") or [])
    return [list(row) for row in rows]


def table_rows(rows) -> list[list]:
    """Non-empty rows of a table value (rows whose cells are all blank are dropped)."""
    return [row for row in _rows(rows) if any(cell not in (None, "") for cell in row)]


def number_cell(value, what: str, row: int) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"Row {row}: {what} must be a number, not {value!r}.") from None
    if not np.isfinite(number):
        raise InputError(f"Row {row}: {what} must be a finite number.")
    return number
