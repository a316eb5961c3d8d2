"""The CLI's I/O as one injectable object, so tests run the CLI in-process and read what it said."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TextIO

from rich.console import Console


class ExitStatus(IntEnum):
    SUCCESS = 0
    ERROR = 1  # the run itself failed (e.g. a lab peer crashed); details on stderr
    BAD_INPUT = 2  # the user's input is wrong: bad scenario, bad option, existing --out
    HANGUP = 129  # the terminal closed (SIGHUP)
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM


@dataclass
class Environment:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    progress: bool | None = None  # None: show progress bars only on a terminal

    def console(self) -> Console:
        return Console(file=self.stdout, width=120, soft_wrap=False,
                       force_terminal=False if not self._tty(self.stdout) else None)

    def err_console(self) -> Console:
        return Console(file=self.stderr, width=120, force_terminal=False if not self._tty(self.stderr) else None)

    def show_progress(self) -> bool:
        return self.progress if self.progress is not None else self._tty(self.stderr)

    @staticmethod
    def _tty(stream: TextIO) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def error(self, message: str) -> None:
        print(f"leechsim: error: {message}", file=self.stderr)

    def warn(self, message: str) -> None:
        print(f"leechsim: warning: {message}", file=self.stderr)
