"""Background job workers: ``voicescount worker`` and the one ``voicescount demo`` starts.

A worker is django-tasks-db's ``db_worker`` loop (``settings.TASKS``): it claims one queued task at a
time in its own transaction — ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so that several
workers never take the same task; an exclusive transaction on SQLite — and runs it. With
``processes`` > 1 the workers are forked children of one supervisor, which passes SIGTERM/SIGINT on
(each worker finishes its task, then stops), starts a worker again if one dies, and whose children
the kernel kills if the supervisor itself is killed (``perf.die_with_parent``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def worker_arguments(*, batch: bool, interval: float) -> list[str]:
    """The ``db_worker`` arguments of one worker."""
    arguments = ["db_worker", "--no-reload", "--interval", str(interval)]
    return [*arguments, "--batch"] if batch else arguments


def fail_abandoned_jobs() -> None:
    """Mark failed the import and compute jobs still running whose worker died (as a worker starts)."""
    from voicescount.collection import jobs
    from voicescount.collection.servers import pulls
    from voicescount.indicators import compute_jobs

    jobs.fail_abandoned_jobs()
    compute_jobs.fail_abandoned_jobs()
    pulls.fail_abandoned_pulls()


def queue_due_pulls() -> None:
    """Queue the server pulls that are due (``voicescount worker --batch`` does it once as it starts)."""
    from voicescount.collection.servers.pulls import enqueue_due_pulls

    enqueue_due_pulls()


def start_scheduler() -> subprocess.Popen:
    """A process queueing the due server pulls every ``pulls.SCHEDULE_EVERY`` seconds
    (``servers.pulls.schedule_forever``), killed with this one. A new interpreter, not a fork: it holds
    nothing of this process (connections, locks), and is not counted among the job workers."""
    from voicescount.perf import die_with_parent

    parent = os.getpid()
    return subprocess.Popen(
        [sys.executable, "-c", "from voicescount.workers import schedule; schedule()"],
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: die_with_parent(parent),
    )


def schedule() -> None:
    """The scheduler process's body (``start_scheduler``): Django set up from the environment the worker
    was given, then ``schedule_forever`` until SIGTERM."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicescount.settings")
    django.setup()
    from voicescount.collection.servers.pulls import schedule_forever

    with contextlib.suppress(KeyboardInterrupt):
        schedule_forever()


def stop_scheduler(scheduler: subprocess.Popen) -> None:
    """Stop the scheduler process ``start_scheduler`` started."""
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        scheduler.terminate()
        try:
            scheduler.wait(timeout=10)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait()


def run_worker(*, batch: bool, interval: float) -> None:
    """One worker in this process, until SIGTERM/SIGINT (or, with ``batch``, until no job is queued)."""
    from django.core.management import call_command

    fail_abandoned_jobs()
    if batch:
        queue_due_pulls()
        call_command(*worker_arguments(batch=batch, interval=interval))
        return
    scheduler = start_scheduler()
    try:
        call_command(*worker_arguments(batch=batch, interval=interval))
    finally:
        stop_scheduler(scheduler)


def run_workers(processes: int, *, batch: bool = False, interval: float = 1.0) -> None:
    """``processes`` workers (see the module docstring); returns when they have all stopped."""
    if processes == 1:
        run_worker(batch=batch, interval=interval)
        return
    from django.db import connections

    fail_abandoned_jobs()
    if batch:
        queue_due_pulls()
    connections.close_all()  # each child opens its own
    scheduler = None if batch else start_scheduler()
    stopping = False
    children: set[int] = set()

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        for _ in range(processes):
            children.add(_fork_worker(batch, interval))
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if scheduler is not None and pid == scheduler.pid:
                scheduler.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
                scheduler = None if stopping else start_scheduler()
                continue
            children.discard(pid)
            if not stopping and not batch and os.waitstatus_to_exitcode(status) != 0:
                time.sleep(1)  # a worker died (killed, out of memory): its job is failed, start another
                fail_abandoned_jobs()
                connections.close_all()
                children.add(_fork_worker(batch, interval))
    finally:
        if scheduler is not None:
            stop_scheduler(scheduler)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fork_worker(batch: bool, interval: float) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        from django.core.management import call_command

        from voicescount.perf import die_with_parent

        die_with_parent(parent)
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        call_command(*worker_arguments(batch=batch, interval=interval))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os._exit(code)


@contextlib.contextmanager
def worker_process() -> Iterator[subprocess.Popen]:
    """One ``voicescount worker`` process beside this one (``voicescount demo``), stopped at the end:
    SIGTERM (it finishes the job it is running), then SIGKILL after 10 seconds; on Linux the kernel
    kills it if this process is killed."""
    from voicescount.perf import die_with_parent

    parent = os.getpid()
    worker = subprocess.Popen(
        [sys.executable, "-c", "from voicescount.cli import main; main()", "worker"],
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: die_with_parent(parent),  # killed with this process, whatever kills it
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
