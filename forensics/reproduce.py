"""Does a run reproduce? A run directory against its re-run, output by output.

The integrity question (is the directory intact: INCOMPLETE marker, ``SHA256SUMS``,
``report.SHA256SUMS``) belongs to ``rundir``; the re-run itself to ``runs.rerun``. Here the run is
compared with a re-run of it (from its manifest: the stored ``scenario.toml`` bytes, the
overrides, the master seed, the number of replications), every deterministic output byte for
byte. Only ``manifest.json`` (times, command line, software versions) and ``SHA256SUMS`` (which
hashes the manifest) are not compared byte for byte; the manifest's deterministic fields are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .provenance import HASH_FILE
from .rundir import MANIFEST, REPORT_HASH_FILE, report_files
# Manifest fields that must be equal in a faithful re-run (times, command and software may differ).
DETERMINISTIC_MANIFEST_KEYS = (
    "manifest_version", "result_schema_version", "kind", "scenario_sha256", "scenario_name",
    "overrides", "replications", "master_seed", "seed_rule",
)


@dataclass(frozen=True)
class Difference:
    path: str  # relative to the run directory
    what: str  # for the user: "content differs (first at byte 1234, line 17)"

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


def _first_difference(a: bytes, b: bytes) -> str:
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    line = a[:i].count(b"\n") + 1
    if i == n and len(a) != len(b):
        return f"lengths differ ({len(a)} vs {len(b)} bytes; equal up to byte {n}, line {line})"
    return f"content differs from the re-run (first at byte {i}, line {line})"


def _compared_files(root: Path) -> set[str]:
    skip = {MANIFEST, HASH_FILE, REPORT_HASH_FILE} | set(report_files(root))
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).as_posix() not in skip}


def rerun_differences(original: Path, rerun: Path) -> list[Difference]:
    """Every difference between a run and its re-run, in path order (the first is reported first)."""
    original, rerun = Path(original), Path(rerun)
    a_files, b_files = _compared_files(original), _compared_files(rerun)
    diffs: list[Difference] = []
    for name in sorted(a_files | b_files):
        if name not in b_files:
            diffs.append(Difference(name, "present in the run but not produced by the re-run"))
        elif name not in a_files:
            diffs.append(Difference(name, "produced by the re-run but missing from the run"))
        else:
            a, b = (original / name).read_bytes(), (rerun / name).read_bytes()
            if a != b:
                diffs.append(Difference(name, _first_difference(a, b)))
    man_a = json.loads((original / MANIFEST).read_text())
    man_b = json.loads((rerun / MANIFEST).read_text())
    for key in DETERMINISTIC_MANIFEST_KEYS:
        if man_a.get(key) != man_b.get(key):
            diffs.append(Difference(MANIFEST, f"field '{key}' is {man_a.get(key)!r}, the re-run gives {man_b.get(key)!r}"))
    return sorted(diffs, key=lambda d: d.path)


def software_differences(original: Path, rerun: Path) -> list[str]:
    """Versions that differ between the run and the re-run (informative: outputs may still agree)."""
    a = json.loads((Path(original) / MANIFEST).read_text()).get("software", {})
    b = json.loads((Path(rerun) / MANIFEST).read_text()).get("software", {})
    return [f"{k}: run {a.get(k)!r}, re-run {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]
