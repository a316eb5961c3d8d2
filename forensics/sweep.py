"""Parameter sweeps: one simulated run directory per cell of a grid, plus a summary table.

Every cell is written by ``runs.simulate_run``, so each cell directory carries its own manifest
(whose command line re-creates it) and can be checked with ``leechsim verify``. The sweep
directory holds ``sweep.csv`` (one row per cell: parameters, median/p5/p95 of every headline
quantity), ``sweep.png`` (total upload per cell), ``sweep.json`` (the grid and its provenance) and
its own ``SHA256SUMS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sim.montecarlo import default_workers
from sim.results import HEADLINE_FIELDS
from sim.scenario import Scenario, ScenarioError, scenario_sha256

from . import rundir
from .analysis.stats import Stat, describe
from .atomic import write_bytes, write_csv, write_json
from .capacity import check_run_size
from .errors import UserError
from .overrides import Cell, check_cells, dotted_value, grid, load_with_overrides, parse_vary
from .provenance import software_stack, utc_now
from .report import figures
from .runs import default_out, simulate_run

SWEEP_QUANTITIES = HEADLINE_FIELDS
MAX_CELLS = 1000


@dataclass(frozen=True)
class Sweep:
    """A published sweep directory and its cells, in grid order."""

    root: Path
    cells: list[Cell]
    varies: list[tuple[str, list[str], list[object]]]

    def stats(self, cell: Cell, quantity: str) -> Stat:
        """Median, interval, ... of one headline quantity over a cell's replications."""
        return describe(rundir.load_run(self.root / "cells" / cell.name).results[quantity])


def run_sweep(scenario: str | Path, vary: list[str], out: Path | None = None, *, runs: int | None = None,
              seed: int | None = None, workers: int | None = None, overrides: list[str] = (),
              force: bool = False, command: list[str] | None = None,
              on_cell: Callable[[Cell, int], None] | None = None) -> Sweep:
    """Simulate every cell of the ``vary`` grid (``KEY=V1,V2,...`` each) into ``out``."""
    overrides = list(overrides)
    sc, scenario_path, _ = load_with_overrides(scenario, overrides)
    if not scenario_path.is_file():  # every cell reads the file again, and records its path
        raise UserError(f"{scenario_path}: not a regular file; a sweep reads the scenario once per cell, so save "
                        f"it to a file first")
    varies = [parse_vary(sc, v) for v in vary]
    cells = grid(varies)
    if len(cells) > MAX_CELLS:
        raise UserError(f"--vary: the grid has {len(cells)} cells; at most {MAX_CELLS} are allowed in one sweep")
    check_cells(sc, cells)
    for c in cells:  # every cell must fit in memory before the first one runs
        cell_sc = sc.with_changes(**c.values)
        n = runs or cell_sc.simulation.replications
        check_run_size(cell_sc, n, workers or default_workers(n), f"{scenario_path} ({c.name})")
    out = Path(out) if out else default_out(f"sweep-{sc.name}")
    command = command or ["leechsim", "sweep", str(scenario_path), *(a for v in vary for a in ("--vary", v))]
    started = utc_now()
    with rundir.RunDirWriter(out, force=force) as w:
        for c in cells:
            if on_cell:
                on_cell(c, len(cells))
            run_cell(scenario_path, c, w.stage / "cells" / c.name, runs, seed, workers, overrides)
        header, rows = summary_rows(w.stage, cells, sc)
        write_csv(w.stage / "sweep.csv", header, rows)
        write_bytes(w.stage / "sweep.png", _figure(Sweep(w.stage, cells, varies)))
        write_json(w.stage / "sweep.json", {
            "sweep_version": 1, "kind": "sweep", "command": command, "started_utc": started,
            "finished_utc": utc_now(), "scenario_file": str(scenario_path),
            "scenario_sha256": scenario_sha256(scenario_path), "overrides": overrides,
            "vary": [{"key": k, "given": g, "values": v} for k, g, v in varies],
            "replications": runs or sc.simulation.replications,
            "master_seed": sc.simulation.seed if seed is None else seed,
            "cells": [{"cell": c.name, "given": c.given, "values": c.values} for c in cells],
            "software": software_stack(),
        })
        published = w.publish()
    return Sweep(published, cells, varies)


def run_cell(scenario_path: Path, cell: Cell, out: Path, runs: int | None, seed: int | None,
             workers: int | None, overrides: list[str]) -> None:
    """Write one cell's run directory; its manifest records the equivalent ``simulate`` command."""
    cell_overrides = [*overrides, *cell.overrides()]
    args = ["simulate", str(scenario_path), "--out", str(out)]
    if runs:
        args += ["--runs", str(runs)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if workers:
        args += ["--workers", str(workers)]
    for o in cell_overrides:
        args += ["--set", o]
    try:
        simulate_run(scenario_path, out, runs=runs, seed=seed, workers=workers, overrides=cell_overrides,
                     command=["leechsim", *args])
    except (UserError, ScenarioError) as e:
        raise UserError(f"sweep cell {cell.name} ({cell.given}) failed: {e}") from None


def summary_rows(out: Path, cells: list[Cell], scenario: Scenario) -> tuple[list[str], list[list[object]]]:
    """sweep.csv: one row per cell — its parameters (as resolved) and median/p5/p95 of each quantity."""
    keys = list(cells[0].values)
    header = ["cell", "run_dir", *keys]
    for q in SWEEP_QUANTITIES:
        header += [f"{q}_median", f"{q}_p5", f"{q}_p95"]
    rows = []
    for c in cells:
        res = rundir.load_run(out / "cells" / c.name).results
        sc = scenario.with_changes(**c.values)
        row: list[object] = [c.name, f"cells/{c.name}"]
        for k in keys:
            v = dotted_value(sc, k)
            row.append(v if not isinstance(v, (dict, list)) else c.given[k])
        for q in SWEEP_QUANTITIES:
            st = describe(res[q])
            row += [st.median, st.p5, st.p95]
        rows.append(row)
    return header, rows


def _figure(sweep: Sweep) -> bytes:
    x_key, x_given, _ = sweep.varies[0]
    lines: dict[str, list] = {}
    for c in sweep.cells:
        rest = ", ".join(f"{k}={v}" for k, v in c.given.items() if k != x_key)
        lines.setdefault(rest, []).append(sweep.stats(c, "subject_upload_total_bytes"))
    return figures.sweep(x_given, x_key, lines, "subject_upload_total_bytes")
