"""Ctrl-C, SIGTERM and SIGHUP stop a command once, cleanly, however many times they arrive.

The first signal raises ``forensics.errors.Interrupted`` in the main thread, which unwinds the
command: worker pools kill their workers (``sim.worker_pool``), run directories are left as
``<out>.incomplete`` with the reason (``forensics.rundir``). Later signals are ignored so that
this cleanup is never itself interrupted (a second Ctrl-C used to print worker tracebacks).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from forensics.errors import Interrupted, note_stop, stop_requested

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, the first stop signal raises Interrupted; afterwards the previous handlers are
    restored, or, after a stop, the stop signals stay ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread; leave them alone
        return
    def handler(signum, frame):
        if stop_requested() is not None:
            return
        note_stop(signum)  # read by whatever unwinds if the raise below is turned into another error
        raise Interrupted(signum)

    old = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        stopping = stop_requested() is not None
        note_stop(None)
        for sig, h in old.items():
            # once stopping, the process is on its way out: a late press must not kill it mid-exit
            signal.signal(sig, signal.SIG_IGN if stopping else h)
