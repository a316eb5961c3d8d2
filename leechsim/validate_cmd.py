"""``leechsim validate`` — the simulator against the real lab.

    leechsim validate SCENARIO --lab-runs 3 --sim-runs 200 --out DIR      # one scenario, lab run live
    leechsim validate --matrix validation/ --out DIR                       # the matrix, recorded lab runs
    leechsim validate --matrix validation/ --record                        # re-record the lab runs
    leechsim validate --matrix validation/ --record --add-runs --lab-runs 15   # add runs to the recordings

With ``--matrix``, each scenario's lab runs come from ``<matrix>/recorded/<name>/`` (a lab run
directory without its raw/ files) unless ``--live`` is given; ``--record`` runs the lab for every
scenario and replaces those recordings; ``--record --add-runs`` keeps them and adds runs
(``calibration.extend_recording``).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.table import Table

from sim.scenario import load_scenario

from forensics import atomic
from forensics.calibration import (add_runs_evenly, extend_recording, record_lab_runs, recorded_dir,
                                  recorded_runs, run_validation)
from forensics.errors import UserError
from forensics.lab.run import LabRunFailed, busy_warning, run_lab
from forensics.lab.swarm import LabOptions
from forensics.report.validation_md import fmt_quantity as _fmt
from forensics.report.validation_md import validation_markdown

from .env import Environment, ExitStatus
from .argtypes import named_files, positive_int, replications


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="compare the simulator with the real lab (error rate)",
                       description="Run a scenario in the real lab and the simulator and compare them.")
    p.add_argument("scenario", nargs="?", type=Path, help="a scenario TOML file (or use --matrix)")
    p.add_argument("--matrix", type=Path, help="a directory of scenarios: the calibration matrix")
    p.add_argument("--lab-runs", type=positive_int, default=3, help="lab runs per scenario (default 3)")
    p.add_argument("--sim-runs", type=replications, default=1000,
                   help="simulator replications (default 1000: the median of a scenario whose upload spreads widely, a late joiner's, still moves by about 10%% between seeds at 200)")
    p.add_argument("--sessions", type=Path, metavar="DIR",
                   help="the session matrix: a directory of session files (validation/sessions/), each compared "
                        "with its recorded lab runs (--record: run the lab and store them)")
    p.add_argument("--live", action="store_true", help="with --matrix: run the lab now instead of using recordings")
    p.add_argument("--record", action="store_true",
                   help="with --matrix or --sessions: run the lab and store the recordings")
    p.add_argument("--add-runs", action="store_true",
                   help="with --record (--matrix or --sessions): keep each recording's runs and add runs, one at a "
                        "time to the recording with the fewest (ties: first by name), until each holds --lab-runs; "
                        "each new run has the seed it has in a recording made at once; same scenario (or session) "
                        "files and libtorrent only")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="with --matrix or --sessions: only these scenarios (sessions)")
    p.add_argument("--out", type=Path, help="output directory (default: runs/validation)")
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.add_argument("--doc", type=Path, help="also write the table as Markdown to this file (docs/validation.md)")
    p.set_defaults(run=run)


def _lab_runner(env: Environment):
    """The lab (forensics.lab.run), writing its own run directory; returns its manifest. With
    ``first``/``seed``: replications first .. runs-1 of a recording (calibration.extend_recording)."""
    def run_lab_quietly(path: Path, runs: int, out: Path, first: int = 0, seed: int | None = None) -> dict:
        try:
            # every block and every connection, so a recording can be traced afterwards (leechsim trace)
            lab = run_lab(path, out, runs=runs, first=first, seed=seed,
                          options=LabOptions(all_blocks=True, trace_connections=True))
            if lab.busy_load is not None:
                env.warn(f"{path}: " + busy_warning(lab.busy_load, os.cpu_count()))
        except LabRunFailed as e:
            raise UserError(f"{path}: {e}") from None
        return json.loads((lab.root / "manifest.json").read_text())
    return run_lab_quietly


def _scenarios(ns: argparse.Namespace) -> list[Path]:
    if ns.matrix:
        if ns.scenario:
            raise UserError("give a scenario file or --matrix, not both")
        return named_files(ns.matrix, "scenario", ns.only)
    if not ns.scenario:
        raise UserError("give a scenario file or --matrix DIR")
    if ns.record or ns.live:
        raise UserError("--record and --live go with --matrix")
    return [ns.scenario]


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    if ns.sessions:
        from .session_validate_cmd import run_sessions
        return run_sessions(ns, env)
    files = _scenarios(ns)
    for f in files:
        load_scenario(f)  # every scenario valid before anything runs
    if ns.add_runs and not ns.record:
        raise UserError("--add-runs goes with --record (and --matrix)")
    if ns.add_runs:
        # one run at a time, always to the recording with the fewest runs (ties: first by name): the
        # order depends on the counts alone, and a stop at any point leaves them as even as they can be
        have = {f: recorded_runs(ns.matrix, f) for f in files}
        run_more = _lab_runner(env)
        add_runs_evenly(files, have, ns.lab_runs,
                        lambda f, n: extend_recording(ns.matrix, f, n, run_more, ns.command_line),
                        lambda f, before, after: env.console().print(
                            f"{f.stem}: {before} → {after} runs ({recorded_dir(ns.matrix, f)})"))
        env.console().print(f"every recording holds {ns.lab_runs} runs or more: "
                            + ", ".join(f"{f.stem} {have[f]}" for f in files))
        return ExitStatus.SUCCESS
    if ns.record:
        record_lab_runs(ns.matrix, files, ns.lab_runs, _lab_runner(env),
                        on_recorded=lambda name, dest: env.console().print(f"recorded {name}: {dest}"))
        return ExitStatus.SUCCESS
    live = not ns.matrix or ns.live
    v = run_validation(files, ns.out or Path("runs") / "validation", sim_runs=ns.sim_runs, lab_runs=ns.lab_runs,
                       matrix=ns.matrix, run_lab=_lab_runner(env) if live else None, force=ns.force)
    if ns.doc:
        analysis = ns.matrix / "ANALYSIS.md" if ns.matrix else None
        atomic.write_text(ns.doc, validation_markdown(v.results, v.summary, v.error_rate, ns.command_line,
                                                      analysis.read_text() if analysis and analysis.is_file() else None))
    env.console().print(_table(v.results))
    env.console().print(v.summary)
    env.console().print(f"Output: {v.root}")
    return ExitStatus.SUCCESS


def _table(results: list[dict]) -> Table:
    t = Table(title="Simulator against the real lab", title_justify="left")
    for col in ("Scenario", "Quantity", "Lab median [min–max]", "Sim median [p5–p95]", "Error", "Lab in interval", "Target"):
        t.add_column(col)
    for r in results:
        for c in r["comparisons"]:
            err = f"{c.rel_error:+.1%}" if c.rel_error is not None else f"{_fmt(c.quantity, c.abs_error)} abs"
            t.add_row(r["scenario"], c.quantity.replace("subject_", ""),
                      f"{_fmt(c.quantity, c.lab_median)} [{_fmt(c.quantity, c.lab_min)}–{_fmt(c.quantity, c.lab_max)}]",
                      f"{_fmt(c.quantity, c.sim_median)} [{_fmt(c.quantity, c.sim_p5)}–{_fmt(c.quantity, c.sim_p95)}]",
                      err, f"{c.lab_inside}/{c.lab_runs}", ("met" if c.met else "MISSED") + f" (±{c.tolerance:.0%})")
    return t
