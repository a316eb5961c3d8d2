"""``leechsim sweep SCENARIO --vary KEY=V1,V2,... [--vary ...] [--runs N] [--seed S] --out DIR``

Runs the full grid (cartesian product of the --vary lists) with ``forensics.sweep.run_sweep`` and
prints one row per cell.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from forensics.fmt import interval, nbytes, seconds
from forensics.sweep import Sweep, run_sweep

from .argtypes import replications, seed, workers
from .env import Environment, ExitStatus


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a scenario over a grid of parameter values",
                       description="Simulate every combination of the --vary values; one run directory per cell "
                                   "and a summary table.")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...", required=True,
                   help="values of one scenario key, read like --set; rate shorthand 50k = 50kB/s (repeatable: "
                        "the grid is the cartesian product)")
    p.add_argument("--runs", type=replications, help="replications per cell (default: the scenario's)")
    p.add_argument("--seed", type=seed, help="master seed of every cell (default: the scenario's)")
    p.add_argument("--workers", type=workers, help="worker processes per cell (default: all cores)")
    p.add_argument("--out", type=Path, help="sweep directory (default: runs/sweep-<name>-<UTC time>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value in every cell (repeatable)")
    p.add_argument("--force", action="store_true", help="replace an existing sweep directory")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    def show(cell, total: int) -> None:
        if env.show_progress():
            env.err_console().print(f"cell {cell.index + 1}/{total}: {cell.given}")

    sweep = run_sweep(ns.scenario, ns.vary, ns.out, runs=ns.runs, seed=ns.seed, workers=ns.workers,
                      overrides=ns.overrides, force=ns.force, command=ns.command_line, on_cell=show)
    console = env.console()
    console.print(_table(sweep))
    console.print(f"Sweep directory: {sweep.root} ({len(sweep.cells)} cells; summary in sweep.csv)")
    return ExitStatus.SUCCESS


def _table(sweep: Sweep) -> Table:
    t = Table(title="Sweep — subject upload, total (median, 90% interval) and download time", title_justify="left")
    t.add_column("cell")
    for k in sweep.cells[0].given:
        t.add_column(k)
    t.add_column("upload, total", justify="right")
    t.add_column("90% interval", justify="right")
    t.add_column("download time", justify="right")
    for c in sweep.cells:
        up = sweep.stats(c, "subject_upload_total_bytes")
        dt = sweep.stats(c, "subject_download_time_s")
        t.add_row(c.name, *c.given.values(), nbytes(up.median), interval(up.p5, up.p95, "bytes"), seconds(dt.median))
    return t
