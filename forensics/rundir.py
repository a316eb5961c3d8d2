"""Run directories: the one on-disk form of a simulate or lab run.

Layout (shared by ``simulate`` and ``lab`` so that any report or comparison reads either)::

    manifest.json            versioned provenance record (see provenance.py)
    scenario.toml            the scenario file exactly as given (bytes hashed in the manifest)
    scenario.resolved.toml   every parameter with its value, defaults spelled out
    results.csv              one row per replication: the headline quantities
    summary.json             median, mean, p5, p95 of each headline quantity
    replications/NNNN/       transfer_log.csv, files.csv, peers.csv, timeseries.csv (+ raw/ for lab)
    SHA256SUMS               hash of every file above

A run is built in ``<out>.incomplete`` holding an ``INCOMPLETE`` marker and is renamed to
``<out>`` only when everything is written, so a directory named ``<out>`` is always complete.
A failed run leaves ``<out>.incomplete`` with the reason in ``INCOMPLETE``.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import tomli_w

from sim.results import (
    CONNECTION_COLUMNS, FILE_COLUMNS, HEADLINE_FIELDS, LOG_COLUMNS, PEER_COLUMNS, ROLE_NAMES, SCHEMA_VERSION,
    TIMESERIES_COLUMNS, ReplicationResult, aggregate,
)
from sim.scenario import Scenario

from . import atomic
from .provenance import HASH_FILE, MANIFEST_VERSION, hash_list, software_stack, utc_now

INCOMPLETE = "INCOMPLETE"


class RunDirError(Exception):
    """A run directory that cannot be written or read; the message is for the user."""


class RunDirWriter:
    """Stage a run directory, publish it atomically on success, mark it incomplete on failure."""

    def __init__(self, out: Path, force: bool = False) -> None:
        self.out = Path(out)
        self.stage = self.out.with_name(self.out.name + ".incomplete")
        self.force = force

    def __enter__(self) -> "RunDirWriter":
        if self.out.exists() and not self.force:
            raise RunDirError(f"{self.out}: run directory already exists; choose another --out or pass --force")
        if self.stage.exists():
            shutil.rmtree(self.stage)
        self.stage.mkdir(parents=True)
        atomic.write_text(self.stage / INCOMPLETE, f"started {utc_now()}\n")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            return
        reason = "interrupted (Ctrl-C)" if exc_type is KeyboardInterrupt else f"{exc_type.__name__}: {exc}"
        try:
            atomic.write_text(self.stage / INCOMPLETE, f"run failed at {utc_now()}: {reason}\n")
        except OSError:
            pass

    def publish(self) -> Path:
        (self.stage / INCOMPLETE).unlink()
        atomic.write_text(self.stage / HASH_FILE, hash_list(self.stage))
        if self.out.exists():
            trash = self.out.with_name(self.out.name + ".replaced")
            if trash.exists():
                shutil.rmtree(trash)
            self.out.rename(trash)
            self.stage.rename(self.out)
            shutil.rmtree(trash)
        else:
            self.stage.rename(self.out)
        return self.out


def resolved_toml(scenario: Scenario) -> str:
    return tomli_w.dumps(scenario.to_dict())


def write_replication(root: Path, r: ReplicationResult) -> None:
    d = root / "replications" / f"{r.replication:04d}"
    atomic.write_columns_csv(d / "transfer_log.csv", r.log.columns(), LOG_COLUMNS)
    atomic.write_columns_csv(d / "files.csv", r.files, FILE_COLUMNS)
    peers = dict(r.peers)
    peers["role"] = [ROLE_NAMES[int(x)] for x in peers["role"]]
    atomic.write_columns_csv(d / "peers.csv", peers, PEER_COLUMNS)
    atomic.write_columns_csv(d / "timeseries.csv", r.timeseries, TIMESERIES_COLUMNS)
    if "connections" in r.extra:
        atomic.write_columns_csv(d / "connections.csv", r.extra["connections"], CONNECTION_COLUMNS)


def write_results(root: Path, results: list[ReplicationResult]) -> dict:
    rows = [[r.replication] + [r.headline[k] for k in HEADLINE_FIELDS] for r in results]
    atomic.write_csv(root / "results.csv", ("replication",) + HEADLINE_FIELDS, rows)
    summary = {"schema_version": SCHEMA_VERSION, "replications": len(results), "headline": aggregate(results)}
    atomic.write_json(root / "summary.json", summary)
    return summary


def write_scenario(root: Path, scenario: Scenario, scenario_bytes: bytes) -> None:
    atomic.write_bytes(root / "scenario.toml", scenario_bytes)
    atomic.write_text(root / "scenario.resolved.toml", resolved_toml(scenario))


def manifest(kind: str, command: list[str], scenario_sha256: str, started: str, **fields: object) -> dict:
    return {
        "manifest_version": MANIFEST_VERSION,
        "result_schema_version": SCHEMA_VERSION,
        "kind": kind,
        "command": command,
        "started_utc": started,
        "finished_utc": utc_now(),
        "scenario_sha256": scenario_sha256,
        "software": software_stack(),
        **fields,
    }


def read_run(root: Path) -> dict:
    """Load a published run directory's manifest, summary and results table."""
    root = Path(root)
    if not root.is_dir():
        raise RunDirError(f"{root}: no such run directory")
    if (root / INCOMPLETE).exists():
        raise RunDirError(f"{root}: marked incomplete: {(root / INCOMPLETE).read_text().strip()}")
    import json
    import csv
    try:
        man = json.loads((root / "manifest.json").read_text())
        summary = json.loads((root / "summary.json").read_text())
        with open(root / "results.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        scenario = tomllib.loads((root / "scenario.resolved.toml").read_text())
    except FileNotFoundError as e:
        raise RunDirError(f"{root}: not a leechsim run directory ({Path(e.filename).name} missing)") from None
    return {"manifest": man, "summary": summary, "results": rows, "scenario": scenario}
