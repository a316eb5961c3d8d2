"""Run directories: the one on-disk form of a simulate or lab run.

Layout (shared by ``simulate`` and ``lab`` so that any report or comparison reads either)::

    manifest.json            versioned provenance record (see provenance.py)
    scenario.toml            the scenario file exactly as given (bytes hashed in the manifest)
    scenario.resolved.toml   every parameter with its value, defaults spelled out
    results.csv              one row per replication: the headline quantities
    summary.json             median, mean, p5, p95 of each headline quantity
    observed.csv             only with an [evidence] table: each observed value against the replications
    replications/NNNN/       transfer_log.csv, files.csv, peers.csv, timeseries.csv (+ raw/ for lab)
    SHA256SUMS               hash of every file above

A run is built in ``<out>.incomplete`` holding an ``INCOMPLETE`` marker and is renamed to
``<out>`` only when everything is written, so a directory named ``<out>`` is always complete.
A failed run leaves ``<out>.incomplete`` with the reason in ``INCOMPLETE``.

This module is the run directory's only writer (``RunDirWriter`` and the ``write_*`` functions),
its only reader (``load_run`` -> ``RunData``, after the integrity checks) and the owner of those
checks: the INCOMPLETE marker, ``SHA256SUMS``, and ``report.SHA256SUMS`` for files a report adds.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import tomli_w

from sim.layout import Layout

from sim.results import (
    CONNECTION_COLUMNS, FILE_COLUMNS, HEADLINE_FIELDS, LOG_COLUMNS, PEER_COLUMNS, ROLE_NAMES, SCHEMA_VERSION,
    TIMESERIES_COLUMNS, ReplicationResult, aggregate,
)
from sim.scenario import Scenario, ScenarioError, parse_scenario

from . import atomic
from .errors import Interrupted, UserError, stop_requested
from .provenance import HASH_FILE, MANIFEST_VERSION, check_hash_list, hash_list, read_hash_list, sha256_file, software_stack, utc_now
from .tables import read_columns

INCOMPLETE = "INCOMPLETE"
MANIFEST = "manifest.json"
MANIFEST_KINDS = frozenset({"simulate", "lab", "corpus"})  # what wrote the run directory
REPORT_HASH_FILE = "report.SHA256SUMS"


class RunDirError(UserError):
    """A run directory that cannot be written or read; the message is for the user."""


class RunDirWriter:
    """Stage a run directory, publish it atomically on success, mark it incomplete on failure.

    Entering checks the output path before anything is written (``check_out``); ``force``
    replaces only a previous run directory of leechsim's, never another file or folder.
    """

    def __init__(self, out: Path, force: bool = False) -> None:
        self.out = Path(out)
        self.force = force
        check_out(self.out, force)
        self.stage = self.out.with_name(self.out.name + ".incomplete")

    def __enter__(self) -> "RunDirWriter":
        if os.path.lexists(self.stage):
            if self.stage.is_symlink() or not self.stage.is_dir() or not (self.stage / INCOMPLETE).is_file():
                raise RunDirError(f"{self.stage}: exists and is not an unfinished leechsim run (no {INCOMPLETE} "
                                  f"file in it); move it away or choose another --out")
            shutil.rmtree(self.stage)  # a previous attempt at this run that did not finish
        try:
            self.stage.mkdir(parents=True)
            atomic.write_text(self.stage / INCOMPLETE, f"started {utc_now()}\n")
        except OSError as e:
            shutil.rmtree(self.stage, ignore_errors=True)
            raise RunDirError(f"{self.out}: cannot create the run directory here ({e.strerror or e})") from None
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            return
        stop = stop_requested()
        if issubclass(exc_type, KeyboardInterrupt):
            reason = str(exc) if isinstance(exc, Interrupted) else "interrupted (Ctrl-C)"
            exc.add_note(f"the unfinished run is in {self.stage} (reason in its {INCOMPLETE} file)")
        elif stop is not None:  # the stop, turned into another error on its way up (errors.note_stop)
            reason = f"{stop} ({exc_type.__name__} on the way: {exc})"
            exc.add_note(f"the unfinished run is in {self.stage} (reason in its {INCOMPLETE} file)")
        else:
            reason = f"{exc_type.__name__}: {exc}"
        try:
            atomic.write_text(self.stage / INCOMPLETE, f"run failed at {utc_now()}: {reason}\n")
        except OSError:
            pass

    def publish(self) -> Path:
        (self.stage / INCOMPLETE).unlink()
        atomic.write_text(self.stage / HASH_FILE, hash_list(self.stage))
        if os.path.lexists(self.out):
            check_out(self.out, self.force)  # still a run directory we may replace
            trash = self.out.with_name(self.out.name + ".replaced")
            if trash.is_dir() and not trash.is_symlink():
                shutil.rmtree(trash)
            self.out.rename(trash)
            self.stage.rename(self.out)
            shutil.rmtree(trash)
        else:
            self.stage.rename(self.out)
        return self.out


_SUFFIXES = (".incomplete", ".replaced")  # names made beside the run directory


def check_out(out: Path, force: bool = False) -> None:
    """Refuse, with a message, an output path that cannot become a run directory."""
    text = str(out)
    name = out.name
    if text in ("", ".", "/") or name in ("", ".", "..") or out.resolve() == Path(out.anchor or "/"):
        raise RunDirError(f"--out {text!r}: must name a new directory, e.g. runs/case-1 (not '.', '..' or '/')")
    longest = len(os.fsencode(name)) + max(len(s) for s in _SUFFIXES)
    if longest > 255:
        raise RunDirError(f"--out: the directory name is {len(os.fsencode(name))} bytes long; at most "
                          f"{255 - max(len(s) for s in _SUFFIXES)} are allowed (255 with the '.incomplete' suffix)")
    for parent in reversed(out.parents):
        if os.path.lexists(parent) and not parent.is_dir():
            raise RunDirError(f"--out {text}: {parent} is a file, not a directory")
    if not os.path.lexists(out):
        return
    if not force:
        raise RunDirError(f"{out}: run directory already exists; choose another --out or pass --force")
    if not is_leechsim_output(out):
        raise RunDirError(f"{out}: exists and is not a leechsim run directory (no {HASH_FILE} beside a "
                          f"{MANIFEST}, sweep.json or validation.json); --force replaces only a previous run, "
                          f"never another file or folder")


def is_leechsim_output(path: Path) -> bool:
    """A directory (not a link) that a leechsim command published: its hash list and its record."""
    path = Path(path)
    return (path.is_dir() and not path.is_symlink() and (path / HASH_FILE).is_file()
            and any((path / record).is_file() for record in (MANIFEST, "sweep.json", "validation.json")))


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


def write_observed(root: Path, rows: list[dict]) -> None:
    """observed.csv: the scenario's [evidence] values against this run's replications (analysis.observed)."""
    if rows:
        atomic.write_csv(root / "observed.csv", tuple(rows[0]), [tuple(r.values()) for r in rows])


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


def publish_report_files(root: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """Add a report's files to a run directory; the run's own SHA256SUMS is never edited.

    Every file is staged next to the run and moved in; the report's hash list is written last, as
    the commit point: until it is written, the new files are not vouched for.
    """
    stage = root.with_name(f".{root.name}.report-staging")
    if stage.exists():
        shutil.rmtree(stage)
    try:
        for rel, content in files.items():
            atomic.write_bytes(stage / rel, content)
        old = report_files(root)
        if (root / REPORT_HASH_FILE).exists():
            (root / REPORT_HASH_FILE).unlink()
        for rel in old:
            if rel not in files and (root / rel).is_file():
                (root / rel).unlink()
        for rel in files:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, root / rel)
        listing = "".join(f"{sha256_file(root / rel)}  {rel}\n" for rel in sorted(files))
        atomic.write_text(root / REPORT_HASH_FILE, listing)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {rel: root / rel for rel in files}


# Integrity: may this directory be used as evidence?


def report_files(root: Path) -> dict[str, str]:
    """Files a report added to the run directory, with their SHA-256, from report.SHA256SUMS."""
    if not (Path(root) / REPORT_HASH_FILE).is_file():
        return {}
    return read_hash_list(root, REPORT_HASH_FILE)


def integrity_problems(root: Path) -> list[str]:
    """Why this run directory cannot be trusted as evidence; empty when it can.

    Refuses symbolic links anywhere inside, checks the INCOMPLETE marker, then every file against
    SHA256SUMS (missing, changed, or not listed). Files listed in report.SHA256SUMS are allowed besides the evidence.
    """
    root = Path(root)
    links = symlinks_inside(root)
    if links:  # a link can point anywhere, and its target can change after it was hashed
        return [f"{rel}: a symbolic link; a run directory holds only regular files" for rel in links]
    if (root / INCOMPLETE).exists():
        reason = (root / INCOMPLETE).read_text().strip() or "no reason recorded"
        return [f"{INCOMPLETE}: the run is marked incomplete ({reason})"]
    return check_hash_list(root, set(report_files(root)) | {REPORT_HASH_FILE})


def symlinks_inside(root: Path) -> list[str]:
    """Every symbolic link below root (not followed), as paths relative to it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                found.append(p.relative_to(root).as_posix())
    return sorted(found)


def report_problems(root: Path) -> list[str]:
    """Report files that no longer match report.SHA256SUMS (a report edited after it was made)."""
    root = Path(root)
    problems = []
    for name, digest in report_files(root).items():
        f = root / name
        if not f.is_file():
            problems.append(f"{name}: listed in {REPORT_HASH_FILE} but missing")
        elif sha256_file(f) != digest:
            problems.append(f"{name}: content differs from its SHA-256 in {REPORT_HASH_FILE}")
    return problems


# Reading: the one typed view of a published run directory.


def read_manifest(root: Path) -> dict:
    """A run directory's manifest; a RunDirError if there is none to read."""
    root = Path(root)
    if not root.is_dir():
        raise RunDirError(f"{root}: no such run directory")
    try:
        man = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise RunDirError(f"{root}: not a leechsim run directory ({MANIFEST} missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunDirError(f"{root / MANIFEST}: not valid JSON ({e})") from None
    if not isinstance(man, dict) or man.get("kind") not in MANIFEST_KINDS:
        kind = man.get("kind") if isinstance(man, dict) else None
        raise RunDirError(f"{root / MANIFEST}: not a leechsim manifest (its 'kind' is {kind!r}; one of "
                          f"{', '.join(sorted(MANIFEST_KINDS))} was expected)")
    return man


@dataclass
class RunData:
    """A run directory's evidence: manifest, scenario, results table, and per-replication tables."""

    root: Path
    manifest: dict
    summary: dict
    results: dict[str, np.ndarray]  # headline field -> one value per replication
    scenario: Scenario
    scenario_raw: str  # scenario.toml exactly as given
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def replications(self) -> int:
        return len(self.results["replication"])

    @cached_property
    def layout(self) -> Layout:
        t = self.scenario.torrent
        return Layout.of(t.piece_size, t.file_sizes, t.file_paths)

    def peers(self, replication: int) -> dict[str, np.ndarray]:
        """Every peer of a replication: role, times, capacities, bytes (peers.csv)."""
        return self.table(replication, "peers")

    def transfer_log(self, replication: int) -> dict[str, np.ndarray]:
        """The subject's uploads in a replication: time, peer, piece, first block, blocks, bytes."""
        return self.table(replication, "transfer_log")

    def table(self, replication: int, name: str) -> dict[str, np.ndarray]:
        """One of transfer_log, peers, files, timeseries for a replication."""
        key = (replication, name)
        if key not in self._cache:
            path = self.root / "replications" / f"{replication:04d}" / f"{name}.csv"
            table = read_columns(path)
            missing = [c for c in _TABLE_COLUMNS.get(name, ()) if c not in table]
            if missing:
                raise RunDirError(f"{path}: columns {missing} missing; not a table this leechsim version wrote")
            self._cache[key] = table
        return self._cache[key]


_TABLE_COLUMNS = {"transfer_log": LOG_COLUMNS, "peers": PEER_COLUMNS, "files": FILE_COLUMNS,
                  "timeseries": TIMESERIES_COLUMNS}


def load_run(root: Path) -> RunData:
    """Load a run directory; a UserError (naming the file and why) if it may not be used."""
    root = Path(root)
    if not root.is_dir():
        hint = " (the run did not finish: see its INCOMPLETE file)" if root.with_name(root.name + ".incomplete").is_dir() else ""
        raise RunDirError(f"{root}: no such run directory{hint}")
    if not (root / "manifest.json").is_file():
        raise RunDirError(f"{root}: not a leechsim run directory (manifest.json missing)")
    problems = integrity_problems(root)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise RunDirError(f"{root}: refusing to report from this run directory: {problems[0]}{more}. "
                        f"A report may only be made from an intact run; re-run it or restore the original files.")
    manifest = read_manifest(root)
    stored = root / "scenario.toml"
    if manifest["kind"] in ("simulate", "lab") and (not stored.is_file()
                                                    or sha256_file(stored) != manifest.get("scenario_sha256")):
        raise RunDirError(f"{stored}: does not match the manifest's scenario_sha256; the run directory was "
                          f"altered (and re-hashed) after it was written")
    try:
        summary = json.loads((root / "summary.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunDirError(f"{root / 'summary.json'}: cannot be read ({e})") from None
    results = read_columns(root / "results.csv")
    missing = [k for k in HEADLINE_FIELDS if k not in results]
    if missing:
        raise RunDirError(f"{root / 'results.csv'}: columns {missing} missing; made by an incompatible leechsim version")
    try:
        scenario = parse_scenario(tomllib.loads((root / "scenario.resolved.toml").read_text()),
                                  str(root / "scenario.resolved.toml"))
    except (ScenarioError, tomllib.TOMLDecodeError) as e:
        raise RunDirError(f"{root / 'scenario.resolved.toml'}: cannot be read back: {e}") from None
    return RunData(root, manifest, summary, results, scenario, (root / "scenario.toml").read_text())
