"""``leechsim`` entry point: parse, dispatch, and turn user errors into messages and exit codes."""

from __future__ import annotations

import sys

from sim.scenario import ScenarioError

from forensics.errors import UserError

from .args import build_parser
from .env import Environment, ExitStatus


def main(args: list[str] | None = None, env: Environment | None = None) -> ExitStatus:
    env = env or Environment()
    parser = build_parser(env)
    try:
        ns = parser.parse_args(args)
    except SystemExit as e:  # argparse already printed usage and the problem
        return ExitStatus.SUCCESS if e.code == 0 else ExitStatus.BAD_INPUT
    ns.command_line = ["leechsim", *(sys.argv[1:] if args is None else args)]
    try:
        return ns.run(ns, env)
    except (ScenarioError, UserError) as e:
        env.error(str(e))
        return ExitStatus.BAD_INPUT
    except KeyboardInterrupt:
        env.error("interrupted")
        return ExitStatus.INTERRUPTED


def entry_point() -> None:
    sys.exit(int(main()))
