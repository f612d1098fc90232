"""glibc's allocator where the model's memory depends on it: a fixed mmap threshold and trimming the free heap.

glibc serves buffers under its mmap threshold from heaps it seldom gives back, and raises that threshold
(up to 32 MiB) after any larger buffer is freed; buffers of a few MiB made and freed around longer-lived ones
then leave holes for good. Two places pay for it: the app over many uploads (``ui.sessions``) and loading
quantized weights (``onediffusion.quantize``: about 1.5 GB of holes at full size). Hand-written with ctypes:
no library exposes glibc's ``mallopt`` and ``malloc_trim``. Elsewhere (musl, macOS, Windows) nothing is done.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
DYNAMIC_MAX = 32 << 20  # the highest threshold glibc's dynamic rule reaches on 64-bit machines
LOAD_THRESHOLD = 1 << 20
_fixed: int | None = None  # the threshold fixed by fix_mmap_threshold, kept across steady_heap


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: mallopt's parameter numbers are its own)
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def fix_mmap_threshold(nbytes: int) -> bool:
    """Fix glibc's mmap threshold at ``nbytes`` for good; whether it was done (not off glibc)."""
    global _fixed
    libc = _glibc()
    if libc is None or not libc.mallopt(M_MMAP_THRESHOLD, nbytes):
        return False
    _fixed = nbytes
    return True


@contextlib.contextmanager
def steady_heap():
    """While the block runs, every buffer of 1 MiB or more gets a mapping of its own (freed wide copies go back
    to the system instead of leaving holes around what is kept); after, the threshold is what it was fixed
    at before, else glibc's largest dynamic one (as after any large free), and the free heap is trimmed.
    Nothing is done where the host fixed the threshold itself (``MALLOC_MMAP_THRESHOLD_``)."""
    libc = _glibc()
    if libc is None or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        yield
        return
    libc.mallopt(M_MMAP_THRESHOLD, LOAD_THRESHOLD)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, _fixed or DYNAMIC_MAX)
        libc.malloc_trim(0)
