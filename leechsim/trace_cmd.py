"""``leechsim trace RUN_DIR [--uploader N] [--replication R] [--out DIR] [--window-s 60]``

Figures and tables of one uploader's connections in a run recorded with
``leechsim lab --trace-connections`` (the work is in ``forensics/connection_report.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from forensics.connection_report import write_trace_report
from .argtypes import positive_float
from .env import Environment, ExitStatus


def _index(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return v


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace", help="figure and tables of one uploader's connections in a traced run (lab or simulator)",
                       description="Per-connection upload rate over time, unchoke episodes, ramp-up times, "
                                   "shares and utilisation of the upload limit, from replications/NNNN/"
                                   "connections.csv (leechsim lab --trace-connections, or leechsim simulate --trace-connections).")
    p.add_argument("run_dir", type=Path, help="run directory of a traced lab or simulated run")
    p.add_argument("--uploader", type=_index, default=0, help="peer index of the uploader (default 0, the subject)")
    p.add_argument("--replication", type=_index, default=0, help="replication (lab run) number (default 0)")
    p.add_argument("--out", type=Path, help="output directory (default: RUN_DIR-trace next to the run directory)")
    p.add_argument("--window-s", type=positive_float, default=60.0,
                   help="share window from the uploader's first payload byte (default 60 s)")
    p.add_argument("--rate-window-s", type=positive_float, default=1.0,
                   help="centred window of the per-connection rate (default 1 s)")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    run_dir = ns.run_dir.resolve()  # "." has no name to append to
    out = ns.out or run_dir.with_name(run_dir.name + "-trace")
    written = write_trace_report(ns.run_dir, ns.replication, ns.uploader, out, ns.window_s, ns.rate_window_s)
    for path in written:
        env.stdout.write(f"{path}\n")
    return ExitStatus.SUCCESS
