"""``leechsim simulate [SCENARIO] [--runs N] [--seed S] [--out DIR] [--workers N] [--set KEY=VALUE]``"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from forensics.runs import simulate_run

from .argtypes import replications, scheduler, seed, workers
from .env import Environment, ExitStatus
from .terminal import headline_table, observed_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="Monte Carlo simulation of a scenario (default: the built-in one)",
                       description="Simulate a swarm and report how much the subject client uploaded.")
    p.add_argument("scenario", nargs="?", help="scenario TOML file (default: the built-in default scenario)")
    p.add_argument("--runs", type=replications, help="replications (default: the scenario's simulation.replications)")
    p.add_argument("--seed", type=seed, help="master seed (default: the scenario's simulation.seed)")
    p.add_argument("--out", type=Path, help="run directory to write (default: runs/<name>-<UTC time>)")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", type=scheduler, metavar="tcp://HOST:PORT",
                   help="run the replications on this Dask distributed scheduler instead of local workers")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value, e.g. --set subject.on_complete=never_stop (repeatable)")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.add_argument("--trace-connections", action="store_true",
                   help="also write replications/NNNN/connections.csv: every connection at every quota tick "
                        "(the lab's columns; for small scenarios)")
    p.set_defaults(run=run)



def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    with Progress(TextColumn("simulating {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=env.err_console(),
                  disable=not env.show_progress(), transient=True) as progress:
        task = progress.add_task("", total=None)
        run = simulate_run(ns.scenario, ns.out, runs=ns.runs, seed=ns.seed, workers=ns.workers,
                           overrides=ns.overrides, scheduler=ns.scheduler, force=ns.force, command=ns.command_line,
                           trace_connections=ns.trace_connections,
                           on_plan=lambda name, n: progress.update(task, description=name, total=n),
                           on_done=lambda k: progress.advance(task, k))
    console = env.console()
    console.print(headline_table(run.summary, f"Scenario '{run.scenario.name}'"))
    if (run.root / "observed.csv").is_file():
        console.print(observed_table(run.root / "observed.csv"))
    console.print(f"Run directory: {run.root}")
    return ExitStatus.SUCCESS
