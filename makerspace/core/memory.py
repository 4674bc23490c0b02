"""A long-running process gives large blocks back to the system when it frees them."""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
LARGE_BLOCK = 128 * 1024  # glibc's own starting threshold


def give_large_blocks_back() -> bool:
    """Keep glibc's mmap threshold where it starts. glibc maps a block above 128 KB on its
    own and unmaps it when it is freed, until the first such block is freed: from then on it
    raises the threshold to that block's size. A county's 2.5 MB course feed, built again
    after a change, then came from the heap and stayed there: +9 MB in a web worker over
    seven rebuilds (docs/performance.md, round five). Setting the threshold turns the raising off.
    False where the C library is not glibc (nothing is changed there)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK))
