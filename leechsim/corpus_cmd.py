"""``leechsim corpus CORPUS.toml [--runs N] [--out DIR] [--workers N | --scheduler tcp://HOST:PORT]``"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.units import format_bytes

from forensics.corpus import run_corpus

from .argtypes import replications, scheduler, workers
from .env import Environment, ExitStatus


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="simulate a list of torrents and total the subject's upload",
                       description="Simulate every torrent of a corpus and aggregate the subject's upload.")
    p.add_argument("corpus", type=Path, help="corpus TOML file")
    p.add_argument("--runs", type=replications, help="replications per torrent (default: corpus.replications)")
    p.add_argument("--out", type=Path, help="run directory (default: runs/<name>-<UTC time>)")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", type=scheduler, metavar="tcp://HOST:PORT", help="Dask distributed scheduler")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=env.err_console(), disable=not env.show_progress(), transient=True) as progress:
        task = progress.add_task("corpus", total=None)
        result = run_corpus(ns.corpus, ns.out, runs=ns.runs, workers=ns.workers, scheduler=ns.scheduler,
                            force=ns.force, command=ns.command_line,
                            on_plan=lambda total: progress.update(task, total=total),
                            on_torrent=lambda name: progress.update(task, description=f"simulating {name}"),
                            on_done=lambda k: progress.advance(task, k))
    rows, summary, n = result.rows, result.summary, result.summary["replications"]
    table = Table(title=f"Corpus '{result.name}' — {summary['torrents']} torrents, {n} replications each",
                  title_justify="left")
    for col in ("Torrent", "Size", "Seeds", "Leechers", "Upload (median)", "90% interval"):
        table.add_column(col, justify="left" if col == "Torrent" else "right")
    for r in rows:
        table.add_row(r[0], format_bytes(r[1]), str(r[3]), str(r[4]), format_bytes(r[6]),
                      f"{format_bytes(r[7])} – {format_bytes(r[8])}")
    t = summary["total"]["subject_upload_total_bytes"]
    table.add_row("TOTAL", format_bytes(summary["corpus_size_bytes"]), "", "", format_bytes(t["median"]),
                  f"{format_bytes(t['p5'])} – {format_bytes(t['p95'])}", style="bold")
    console = env.console()
    console.print(table)
    console.print(f"Run directory: {result.root}")
    return ExitStatus.SUCCESS
