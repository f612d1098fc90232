"""The Hugging Face hub: what names a repository on it, and whether it may be reached. Light enough for the
launcher, which answers bad input before torch or Gradio load."""

from __future__ import annotations

from pathlib import Path


def is_hub_id(name: str) -> bool:
    """An ``owner/name`` the hub could hold (``huggingface_hub``'s own rule, ``validate_repo_id``: letters,
    digits, ``-_.``, no ``--`` or ``..``; a leading ``/``, ``.`` or ``~`` or a backslash fails it) that is not
    a file or folder here. A bare ``name`` is valid on the hub but read here as a missing folder: the
    checkpoints this app loads are ``owner/name``."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if name.count("/") != 1:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return not Path(name).expanduser().exists()


def hub_offline() -> bool:
    """Whether the hub must never be reached: ``huggingface_hub``'s own rule (``HF_HUB_OFFLINE`` or
    ``TRANSFORMERS_OFFLINE``, read when it is first imported, as every library built on it reads them)."""
    from huggingface_hub import is_offline_mode

    return is_offline_mode()
