"""Errors whose message is meant for the user as it is (no traceback): exit code 2; and a stop request."""

import signal


class UserError(Exception):
    pass


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by a signal (Ctrl-C's SIGINT, SIGTERM, SIGHUP): unwind, clean up, exit.

    A KeyboardInterrupt, so every ``except Exception`` lets it through and cleanup code that already
    handles Ctrl-C handles it too.
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        # args is the signal number alone: SimPy (and pickle) re-create an exception as type(e)(*e.args)
        super().__init__(int(signum))
        self.signum = int(signum)

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        return f"interrupted by {name}{' (Ctrl-C)' if self.signum == signal.SIGINT else ''}"

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


# The stop signal this process has received, if any (set by leechsim.stopping's handler). A signal
# handler raises Interrupted at whatever Python line runs when the signal arrives; when that line is
# inside numba's unboxing of a typed container (its unpickling of the container's type), numba turns
# the exception into a TypeError ("can't unbox ..."). Code that unwinds after a stop reads this to
# report the stop rather than that TypeError.
_stop_signum: int | None = None


def note_stop(signum: int | None) -> None:
    """Record that a stop signal arrived (None: forget it, at the end of a command)."""
    global _stop_signum
    _stop_signum = None if signum is None else int(signum)


def stop_requested() -> Interrupted | None:
    """The stop this process was asked for (an Interrupted to report), or None."""
    return None if _stop_signum is None else Interrupted(_stop_signum)
