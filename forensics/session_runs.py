"""Session run directories: what ``leechsim session`` (the model) and ``leechsim lab SESSION``
(real libtorrent) write, in one shape.

    manifest.json        kind, command, every input file's sha256, replications, seed, ...
    session.toml         the session file as given; inputs/ holds each torrent's scenario file
    results.csv          one row per replication: the session totals (SESSION_FIELDS)
    summary.json         median, mean, p5, p95 of the session totals and of each torrent's headline
    torrents/NN/         each torrent (queue order) as a one-torrent run directory holds it:
                         results.csv, summary.json, replications/NNNN/*.csv
Every file is written atomically and the directory is published only when complete (rundir).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sim.montecarlo import SEED_RULE, default_workers
from sim.session import SESSION_FIELDS, SessionResult, run_session_replications
from sim.session_config import Session, load_session

from . import rundir
from .atomic import write_bytes, write_csv, write_json
from .provenance import utc_now
from .runs import default_out


@dataclass(frozen=True)
class SessionRunDir:
    root: Path
    session: Session
    summary: dict


def aggregate_totals(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Median, mean, 5th and 95th percentile of each session total (NaN left out, as aggregate)."""
    out = {}
    for key in SESSION_FIELDS:
        vals = np.array([r[key] for r in rows], dtype=np.float64)
        ok = vals[~np.isnan(vals)]
        stats = np.percentile(ok, [5, 50, 95]) if len(ok) else [np.nan] * 3
        out[key] = {"n": int(len(ok)), "median": float(stats[1]), "mean": float(ok.mean()) if len(ok) else np.nan,
                    "p5": float(stats[0]), "p95": float(stats[2]),
                    "min": float(ok.min()) if len(ok) else np.nan, "max": float(ok.max()) if len(ok) else np.nan}
    return out


def write_session_results(root: Path, session: Session, results: list[SessionResult]) -> dict:
    """results.csv, summary.json and torrents/NN/ for a list of session replications (or lab runs)."""
    write_csv(root / "results.csv", ("replication",) + SESSION_FIELDS,
              [[r.replication] + [r.totals[k] for k in SESSION_FIELDS] for r in results])
    torrents = []
    for j, label in enumerate(session.labels):
        d = root / "torrents" / f"{j:02d}"
        per = [r.torrents[j] for r in results]
        for t in per:
            rundir.write_replication(d, t)
        s = rundir.write_results(d, per)
        torrents.append({"torrent": j, "scenario": label, "name": session.scenarios[j].name,
                         "added_s": session.added_s[j], "headline": s["headline"]})
    summary = {"schema_version": 1, "replications": len(results), "session": aggregate_totals([r.totals for r in results]),
               "torrents": torrents}
    write_json(root / "summary.json", summary)
    return summary


def write_session_inputs(root: Path, session_bytes: bytes, session_path: Path, session: Session) -> None:
    """The session file and every scenario file it names, as given (their hashes are in the manifest)."""
    write_bytes(root / "session.toml", session_bytes)
    for label in session.labels:
        if not label.startswith("inline-"):
            write_bytes(root / "inputs" / Path(label).name, (session_path.parent / label).read_bytes())


def simulate_session_run(path: str | Path, out: str | Path | None = None, *, runs: int | None = None,
                         seed: int | None = None, workers: int | None = None, force: bool = False,
                         command: list[str] | None = None, trace_connections: bool = False,
                         on_done: Callable[[int], None] | None = None) -> SessionRunDir:
    """Simulate a session file into the run directory ``out`` (``leechsim session``); with
    ``trace_connections`` each torrent's replications/NNNN/connections.csv, as the lab writes it."""
    path = Path(path)
    session, hashes, raw = load_session(path)
    n = runs or session.simulation.replications
    seed = session.simulation.seed if seed is None else seed
    workers = workers or default_workers(n)
    out = Path(out) if out else default_out(session.name)
    command = command or ["leechsim", "session", str(path), "--runs", str(n), "--seed", str(seed), "--out", str(out)]
    started = utc_now()
    with rundir.RunDirWriter(out, force=force) as w:
        results = run_session_replications(session, n, seed, workers, on_done=on_done,
                                           trace_connections=trace_connections)
        write_session_inputs(w.stage, raw, path, session)
        summary = write_session_results(w.stage, session, results)
        write_json(w.stage / rundir.MANIFEST, rundir.manifest(
            "session", command, hashlib.sha256(raw).hexdigest(), started, session_file=str(path),
            session_name=session.name, input_sha256=hashes, torrents=list(session.labels),
            replications=n, master_seed=seed, seed_rule=SEED_RULE + "; torrent j of it: sim.session.torrent_seed",
            workers=workers))
        published = w.publish()
    return SessionRunDir(published, session, summary)
