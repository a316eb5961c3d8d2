"""``leechsim validate --sessions DIR [--record] [--lab-runs N] [--sim-runs N] [--out DIR] [--doc FILE]``:
the session matrix (forensics/session_validation.py); validate_cmd dispatches here."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from forensics.errors import UserError
from forensics.lab.run import LabRunFailed
from forensics.lab.session_lab import run_session_lab
from forensics.report.validation_md import fmt_quantity as _fmt
from forensics import atomic
from forensics.session_validation import record_session_runs, session_files, sessions_markdown, validate_sessions
from sim.session_config import load_session

from .env import Environment, ExitStatus


def _run_lab(path: Path, runs: int, out: Path) -> None:
    try:
        run_session_lab(path, out, runs=runs)
    except LabRunFailed as e:
        raise UserError(f"{path}: {e}") from None


def run_sessions(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    if ns.matrix or ns.scenario or ns.live:
        raise UserError("--sessions goes alone (not with a scenario, --matrix or --live)")
    files = session_files(ns.sessions, ns.only)
    for f in files:
        load_session(f)  # every session valid before anything runs
    if ns.record:
        record_session_runs(ns.sessions, files, ns.lab_runs, _run_lab,
                            on_recorded=lambda name, dest: env.console().print(f"recorded {name}: {dest}"))
        return ExitStatus.SUCCESS
    root, rows = validate_sessions(files, ns.sessions, ns.out or Path("runs") / "validation-sessions", ns.sim_runs,
                                   force=ns.force)
    if ns.doc:
        analysis = ns.sessions / "ANALYSIS.md"
        atomic.write_text(ns.doc, sessions_markdown(rows, ns.command_line,
                                                    analysis.read_text() if analysis.is_file() else None))
    t = Table(title="Sessions: simulator against the real lab", title_justify="left")
    for col in ("Session / torrent", "Quantity", "Lab median [min–max]", "Sim median [p5–p95]", "Error",
                "Lab in interval", "Target"):
        t.add_column(col)
    for c in rows:
        err = f"{c.rel_error:+.1%}" if c.rel_error is not None else f"{_fmt(c.quantity, c.abs_error)} abs"
        t.add_row(c.scenario, c.quantity.replace("subject_", ""),
                  f"{_fmt(c.quantity, c.lab_median)} [{_fmt(c.quantity, c.lab_min)}–{_fmt(c.quantity, c.lab_max)}]",
                  f"{_fmt(c.quantity, c.sim_median)} [{_fmt(c.quantity, c.sim_p5)}–{_fmt(c.quantity, c.sim_p95)}]",
                  err, f"{c.lab_inside}/{c.lab_runs}", ("met" if c.met else "MISSED") + f" (±{c.tolerance:.0%})")
    env.console().print(t)
    env.console().print(f"{sum(c.met for c in rows)} of {len(rows)} comparisons within target")
    env.console().print(f"Output: {root}")
    return ExitStatus.SUCCESS
