"""Small helpers for the hot paths (imports, reading answers for estimation)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (reference counting still frees memory).

    Hot loops that make millions of short-lived containers and no garbage cycles spend a tenth to a
    fifth of their time in the collector walking the same live objects again and again. Code in the
    block that may leave cycles behind calls ``gc.collect(0)`` now and then (cheap: only objects made
    since are walked); the previous state is restored at the end.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
