"""Memoisation for the span of one static export (``voicescount publish``).

The export renders some 2,000 pages through the live views, and most of them read the same rows again
(a run's estimates for each of its breakdowns in both languages, the code labels for every table).
Inside :func:`active` those reads are computed once and shared; outside it (the live site, the tests)
every call goes to the database as before, so a page never shows data older than the request.

The cache lives in a context variable: a publish run in one thread does not leak into requests served
by another, and nothing survives the ``with`` block.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from voicescount.indicators.models import Estimate, EstimateRun

T = TypeVar("T")
_store: ContextVar[dict[Hashable, object] | None] = ContextVar("voicescount_render_cache", default=None)


@contextmanager
def active() -> Iterator[None]:
    """Share computed values between the pages rendered inside this block (no-op when nested)."""
    if _store.get() is not None:
        yield
        return
    token = _store.set({})
    try:
        yield
    finally:
        _store.reset(token)


def is_active() -> bool:
    return _store.get() is not None


def memo(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its value from earlier in the same :func:`active` block."""
    store = _store.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]  # type: ignore[return-value]


def run_estimates(run: EstimateRun) -> list[Estimate]:
    """All estimates of ``run`` (callers must not modify the instances: they may be shared)."""
    return memo(("run_estimates", run.pk), lambda: list(run.estimates.all()))


def per_run(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate ``function(run, *args, **kwargs)`` so that, inside :func:`active`, it runs once per
    run and arguments (by the run's primary key)."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(run, *args, **kwargs):
        if not is_active():
            return function(run, *args, **kwargs)
        bound = signature.bind(run, *args, **kwargs)
        bound.apply_defaults()
        arguments = tuple((k, v) for k, v in bound.arguments.items() if v is not run)
        key = (function.__module__, function.__qualname__, run.pk, arguments)
        return memo(key, lambda: function(run, *args, **kwargs))

    return wrapper
