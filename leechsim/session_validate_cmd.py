"""``leechsim validate --sessions DIR [--record [--add-runs]] [--lab-runs N] [--sim-runs N] [--out DIR] [--doc FILE]``:
the session matrix (forensics/session_validation.py); validate_cmd dispatches here.

    leechsim validate --sessions validation/sessions --record --add-runs --lab-runs 15   # add runs to the recordings
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.table import Table

from forensics.calibration import add_runs_evenly
from forensics.errors import UserError
from forensics.lab.run import LabRunFailed
from forensics.lab.session_lab import run_session_lab
from forensics.report.validation_md import fmt_quantity as _fmt
from forensics import atomic
from forensics.session_validation import (extend_session_recording, record_session_runs, recorded_session_dir,
                                          recorded_session_runs, sessions_markdown, validate_sessions)
from sim.session_config import load_session

from .argtypes import named_files
from .env import Environment, ExitStatus


def _run_lab(path: Path, runs: int, out: Path, first: int = 0, seed: int | None = None) -> dict:
    """The session lab into its own run directory (replications first .. runs-1); its manifest."""
    try:
        lab = run_session_lab(path, out, runs=runs, first=first, seed=seed)
    except LabRunFailed as e:
        raise UserError(f"{path}: {e}") from None
    return json.loads((lab.root / "manifest.json").read_text())


def _add_runs(ns: argparse.Namespace, env: Environment, files: list[Path]) -> ExitStatus:
    """One run at a time, always to the recording with the fewest runs (ties: first by name), as the
    one-torrent matrix's --add-runs: the order depends on the counts alone."""
    have = {f: recorded_session_runs(ns.sessions, f) for f in files}
    add_runs_evenly(files, have, ns.lab_runs,
                    lambda f, n: extend_session_recording(ns.sessions, f, n, _run_lab, ns.command_line),
                    lambda f, before, after: env.console().print(
                        f"{f.stem}: {before} → {after} runs ({recorded_session_dir(ns.sessions, f)})"))
    env.console().print(f"every session recording holds {ns.lab_runs} runs or more: "
                        + ", ".join(f"{f.stem} {have[f]}" for f in files))
    return ExitStatus.SUCCESS


def run_sessions(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    if ns.matrix or ns.scenario or ns.live:
        raise UserError("--sessions goes alone (not with a scenario, --matrix or --live)")
    files = named_files(ns.sessions, "session", ns.only)
    for f in files:
        load_session(f)  # every session valid before anything runs
    if ns.add_runs and not ns.record:
        raise UserError("--add-runs goes with --record")
    if ns.add_runs:
        return _add_runs(ns, env, files)
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
