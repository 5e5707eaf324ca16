"""Small helpers for the hot paths (imports, reading answers for estimation)."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


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


class AheadInChild(Generic[T, R]):
    """``work(item)`` for each of ``items``, computed in a forked child process while the caller uses
    the results in order: two processes share a job that is half reading and checking, half writing.

    The child iterates ``items`` itself (a lazy reader made in this process is read there), sends
    each result as it is ready and blocks while the caller has not taken the previous ones, so memory
    holds a couple of results whatever the number of items. After the last item, ``final`` holds what
    ``finish()`` returned in the child. An exception in the child (a corrupt file found half-way, say)
    is raised here, at the point of the stream where it happened. The child must not use this
    process's database connection: ``work`` gets everything it needs before the fork.

    Use it as a context manager: leaving early stops the child.
    """

    def __init__(
        self,
        items: Iterable[T],
        work: Callable[[T], R],
        finish: Callable[[], Any] | None = None,
    ) -> None:
        self.final: Any = None
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child_loop, args=(send, items, work, finish), name="voicescount-ahead", daemon=True
        )
        self._process.start()
        send.close()

    @staticmethod
    def available() -> bool:
        """Whether this platform can fork (Linux, macOS); elsewhere run the work in this process."""
        return "fork" in multiprocessing.get_all_start_methods()

    def __iter__(self) -> Iterator[R]:
        while True:
            try:
                kind, value = pickle.loads(self._receive.recv_bytes())
            except EOFError:
                raise RuntimeError(
                    f"The worker process stopped unexpectedly (exit code {self._process.exitcode})."
                ) from None
            if kind == _RESULT:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                self.final = value
                return

    def __enter__(self) -> AheadInChild[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._receive.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


_RESULT, _ERROR, _END = 0, 1, 2


def _child_loop(send: Any, items: Iterable[Any], work: Callable[[Any], Any], finish: Any) -> None:
    collect = not gc.isenabled()  # paused in the parent: collect the young generation now and then
    try:
        for count, item in enumerate(items, start=1):
            send.send_bytes(pickle.dumps((_RESULT, work(item)), pickle.HIGHEST_PROTOCOL))
            if collect and count % 16 == 0:
                gc.collect(0)
        send.send_bytes(pickle.dumps((_END, finish() if finish else None), pickle.HIGHEST_PROTOCOL))
    except BaseException as exc:  # noqa: BLE001 -- every failure goes to the parent, which raises it
        try:
            message = pickle.dumps((_ERROR, exc), pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that cannot be pickled: its type and text
            message = pickle.dumps((_ERROR, RuntimeError(f"{type(exc).__name__}: {exc}")))
        with contextlib.suppress(OSError):  # the parent has gone: nobody to tell
            send.send_bytes(message)
    finally:
        send.close()
