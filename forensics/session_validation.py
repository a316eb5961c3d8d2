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


# run_more(session_file, runs, out, first, seed): replications first .. runs-1 of a session recording
# of ``runs`` runs with master seed ``seed``, as a lab session run directory (run_session_lab, first=).
RunSessionLabMore = Callable[[Path, int, Path, int, int], dict]

# the lab facts a recording's runs must share (manifest "lab", besides the versions, checked apart)
SESSION_LAB_KEYS = ("tracker", "timeout_s", "peer_process_model")


def recorded_session_dir(directory: Path, path: Path) -> Path:
    return Path(directory) / "recorded" / Path(path).stem


def recorded_session_runs(directory: Path, path: Path) -> int:
    """How many lab runs a session's recording holds (its manifest); a UserError if there is none."""
    dest = recorded_session_dir(directory, path)
    from .calibration import recover_replaced
    recover_replaced(dest)
    if not dest.is_dir():
        raise UserError(f"{dest}: no recording of {Path(path).stem} to add runs to; record it with "
                        f"'leechsim validate --sessions {directory} --record --only {Path(path).stem}'")
    try:
        return int(_session_manifest(dest)["replications"])
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{dest / 'manifest.json'}: no run count to add to (key {e})") from None


def _session_manifest(dest: Path) -> dict:
    """A session recording's manifest.json; a UserError naming the file if it cannot be read."""
    import json
    f = dest / "manifest.json"
    try:
        man = json.loads(f.read_text())
    except FileNotFoundError:
        raise UserError(f"{f}: missing; the recording is damaged: record it again with --record") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{f}: not valid JSON ({e}); record it again with --record") from None
    if not isinstance(man, dict):
        raise UserError(f"{f}: not a manifest (a JSON object was expected)")
    return man


def _csv_rows(path: Path) -> tuple[str, list[str]]:
    lines = path.read_text().splitlines()
    if not lines:
        raise UserError(f"{path}: empty; the recording is damaged: record it again with --record")
    return lines[0], lines[1:]


def _float_rows(path: Path, lines: list[str], header: str) -> list[dict[str, float]]:
    """CSV rows as the numbers they were written from (write_csv writes a float's repr; empty: NaN)."""
    keys = header.split(",")
    try:
        return [{k: float(v) if v else float("nan") for k, v in zip(keys, line.split(","))} for line in lines]
    except ValueError as e:
        raise UserError(f"{path}: a value that is not a number ({e}); the recording is damaged: "
                        f"record it again with --record") from None


def _rewrite_summaries(root: Path) -> None:
    """summary.json of a session run directory and of each of its torrents, from their results.csv
    (the statistics write_session_results computes, over every row)."""
    import json
    from types import SimpleNamespace

    from sim.results import SCHEMA_VERSION, aggregate
    from .session_runs import aggregate_totals
    summary = json.loads((root / "summary.json").read_text())
    header, lines = _csv_rows(root / "results.csv")
    summary["replications"] = len(lines)
    summary["session"] = aggregate_totals(_float_rows(root / "results.csv", lines, header))
    for entry in summary["torrents"]:
        d = root / "torrents" / f"{int(entry['torrent']):02d}"
        t_header, t_lines = _csv_rows(d / "results.csv")
        per = [SimpleNamespace(headline=row) for row in _float_rows(d / "results.csv", t_lines, t_header)]
        t_summary = {"schema_version": SCHEMA_VERSION, "replications": len(per), "headline": aggregate(per)}
        atomic.write_json(d / "summary.json", t_summary)
        entry["headline"] = t_summary["headline"]
    atomic.write_json(root / "summary.json", summary)


def extend_session_recording(directory: Path, path: Path, lab_runs: int, run_more: RunSessionLabMore,
                             command: list[str]) -> tuple[int, int]:
    """Add runs to a session's recording until it holds ``lab_runs``, as calibration.extend_recording
    does for a one-torrent scenario: the recorded runs stay byte for byte; runs n .. lab_runs-1 get
    the seeds they would have had in a recording of ``lab_runs`` runs made at once (so an extended
    recording differs from one made at once only by the real swarms' own noise); only the same
    session file, the same scenario files and the same libtorrent may extend it, under the same lab
    facts. Each torrent's results.csv and the session's gain the new rows, every summary.json is
    computed again over all rows, and the manifest lists the extension (its runs, command, times,
    software, lab). The recording is replaced only once everything is written. Returns (runs
    before, runs after)."""
    import hashlib

    from .calibration import (check_same_libtorrent, check_same_session_phases, extension_dirs, swap_in_extension,
                              with_extension)
    from .rundir import MANIFEST

    dest = recorded_session_dir(directory, path)
    have = recorded_session_runs(directory, path)
    man = _session_manifest(dest)
    rows = len(_csv_rows(dest / "results.csv")[1])
    if man.get("kind") != "lab-session" or man.get("first_replication") or rows != have:
        raise UserError(f"{dest}: not a whole lab session recording (manifest kind {man.get('kind')!r}, "
                        f"{man.get('replications')} runs, {rows} in results.csv)")
    if have >= lab_runs:
        return have, have
    session, hashes, raw = load_session(path)
    sha = hashlib.sha256(raw).hexdigest()
    # the scenario files it names, by their names in it (the session file's own key is its path as given)
    now_inputs = {k: v for k, v in hashes.items() if k != str(path)}
    then_inputs = {k: v for k, v in (man.get("input_sha256") or {}).items() if k != man.get("session_file")}
    if sha != man.get("scenario_sha256") or now_inputs != then_inputs:
        said = ([path.name] if sha != man.get("scenario_sha256") else []) + [
            k for k in sorted(set(now_inputs) | set(then_inputs)) if now_inputs.get(k) != then_inputs.get(k)]
        raise UserError(f"{path}: differs from the session {dest} was recorded with ({', '.join(said) or 'the file'}"
                        f" changed); runs of another session cannot join a recording: record it again with --record")
    check_same_libtorrent(dest, man)
    check_same_session_phases(dest, man)
    more, stage = extension_dirs(dest)
    new_man = run_more(path, lab_runs, more, have, int(man["master_seed"]))
    strip_raw(more)
    differ = [k for k in SESSION_LAB_KEYS if man.get("lab", {}).get(k) != new_man.get("lab", {}).get(k)]
    if differ:
        said = "; ".join(f"{k}: {man['lab'].get(k)!r} against {new_man['lab'].get(k)!r}" for k in differ)
        raise UserError(f"{dest}: the new runs (in {more}) were made under other lab facts than the recording "
                        f"({said}); they are not added")
    shutil.copytree(dest, stage)
    parts = [Path("results.csv")] + [Path("torrents") / f"{j:02d}" / "results.csv" for j in range(len(session))]
    for part in parts:
        old_header, old_lines = _csv_rows(stage / part)
        new_header, new_lines = _csv_rows(more / part)
        if old_header != new_header:
            raise UserError(f"{more / part}: its columns differ from {dest / part}; this leechsim writes another "
                            f"schema than the recording's: record it again with --record")
        atomic.write_text(stage / part, "\n".join([old_header] + old_lines + new_lines) + "\n")
    for j in range(len(session)):
        for rep in sorted((more / "torrents" / f"{j:02d}" / "replications").iterdir()):
            rep.rename(stage / "torrents" / f"{j:02d}" / "replications" / rep.name)
    _rewrite_summaries(stage)
    man = with_extension(man, have, lab_runs, command, new_man)
    atomic.write_json(stage / MANIFEST, man)
    atomic.write_text(stage / HASH_FILE, hash_list(stage))
    swap_in_extension(dest, stage, more)
    return have, lab_runs


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
    counts = {c.scenario: c.lab_runs for c in rows if "/" not in c.scenario}  # the session rows
    runs = ", ".join(f"{k} {v} lab runs" for k, v in counts.items()) or "no lab runs"

    L = ["# Validation: one subject session holding several torrents, against the real lab", "",
         f"Produced by `{' '.join(command)}` from the recordings in `validation/sessions/recorded/` "
         "(`leechsim validate --sessions validation/sessions --record --lab-runs N`, and `--add-runs` to add runs "
         f"to them: {runs}; one real libtorrent session holding every torrent, each torrent with its own swarm of "
         "real peers, one opentracker; docs/lab.md). Targets as in docs/validation.md, per torrent and for the session's totals "
         "(upload while leeching ±10% with every lab run inside the simulator's 90% interval; upload after "
         "completion, download time and the last completion ±15%).", "",
         f"**{sum(c.met for c in rows)} of {len(rows)} comparisons within target.** A model whose runs spread "
         f"exactly as the simulator's, judged on as many lab runs, would meet "
         f"{sum(c.exact_pass_probability for c in rows):.1f} of {len(rows)} on average (last column: the "
         "probability that it meets each, from the simulator's replications drawn as lab runs; "
         "forensics/analysis/sim_vs_lab.py, `exact_pass_probability`).", "",
         "| session / torrent | quantity | lab median [min–max] | simulator median [p5–p95] | error | lab runs inside | target | an exact model meets |",
         "|---|---|---|---|---:|---:|---|---:|"]
    for c in rows:
        err = f"{c.rel_error:+.1%}" if c.rel_error is not None else f"{q(c.quantity, c.abs_error)} (abs.)"
        L.append(f"| {c.scenario} | {c.quantity.replace('subject_', '')} | {q(c.quantity, c.lab_median)} "
                 f"[{q(c.quantity, c.lab_min)}–{q(c.quantity, c.lab_max)}] | {q(c.quantity, c.sim_median)} "
                 f"[{q(c.quantity, c.sim_p5)}–{q(c.quantity, c.sim_p95)}] | {err} | {c.lab_inside}/{c.lab_runs} | "
                 f"{'met' if c.met else '**missed**'} (±{c.tolerance:.0%}) | {c.exact_pass_probability:.2f} |")
    if analysis:
        L += ["", analysis.strip()]
    return "\n".join(L) + "\n"
