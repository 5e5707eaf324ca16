"""Small helpers for the hot paths (imports, reading answers for estimation)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import multiprocessing
import os
import pickle
import signal
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
    """``work(item)`` for each of ``items``, computed in forked child processes while the caller uses
    the results in order: the work is shared between the caller (say, writing) and ``children``
    processes (say, reading and checking).

    Each child iterates ``items`` itself (a lazy reader made in this process is read there) and
    works on every ``children``-th item — with two children, one takes the even items and the other
    the odd ones; both read all of them, which costs less than sending them. A child sends each result
    as it is ready and blocks while the caller has not taken the previous ones, so memory holds a
    couple of results per child whatever the number of items. After the last item, ``final`` holds
    what ``finish()`` returned in each child. An exception in a child (a corrupt file found half-way,
    say) is raised here, at the point of the stream where it happened. Children must not use this
    process's database connection: ``work`` gets everything it needs before the fork.

    Use it as a context manager: leaving early stops the children. A child never outlives this
    process: on Linux the kernel kills it when its parent dies (``PR_SET_PDEATHSIG``), and anywhere
    its next send fails once the parent has gone (no other process holds the reading end of its pipe),
    so a killed import leaves no worker behind blocked on a full pipe.
    """

    def __init__(
        self,
        items: Iterable[T],
        work: Callable[[T], R],
        finish: Callable[[], Any] | None = None,
        *,
        children: int = 1,
    ) -> None:
        self.final: list[Any] = []
        context = multiprocessing.get_context("fork")
        self._receivers: list[Any] = []
        self._processes: list[Any] = []
        parent = os.getpid()
        try:
            # A handler raising while os.fork runs its hooks would be printed and ignored (the CLI's
            # SIGTERM handler, say): the signals wait until the children are started.
            with _stop_signals_held():
                for number in range(children):
                    receive, send = context.Pipe(duplex=False)
                    # The child closes its copies of the reading ends (its own, its elder siblings'):
                    # with them open, its parent's death would never break its pipe.
                    inherited = [*self._receivers, receive]
                    process = context.Process(
                        target=_child_loop,
                        args=(send, inherited, parent, items, work, finish, number, children),
                        name=f"voicescount-ahead-{number}",
                        daemon=True,
                    )
                    process.start()
                    send.close()
                    self._receivers.append(receive)
                    self._processes.append(process)
        except BaseException:
            self.__exit__()
            raise

    @staticmethod
    def available() -> bool:
        """Whether this platform can fork (Linux, macOS); elsewhere run the work in this process."""
        return "fork" in multiprocessing.get_all_start_methods()

    def _receive(self, number: int) -> tuple[int, Any]:
        try:
            return pickle.loads(self._receivers[number].recv_bytes())
        except EOFError:
            code = self._processes[number].exitcode
            raise RuntimeError(f"The worker process stopped unexpectedly (exit code {code}).") from None

    def __iter__(self) -> Iterator[R]:
        children = len(self._receivers)
        for index in itertools.count():
            kind, value = self._receive(index % children)
            if kind == _RESULT:
                yield value
            elif kind == _ERROR:
                raise value
            else:  # the end: every child has read all items and says so once
                self.final = [value]
                for other in range(1, children):
                    kind, value = self._receive((index + other) % children)
                    if kind == _ERROR:
                        raise value
                    self.final.append(value)
                return

    def __enter__(self) -> AheadInChild[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        for receive in self._receivers:
            receive.close()
        for process in self._processes:
            if process.is_alive():
                process.terminate()
            process.join()


_RESULT, _ERROR, _END = 0, 1, 2


_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


@contextmanager
def _stop_signals_held() -> Iterator[None]:
    """SIGTERM and SIGINT held back for the block (delivered at its end), where the platform can."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this (forked) process when its parent dies, on Linux; exit at once when
    the parent ``parent`` has already gone (it may have died before the request was made)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):  # not Linux: the broken pipe tells
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the C library's prctl
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _child_loop(
    send: Any,
    inherited: list[Any],
    parent: int,
    items: Iterable[Any],
    work: Callable[[Any], Any],
    finish: Any,
    number: int,
    children: int,
) -> None:
    die_with_parent(parent)
    # The parent's handlers (the CLI stops an import on SIGTERM or Ctrl-C) are not the child's: the
    # parent stops its children itself, with SIGTERM, once it has unwound.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # held back while the parent forked
    for receive in inherited:
        receive.close()
    collect = not gc.isenabled()  # paused in the parent: collect the young generation now and then
    try:
        for index, item in enumerate(items):
            if index % children != number:
                continue
            send.send_bytes(pickle.dumps((_RESULT, work(item)), pickle.HIGHEST_PROTOCOL))
            if collect and index % 16 == number:
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
