"""``leechsim sweep SCENARIO --vary KEY=V1,V2,... [--vary ...] [--runs N] [--seed S] --out DIR``

Runs the full grid (cartesian product of the --vary lists); each cell is a run directory written
by ``simulate``. ``DIR/sweep.csv`` holds one row per cell (parameters, median/p5/p95 of every
headline quantity), ``DIR/sweep.png`` the total upload per cell, ``DIR/sweep.json`` the grid and
its provenance; ``DIR/SHA256SUMS`` hashes everything.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from sim.scenario import scenario_sha256

from .. import rundir
from ..atomic import write_bytes, write_csv, write_json
from ..errors import UserError
from ..provenance import software_stack, utc_now
from ..report import figures
from ..report.fmt import interval, nbytes, seconds
from ..report.stats import describe
from ..sweep import Cell, check_cells, grid, parse_vary, run_cell, summary_rows
from .env import Environment, ExitStatus
from .argtypes import positive_int, seed
from .simulate_cmd import default_out, load_with_overrides

MAX_CELLS = 1000


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a scenario over a grid of parameter values",
                       description="Simulate every combination of the --vary values; one run directory per cell "
                                   "and a summary table.")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...", required=True,
                   help="values of one scenario key, read like --set; rate shorthand 50k = 50kB/s (repeatable: "
                        "the grid is the cartesian product)")
    p.add_argument("--runs", type=positive_int, help="replications per cell (default: the scenario's)")
    p.add_argument("--seed", type=seed, help="master seed of every cell (default: the scenario's)")
    p.add_argument("--workers", type=positive_int, help="worker processes per cell (default: all cores)")
    p.add_argument("--out", type=Path, help="sweep directory (default: runs/sweep-<name>-<UTC time>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value in every cell (repeatable)")
    p.add_argument("--force", action="store_true", help="replace an existing sweep directory")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    sc, scenario_path, _ = load_with_overrides(ns.scenario, ns.overrides)
    varies = [parse_vary(sc, v) for v in ns.vary]
    cells = grid(varies)
    if len(cells) > MAX_CELLS:
        raise UserError(f"--vary: the grid has {len(cells)} cells; at most {MAX_CELLS} are allowed in one sweep")
    check_cells(sc, cells)
    out: Path = ns.out or default_out(f"sweep-{sc.name}")
    started = utc_now()
    console = env.console()
    with rundir.RunDirWriter(out, force=ns.force) as w:
        for c in cells:
            if env.show_progress():
                env.err_console().print(f"cell {c.index + 1}/{len(cells)}: {c.given}")
            run_cell(scenario_path, c, w.stage / "cells" / c.name, ns.runs, ns.seed, ns.workers, ns.overrides)
        header, rows = summary_rows(w.stage, cells, sc)
        write_csv(w.stage / "sweep.csv", header, rows)
        write_bytes(w.stage / "sweep.png", _figure(varies, cells, w.stage))
        write_json(w.stage / "sweep.json", {
            "sweep_version": 1, "kind": "sweep", "command": ns.command_line, "started_utc": started,
            "finished_utc": utc_now(), "scenario_file": str(scenario_path),
            "scenario_sha256": scenario_sha256(scenario_path), "overrides": list(ns.overrides),
            "vary": [{"key": k, "given": g, "values": v} for k, g, v in varies],
            "replications": ns.runs or sc.simulation.replications,
            "master_seed": sc.simulation.seed if ns.seed is None else ns.seed,
            "cells": [{"cell": c.name, "given": c.given, "values": c.values} for c in cells],
            "software": software_stack(),
        })
        published = w.publish()
    console.print(_table(cells, published))
    console.print(f"Sweep directory: {published} ({len(cells)} cells; summary in sweep.csv)")
    return ExitStatus.SUCCESS


def _stats(root: Path, c: Cell, q: str):
    from ..report.rundata import read_columns

    return describe(read_columns(root / "cells" / c.name / "results.csv")[q])


def _figure(varies, cells: list[Cell], root: Path) -> bytes:
    x_key, x_given, _ = varies[0]
    lines: dict[str, list] = {}
    for c in cells:
        rest = ", ".join(f"{k}={v}" for k, v in c.given.items() if k != x_key)
        lines.setdefault(rest, []).append(_stats(root, c, "subject_upload_total_bytes"))
    return figures.sweep(x_given, x_key, lines, "subject_upload_total_bytes")


def _table(cells: list[Cell], root: Path) -> Table:
    t = Table(title="Sweep — subject upload, total (median, 90% interval) and download time", title_justify="left")
    t.add_column("cell")
    for k in cells[0].given:
        t.add_column(k)
    t.add_column("upload, total", justify="right")
    t.add_column("90% interval", justify="right")
    t.add_column("download time", justify="right")
    for c in cells:
        up = _stats(root, c, "subject_upload_total_bytes")
        dt = _stats(root, c, "subject_download_time_s")
        t.add_row(c.name, *c.given.values(), nbytes(up.median), interval(up.p5, up.p95, "bytes"), seconds(dt.median))
    return t
