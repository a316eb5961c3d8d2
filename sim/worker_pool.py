"""Worker processes that stop when asked and never outlive the process that started them.

``map_in_order`` runs tasks on a process pool whose workers

- ask the kernel to SIGKILL them when their parent dies, even by SIGKILL (``die_with_parent``,
  PR_SET_PDEATHSIG; the lab's peers use the same call), so a killed ``leechsim`` leaves no
  worker blocked forever;
- ignore SIGINT: a Ctrl-C on the terminal reaches every process of the foreground group, and
  it is the parent's business to stop the run (no worker tracebacks);

and on any exception in the parent — ``KeyboardInterrupt`` from Ctrl-C or SIGTERM included — the
queued tasks are cancelled and the running workers killed at once, instead of the executor's
default of waiting for every queued task to finish.
"""

from __future__ import annotations

import ctypes
import os
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, parent_pid: int | None = None) -> None:
    """Have the kernel send ``sig`` to this process when its parent exits (Linux; elsewhere a no-op).

    With ``parent_pid``: if that parent is already gone (it died before the flag was set), exit now.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def _init_worker(parent_pid: int) -> None:
    die_with_parent(signal.SIGKILL, parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the parent's handlers


def map_in_order(fn: Callable[[T], R], tasks: list[T], workers: int,
                 on_done: Callable[[int], None] | None = None) -> list[R]:
    """``fn(task)`` for every task — on a process pool when ``workers > 1`` — in task order.

    ``fn`` must be a module-level function (it is pickled to the workers); ``on_done(1)`` is
    called as each task finishes, in whatever order they finish.
    """
    results: list[R | None] = [None] * len(tasks)
    if workers <= 1 or len(tasks) <= 1:
        for i, t in enumerate(tasks):
            results[i] = fn(t)
            if on_done:
                on_done(1)
        return results  # type: ignore[return-value]
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            if on_done:
                on_done(1)
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return results  # type: ignore[return-value]


def stop_pool(pool: ProcessPoolExecutor, grace_s: float = 2.0) -> None:
    """Cancel what is queued, SIGKILL every worker, reap them, and let the executor's manager thread
    end (a worker's work is only results in memory).

    A worker killed while it was sending a result leaves the executor's manager thread blocked
    reading a message that will never be finished (results go through the pipe in pieces:
    book-corpus's replications are 0.25-0.7 MB each, the default scenario's with
    --trace-connections 12 MB, and on a loaded machine the parent reads them slowly). This process
    holds the other write end of that pipe, so no end-of-file comes, the thread never ends, and the
    interpreter's exit joins it forever (``concurrent.futures.process._python_exit``): the command
    had printed its error and did not exit. Closing that write end once the workers are dead turns
    the half-read message into an end-of-file: the executor marks itself broken, its thread returns.
    """
    # The executor has no public way to stop running tasks before Python 3.14 (kill_workers);
    # its internals are read defensively so a future layout change degrades to a plain shutdown.
    procs = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    results = getattr(pool, "_result_queue", None)
    for p in procs:
        try:
            p.kill()
        except (OSError, ValueError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.join(grace_s)
        except (OSError, ValueError, AttributeError, AssertionError):
            pass
    writer = getattr(results, "_writer", None)  # the workers wrote results here; this process never does
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass
    if manager is not None and manager.is_alive():
        manager.join(grace_s)
