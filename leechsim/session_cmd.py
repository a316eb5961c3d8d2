"""``leechsim session SESSION.toml [--runs N] [--seed S] [--out DIR] [--workers N] [--force]``

One subject client session holding several torrents (sim/session.py): each torrent's subject
upload while leeching, after completion and download, and the session's totals, with intervals.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


from forensics.session_runs import simulate_session_run

from .argtypes import replications, seed, workers
from .env import Environment, ExitStatus
from .terminal import fmt


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("session", help="simulate one client session holding several torrents",
                       description="Simulate a session file: several torrents, each with its own swarm, in one "
                                   "subject session whose unchoke slots, rate limits, connection limit and "
                                   "auto-manage queue are shared (docs/model.md).")
    p.add_argument("session", type=Path, help="session TOML file (e.g. validation/sessions/s01-shared-slots.toml)")
    p.add_argument("--runs", type=replications, help="replications (default: the session's simulation.replications)")
    p.add_argument("--seed", type=seed, help="master seed (default: the session's simulation.seed)")
    p.add_argument("--out", type=Path, help="run directory to write (default: runs/<name>-<UTC time>)")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.add_argument("--trace-connections", action="store_true",
                   help="write each torrent's replications/NNNN/connections.csv: every connection at every "
                        "quota tick, in the lab's columns (leechsim lab SESSION_FILE --trace-connections)")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    with Progress(TextColumn("simulating session"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=env.err_console(), disable=not env.show_progress(), transient=True) as progress:
        task = progress.add_task("", total=ns.runs)
        result = simulate_session_run(ns.session, ns.out, runs=ns.runs, seed=ns.seed, workers=ns.workers,
                                      force=ns.force, command=ns.command_line,
                                      trace_connections=ns.trace_connections,
                                      on_done=lambda k: progress.advance(task, k))
    env.console().print(session_table(result.summary, f"Session '{result.session.name}'"))
    env.console().print(f"Run directory: {result.root}")
    return ExitStatus.SUCCESS


def _cell(s: dict, kind: str) -> str:
    if not s["n"]:
        return "—"
    return f"{fmt(s['median'], kind)} ({fmt(s['p5'], kind)} – {fmt(s['p95'], kind)})"


def session_table(summary: dict, title: str, runs_label: str = "replications") -> Table:
    """Per torrent and for the session: median (90% interval) of the subject's upload while
    leeching, after completion, download and download time."""
    table = Table(title=f"{title} — {summary['replications']} {runs_label}; median (p5 – p95)", title_justify="left")
    for col in ("Torrent", "Upload while leeching", "Upload after completion", "Download", "Download time"):
        table.add_column(col, justify="left" if col == "Torrent" else "right")
    for t in summary["torrents"]:
        h = t["headline"]
        table.add_row(f"{t['torrent']:02d} {t['name']}", _cell(h["subject_upload_leech_bytes"], "bytes"),
                      _cell(h["subject_upload_seed_bytes"], "bytes"), _cell(h["subject_download_bytes"], "bytes"),
                      _cell(h["subject_download_time_s"], "seconds"))
    s = summary["session"]
    table.add_row("SESSION", _cell(s["session_upload_leech_bytes"], "bytes"), _cell(s["session_upload_seed_bytes"], "bytes"),
                  _cell(s["session_download_bytes"], "bytes"), _cell(s["session_last_completion_s"], "seconds"),
                  style="bold")
    table.add_row("ratio", _cell(s["session_ratio_at_completion"], "ratio") + " at completion",
                  _cell(s["session_ratio_total"], "ratio") + " total", "", "")
    return table
