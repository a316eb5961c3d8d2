"""The argument spec. Each command lives in its own module with ``add_parser`` and ``run``;
the parsed namespace never travels past the command's ``run``."""

from __future__ import annotations

import argparse

from . import (case_cmd, corpus_cmd, evidence_cmd, lab_cmd, report_cmd, session_cmd, simulate_cmd, sweep_cmd, trace_cmd,
               validate_cmd, verify_cmd)
from forensics import __version__

from .env import Environment

COMMANDS = (simulate_cmd, session_cmd, corpus_cmd, lab_cmd, trace_cmd, validate_cmd, report_cmd, sweep_cmd, verify_cmd, evidence_cmd, case_cmd)


class _Parser(argparse.ArgumentParser):
    """argparse that writes to the injected streams instead of the process's."""

    env: Environment

    def _print_message(self, message: str, file=None) -> None:  # noqa: D401
        if message:
            stream = self.env.stderr if file is None or file is __import__("sys").stderr else self.env.stdout
            stream.write(message)


def build_parser(env: Environment) -> argparse.ArgumentParser:
    _Parser.env = env
    parser = _Parser(prog="leechsim", description="BitTorrent seeding-behaviour forensic simulator.")
    parser.add_argument("--version", action="version", version=f"leechsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for cmd in COMMANDS:
        cmd.add_parser(sub)
    return parser
