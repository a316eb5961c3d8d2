"""``leechsim corpus CORPUS.toml [--runs N] [--out DIR] [--workers N | --scheduler tcp://HOST:PORT]
[--table-format parquet|csv] [--limit K]``"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from sim.units import format_bytes

from forensics.corpus_run import BLOCK_REPLICATIONS, run_corpus

from .argtypes import replications, scheduler, workers
from .env import Environment, ExitStatus

SHOWN_TORRENTS = 20  # the terminal lists the torrents with the largest median upload; all are in torrents.csv


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="simulate a list of torrents and total the subject's upload",
                       description="Simulate every torrent of a corpus and aggregate the subject's upload.")
    p.add_argument("corpus", type=Path, help="corpus TOML file")
    p.add_argument("--runs", type=replications, help="replications per torrent (default: corpus.replications)")
    p.add_argument("--out", type=Path, help="run directory (default: runs/<name>-<UTC time>)")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", type=scheduler, metavar="tcp://HOST:PORT", help="Dask distributed scheduler")
    p.add_argument("--table-format", choices=("parquet", "csv"), default="parquet",
                   help="the per-replication table: per_replication.parquet (default) or per_replication.csv")
    p.add_argument("--limit", type=replications, metavar="K", help="only the corpus's first K torrents (a slice)")
    p.add_argument("--block", type=replications, default=BLOCK_REPLICATIONS, metavar="N",
                   help=f"replications per work unit (default {BLOCK_REPLICATIONS}; results do not depend on it)")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.set_defaults(run=run)


class CountColumn(ProgressColumn):
    """Replications done of all (the total is unknown until the corpus is read)."""

    def render(self, task) -> Text:
        total = "?" if task.total is None else f"{task.total:,.0f}"
        return Text(f"{task.completed:,.0f}/{total} rep")


class RateColumn(ProgressColumn):
    """Replications per second over the run so far (rich's own speed estimate, smoothed)."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.2f} rep/s")


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    with Progress(TextColumn("{task.description}"), BarColumn(), CountColumn(),
                  TextColumn("torrents {task.fields[torrents]}"), RateColumn(), TimeElapsedColumn(),
                  TextColumn("left"), TimeRemainingColumn(), console=env.err_console(),
                  disable=not env.show_progress(), transient=True) as progress:
        task = progress.add_task("corpus", total=None, torrents="0/?")
        result = run_corpus(ns.corpus, ns.out, runs=ns.runs, workers=ns.workers, scheduler=ns.scheduler,
                            force=ns.force, command=ns.command_line, table_format=ns.table_format, block=ns.block,
                            limit=ns.limit,
                            on_plan=lambda p: progress.update(task, total=p.replications,
                                                              torrents=f"0/{p.torrents:,}"),
                            on_progress=lambda p: progress.update(task, completed=p.replications_done,
                                                                  torrents=f"{p.torrents_done:,}/{p.torrents:,}"))
    rows, summary, n = result.rows, result.summary, result.summary["replications"]
    table = Table(title=f"Corpus '{result.name}' — {summary['torrents']:,} torrents, {n} replications each",
                  title_justify="left")
    for col in ("Torrent", "Size", "Seeds", "Leechers", "Upload (median)", "90% interval"):
        table.add_column(col, justify="left" if col == "Torrent" else "right")
    shown = sorted(rows, key=lambda r: -r[6])[:SHOWN_TORRENTS] if len(rows) > SHOWN_TORRENTS else rows
    for r in shown:
        table.add_row(r[0], format_bytes(r[1]), str(r[3]), str(r[4]), format_bytes(r[6]),
                      f"{format_bytes(r[7])} – {format_bytes(r[8])}")
    if len(rows) > len(shown):
        table.add_row(f"… {len(rows) - len(shown):,} more (torrents.csv)", "", "", "", "", "")
    t = summary["total"]["subject_upload_total_bytes"]
    table.add_row("TOTAL", format_bytes(summary["corpus_size_bytes"]), "", "", format_bytes(t["median"]),
                  f"{format_bytes(t['p5'])} – {format_bytes(t['p95'])}", style="bold")
    console = env.console()
    console.print(table)
    ratio = summary["total"]["subject_ratio_total"]
    console.print(f"Share ratio over the corpus (uploaded / downloaded): median {ratio['median']:.3f}, "
                  f"90% interval {ratio['p5']:.3f} – {ratio['p95']:.3f}")
    console.print(f"Run directory: {result.root} (per replication: {result.table_file})")
    return ExitStatus.SUCCESS
