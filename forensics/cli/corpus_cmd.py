"""``leechsim corpus CORPUS.toml [--runs N] [--out DIR] [--workers N | --scheduler tcp://HOST:PORT]``"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.montecarlo import SEED_RULE, default_workers, run_replications
from sim.results import aggregate
from sim.scenario import scenario_sha256
from sim.units import format_bytes

from .. import atomic, rundir
from ..corpus import TOTAL_FIELDS, corpus_totals, load_corpus
from ..provenance import utc_now
from .env import Environment, ExitStatus
from .argtypes import positive_int, scheduler
from .simulate_cmd import default_out


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="simulate a list of torrents and total the subject's upload",
                       description="Simulate every torrent of a corpus and aggregate the subject's upload.")
    p.add_argument("corpus", type=Path, help="corpus TOML file")
    p.add_argument("--runs", type=positive_int, help="replications per torrent (default: corpus.replications)")
    p.add_argument("--out", type=Path, help="run directory (default: runs/<name>-<UTC time>)")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", type=scheduler, metavar="tcp://HOST:PORT", help="Dask distributed scheduler")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.set_defaults(run=run)


def _stats(values: np.ndarray) -> dict[str, float]:
    p5, med, p95 = np.percentile(values, [5, 50, 95])
    return {"median": float(med), "mean": float(values.mean()), "p5": float(p5), "p95": float(p95)}


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    corpus = load_corpus(ns.corpus)
    n = ns.runs or corpus.meta.replications
    workers = ns.workers or default_workers(n)
    scenarios = [corpus.scenario_for(row) for row in corpus.torrents]
    seeds = corpus.torrent_seeds()
    out = ns.out or default_out(corpus.meta.name)
    started = utc_now()
    with rundir.RunDirWriter(out, force=ns.force) as w:
        per_torrent = []
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=env.err_console(), disable=not env.show_progress(), transient=True) as progress:
            task = progress.add_task("corpus", total=n * len(scenarios))
            for sc, seed in zip(scenarios, seeds):
                progress.update(task, description=f"simulating {sc.name}")
                per_torrent.append(run_replications(sc, n, seed, workers, scheduler=ns.scheduler,
                                                    on_done=lambda k: progress.advance(task, k)))
        totals = corpus_totals(per_torrent)
        atomic.write_bytes(w.stage / "corpus.toml", ns.corpus.read_bytes())
        atomic.write_text(w.stage / "base.resolved.toml", rundir.resolved_toml(corpus.base))
        atomic.write_columns_csv(w.stage / "totals.csv", {"replication": list(range(n)), **totals},
                                 ("replication",) + TOTAL_FIELDS)
        rows, per_summary = [], {}
        for row, sc, seed, rs in zip(corpus.torrents, scenarios, seeds, per_torrent):
            agg = aggregate(rs)
            per_summary[row.name] = {"master_seed": seed, "headline": agg}
            up = agg["subject_upload_total_bytes"]
            rows.append([row.name, sc.torrent.size_bytes, row.files, row.seeds, row.leechers, seed,
                         up["median"], up["p5"], up["p95"], agg["subject_upload_leech_bytes"]["median"]])
        atomic.write_csv(w.stage / "torrents.csv",
                         ("name", "size_bytes", "files", "seeds", "leechers", "master_seed", "upload_median_bytes",
                          "upload_p5_bytes", "upload_p95_bytes", "upload_leech_median_bytes"), rows)
        summary = {"replications": n, "torrents": len(scenarios),
                   "corpus_size_bytes": int(sum(sc.torrent.size_bytes for sc in scenarios)),
                   "total": {k: _stats(v) for k, v in totals.items()}, "per_torrent": per_summary}
        atomic.write_json(w.stage / "summary.json", summary)
        atomic.write_json(w.stage / "manifest.json", rundir.manifest(
            "corpus", ns.command_line, scenario_sha256(ns.corpus), started, corpus_file=str(ns.corpus),
            base_sha256=scenario_sha256(ns.corpus.parent / corpus.meta.base), replications=n,
            corpus_seed=corpus.meta.seed, torrent_seed_rule="torrent i uses SeedSequence(corpus.seed).spawn(T)[i]"
            " (first 64-bit word >> 1) as its master seed; " + SEED_RULE,
            workers=None if ns.scheduler else workers, scheduler=ns.scheduler))
        published = w.publish()
    table = Table(title=f"Corpus '{corpus.meta.name}' — {len(scenarios)} torrents, {n} replications each",
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
    console.print(f"Run directory: {published}")
    return ExitStatus.SUCCESS
