"""Session scenarios against the real lab: ``leechsim validate --sessions validation/sessions/``.

The session matrix is a directory of session files; each one's lab runs are recorded in
``<dir>/recorded/<name>/`` (a ``leechsim lab SESSION_FILE`` run directory without its raw/ files),
made by ``--record``. Each session is simulated now and compared with the same targets as the
one-torrent matrix (analysis/sim_vs_lab.py): per torrent, upload while leeching within ±10% with
every lab run inside the simulator's 90% interval, upload after completion and download time
within ±15%; and for the session, its total upload while leeching (±10%, inside) and the time its
last torrent completed (±15%).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from sim.session_config import load_session

from . import atomic
from .analysis.sim_vs_lab import QUANTITIES, Comparison, compare_quantity
from .errors import UserError
from .provenance import HASH_FILE, hash_list
from .rundir import RunDirWriter
from .session_runs import simulate_session_run

SESSION_QUANTITIES: tuple[tuple[str, float, bool], ...] = (
    ("session_upload_leech_bytes", 0.10, True),
    ("session_last_completion_s", 0.15, False),
)


def _column(path: Path, key: str) -> np.ndarray:
    with open(path, newline="") as f:
        vals = np.array([float(r[key]) for r in csv.DictReader(f)], dtype=np.float64)
    return vals[~np.isnan(vals)]


def compare_session(name: str, lab_dir: Path, sim_dir: Path, sizes: list[int]) -> list[Comparison]:
    """Every per-torrent and session comparison of one session's lab and simulated run directories."""
    rows = []
    for j, size in enumerate(sizes):
        for quantity, tol, inside in QUANTITIES:
            lab = _column(lab_dir / "torrents" / f"{j:02d}" / "results.csv", quantity)
            sim = _column(sim_dir / "torrents" / f"{j:02d}" / "results.csv", quantity)
            if len(lab) and len(sim):
                rows.append(compare_quantity(f"{name}/t{j}", quantity, lab, sim, tol, inside, size))
    for quantity, tol, inside in SESSION_QUANTITIES:
        lab, sim = _column(lab_dir / "results.csv", quantity), _column(sim_dir / "results.csv", quantity)
        if len(lab) and len(sim):
            rows.append(compare_quantity(name, quantity, lab, sim, tol, inside, sum(sizes)))
    return rows


def session_files(directory: Path, only: list[str]) -> list[Path]:
    files = sorted(p for p in Path(directory).glob("*.toml") if not only or p.stem in only)
    if not files:
        raise UserError(f"{directory}: no session files (*.toml){' matching --only' if only else ''}")
    return files


def record_session_runs(directory: Path, files: list[Path], runs: int, run_lab: Callable[[Path, int, Path], None],
                        on_recorded: Callable[[str, Path], None] | None = None) -> None:
    """Run the lab for every session file and replace its recording (without raw/ files)."""
    for path in files:
        dest = Path(directory) / "recorded" / path.stem
        tmp = dest.with_name(f".{path.stem}.new")
        if tmp.exists():
            shutil.rmtree(tmp)
        run_lab(path, runs, tmp)
        strip_raw(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        if on_recorded:
            on_recorded(path.stem, dest)


def strip_raw(root: Path) -> None:
    """A lab session run directory as recorded: its raw/ files dropped, re-hashed."""
    for raw in Path(root).glob("torrents/*/replications/*/raw"):
        shutil.rmtree(raw)
    atomic.write_text(Path(root) / HASH_FILE, hash_list(Path(root)))


def validate_sessions(files: list[Path], directory: Path, out: Path, sim_runs: int, force: bool = False) -> tuple[Path, list[Comparison]]:
    """Simulate every session and compare it with its recorded lab runs; writes validation.csv/json."""
    rows: list[Comparison] = []
    with RunDirWriter(out, force=force) as w:
        for path in files:
            lab_dir = Path(directory) / "recorded" / path.stem
            if not lab_dir.is_dir():
                raise UserError(f"{lab_dir}: no recorded lab runs for {path.stem}; record them with "
                                f"'leechsim validate --sessions {directory} --record'")
            sim_dir = w.stage / "sim" / path.stem
            simulate_session_run(path, sim_dir, runs=sim_runs,
                                 command=["leechsim", "session", str(path), "--runs", str(sim_runs), "--out", str(sim_dir)])
            session = load_session(path)[0]
            rows += compare_session(path.stem, lab_dir, sim_dir, [sc.torrent.size_bytes for sc in session.scenarios])
        table = [c.row() for c in rows]
        atomic.write_csv(w.stage / "validation.csv", list(table[0]), ([r[c] for c in r] for r in table))
        summary = f"{sum(c.met for c in rows)} of {len(rows)} comparisons within target over {len(files)} session(s)"
        atomic.write_json(w.stage / "validation.json", {"summary": summary, "rows": table})
        published = w.publish()
    return published, rows


def sessions_markdown(rows: list[Comparison], command: list[str], analysis: str | None = None) -> str:
    """docs/validation-sessions.md: the table of every comparison, then the matrix's own analysis
    (``<dir>/ANALYSIS.md``, written by hand from what the table shows)."""
    from .report.validation_md import fmt_quantity as q

    L = ["# Validation: one subject session holding several torrents, against the real lab", "",
         f"Produced by `{' '.join(command)}` from the recordings in `validation/sessions/recorded/` "
         "(`leechsim validate --sessions validation/sessions --record`: 3 lab runs each, one real libtorrent "
         "session holding every torrent, each torrent with its own swarm of real peers, one opentracker; "
         "docs/lab.md). Targets as in docs/validation.md, per torrent and for the session's totals "
         "(upload while leeching ±10% with every lab run inside the simulator's 90% interval; upload after "
         "completion, download time and the last completion ±15%).", "",
         f"**{sum(c.met for c in rows)} of {len(rows)} comparisons within target.**", "",
         "| session / torrent | quantity | lab median [min–max] | simulator median [p5–p95] | error | lab runs inside | target |",
         "|---|---|---|---|---:|---:|---|"]
    for c in rows:
        err = f"{c.rel_error:+.1%}" if c.rel_error is not None else f"{q(c.quantity, c.abs_error)} (abs.)"
        L.append(f"| {c.scenario} | {c.quantity.replace('subject_', '')} | {q(c.quantity, c.lab_median)} "
                 f"[{q(c.quantity, c.lab_min)}–{q(c.quantity, c.lab_max)}] | {q(c.quantity, c.sim_median)} "
                 f"[{q(c.quantity, c.sim_p5)}–{q(c.quantity, c.sim_p95)}] | {err} | {c.lab_inside}/{c.lab_runs} | "
                 f"{'met' if c.met else '**missed**'} (±{c.tolerance:.0%}) |")
    if analysis:
        L += ["", analysis.strip()]
    return "\n".join(L) + "\n"
