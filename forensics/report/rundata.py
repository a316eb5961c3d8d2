"""Read a published run directory into arrays, after checking it may be used as evidence."""

from __future__ import annotations

import csv
import json
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from sim.layout import Layout
from sim.results import HEADLINE_FIELDS
from sim.scenario import Scenario, ScenarioError, parse_scenario

from ..errors import UserError
from ..verify import integrity_problems

_TEXT_COLUMNS = {"role", "path"}
_BOOL = {"true": True, "false": False, "True": True, "False": False}


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """A CSV written by ``atomic.write_columns_csv`` as one array per column (empty cell: NaN)."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        raw = [r[j] for r in rows]
        if name in _TEXT_COLUMNS:
            cols[name] = np.asarray(raw, dtype=object)
        elif raw and raw[0] in _BOOL:
            cols[name] = np.asarray([_BOOL[x] for x in raw], dtype=bool)
        else:
            cols[name] = np.asarray([float(x) if x != "" else np.nan for x in raw], dtype=np.float64)
    return cols


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

    def table(self, replication: int, name: str) -> dict[str, np.ndarray]:
        """One of transfer_log, peers, files, timeseries for a replication."""
        key = (replication, name)
        if key not in self._cache:
            path = self.root / "replications" / f"{replication:04d}" / f"{name}.csv"
            self._cache[key] = read_columns(path)
        return self._cache[key]


def load_run(root: Path) -> RunData:
    """Load a run directory; a UserError (naming the file and why) if it may not be used."""
    root = Path(root)
    if not root.is_dir():
        hint = " (the run did not finish: see its INCOMPLETE file)" if root.with_name(root.name + ".incomplete").is_dir() else ""
        raise UserError(f"{root}: no such run directory{hint}")
    if not (root / "manifest.json").is_file():
        raise UserError(f"{root}: not a leechsim run directory (manifest.json missing)")
    problems = integrity_problems(root)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise UserError(f"{root}: refusing to report from this run directory: {problems[0]}{more}. "
                        f"A report may only be made from an intact run; re-run it or restore the original files.")
    manifest = json.loads((root / "manifest.json").read_text())
    summary = json.loads((root / "summary.json").read_text())
    results = read_columns(root / "results.csv")
    missing = [k for k in HEADLINE_FIELDS if k not in results]
    if missing:
        raise UserError(f"{root / 'results.csv'}: columns {missing} missing; made by an incompatible leechsim version")
    try:
        scenario = parse_scenario(tomllib.loads((root / "scenario.resolved.toml").read_text()),
                                  str(root / "scenario.resolved.toml"))
    except (ScenarioError, tomllib.TOMLDecodeError) as e:
        raise UserError(f"{root / 'scenario.resolved.toml'}: cannot be read back: {e}") from None
    return RunData(root, manifest, summary, results, scenario, (root / "scenario.toml").read_text())
