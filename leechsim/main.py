"""``leechsim`` entry point: parse, dispatch, and turn user errors into messages and exit codes.

Stop signals are caught before the command's (slow) imports, so that a Ctrl-C at any moment ends
in a message and an exit code, never a traceback.
"""

from __future__ import annotations

import sys

from forensics.errors import Interrupted, UserError, stop_requested

from .env import Environment, ExitStatus
from .stopping import stop_on_signals


def main(args: list[str] | None = None, env: Environment | None = None) -> ExitStatus:
    env = env or Environment()
    try:
        with stop_on_signals():
            try:
                return _dispatch(args, env)
            except Exception as e:
                # a stop signal whose Interrupted some library turned into another error on its way
                # up (numba unboxing a typed container: forensics.errors.note_stop) is still the stop
                stop = stop_requested()
                if stop is None:
                    raise
                for note in getattr(e, "__notes__", []):
                    stop.add_note(note)
                raise stop from None
    except KeyboardInterrupt as e:
        stop = e if isinstance(e, Interrupted) else Interrupted()
        notes = getattr(e, "__notes__", [])
        env.error(f"{stop}" + (f"; {notes[-1]}" if notes else ""))
        return ExitStatus(stop.exit_code)


def _dispatch(args: list[str] | None, env: Environment) -> ExitStatus:
    from sim.scenario import ScenarioError

    from .args import build_parser
    from .notices import compile_notice_unless_done_soon

    parser = build_parser(env)
    try:
        ns = parser.parse_args(args)
    except SystemExit as e:  # argparse already printed usage and the problem
        return ExitStatus.SUCCESS if e.code == 0 else ExitStatus.BAD_INPUT
    ns.command_line = ["leechsim", *(sys.argv[1:] if args is None else args)]
    notice = compile_notice_unless_done_soon(ns.command, env)
    try:
        return ns.run(ns, env)
    except (ScenarioError, UserError) as e:
        env.error(str(e))
        return ExitStatus.BAD_INPUT
    finally:
        if notice is not None:
            notice.cancel()


def entry_point() -> None:
    sys.exit(int(main()))
