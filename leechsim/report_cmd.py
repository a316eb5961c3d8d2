"""``leechsim report RUN_DIR [--no-counterfactuals] [--no-sensitivity] [--variant-runs N] [--range KEY=LOW,HIGH]``

Writes RUN_DIR/report.html (self-contained), report.md, figures/*.png and report-data/*.csv, and
lists them in RUN_DIR/report.SHA256SUMS. Refuses (exit 2) a run directory that is marked
incomplete or whose files do not match SHA256SUMS.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sim.montecarlo import default_workers
from sim.units import parse_rate

from forensics.errors import UserError
from forensics.report.build import ReportOptions, build_report

from .env import Environment, ExitStatus
from .argtypes import replications, workers


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write an expert report (HTML + Markdown) from a run directory",
                       description="Write RUN_DIR/report.html, report.md and figures/ from a run directory, with "
                                   "counterfactuals and a sensitivity analysis re-simulated with the run's seeds.")
    p.add_argument("run_dir", type=Path, help="run directory written by 'leechsim simulate'")
    p.add_argument("--no-counterfactuals", dest="counterfactuals", action="store_false",
                   help="skip the counterfactual re-simulations")
    p.add_argument("--no-sensitivity", dest="sensitivity", action="store_false",
                   help="skip the sensitivity re-simulations (the slowest part)")
    p.add_argument("--variant-runs", type=replications, metavar="N",
                   help="replications per counterfactual / sensitivity variant: the run's first N seeds "
                        "(default: all of the run's replications)")
    p.add_argument("--range", dest="ranges", action="append", default=[], metavar="KEY=LOW,HIGH",
                   help="a sensitivity range (values read like --set; repeatable; replaces the default ranges)")
    p.add_argument("--cap", default="50kB/s", help="upload cap of the 'capped' counterfactual (default 50kB/s)")
    p.add_argument("--validation", type=Path, metavar="FILE",
                   help="validation.json from 'leechsim validate' for the error-rate section "
                        "(default: RUN_DIR/validation.json, then docs/validation.json)")
    p.add_argument("--workers", type=workers, help="worker processes for re-simulations (default: all cores)")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    try:
        cap = parse_rate(ns.cap)
    except ValueError as e:
        raise UserError(f"--cap {ns.cap!r}: {e}") from None
    if cap <= 0:
        raise UserError(f"--cap {ns.cap!r}: the cap must be above 0 (0 means unlimited in libtorrent)")
    with Progress(TextColumn("re-simulating variants"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=env.err_console(), disable=not env.show_progress(), transient=True) as progress:
        task = progress.add_task("variants", total=None)
        opts = ReportOptions(
            counterfactuals=ns.counterfactuals, sensitivity=ns.sensitivity, variant_runs=ns.variant_runs,
            workers=ns.workers or default_workers(ns.variant_runs or 64), cap_bps=cap, ranges=list(ns.ranges),
            command_line=ns.command_line, validation=ns.validation,
            on_plan=lambda total: progress.update(task, total=total),
            on_done=lambda k: progress.advance(task, k))
        written = build_report(ns.run_dir, opts)
    console = env.console()
    console.print(f"Report: {ns.run_dir / 'report.html'} (also report.md, {sum(1 for k in written if k.startswith('figures/'))} "
                  f"figures in figures/, data in report-data/)")
    return ExitStatus.SUCCESS
