"""Integrity and reproducibility checks of a run directory.

Two questions, answered separately so that ``report`` can ask only the first:

1. *Is the run directory intact?* Every file matches ``SHA256SUMS`` and the run is not marked
   incomplete. Files a report adds afterwards (``report.html``, ``figures/`` …) are not evidence:
   they are listed in their own ``report.SHA256SUMS`` and checked against it, so producing a
   report never edits the run's hash list.
2. *Does it reproduce?* The run is re-simulated from its manifest (the stored ``scenario.toml``
   bytes, the overrides, the master seed, the number of replications) by the ``simulate`` command
   itself, into a temporary directory, and every deterministic output is compared byte for byte.
   Only ``manifest.json`` (times, command line, software versions) and ``SHA256SUMS`` (which hashes
   the manifest) are not compared byte for byte; the manifest's deterministic fields are.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from .provenance import HASH_FILE, check_hash_list, sha256_file
from .rundir import INCOMPLETE

REPORT_HASH_FILE = "report.SHA256SUMS"
MANIFEST = "manifest.json"
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


def report_files(root: Path) -> dict[str, str]:
    """Files a report added to the run directory, with their SHA-256, from report.SHA256SUMS."""
    listing = Path(root) / REPORT_HASH_FILE
    if not listing.is_file():
        return {}
    out = {}
    for line in listing.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name:
            out[name] = digest
    return out


def integrity_problems(root: Path) -> list[str]:
    """Why this run directory cannot be trusted as evidence; empty when it can.

    Checks the INCOMPLETE marker, then every file against SHA256SUMS (missing, changed, or not
    listed). Files listed in report.SHA256SUMS are allowed besides the evidence.
    """
    root = Path(root)
    if (root / INCOMPLETE).exists():
        reason = (root / INCOMPLETE).read_text().strip() or "no reason recorded"
        return [f"{INCOMPLETE}: the run is marked incomplete ({reason})"]
    return check_hash_list(root, set(report_files(root)) | {REPORT_HASH_FILE})


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


def compare_runs(original: Path, rerun: Path) -> list[Difference]:
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


def rerun_command(man: dict, scenario: Path, out: Path, workers: int | None) -> list[str]:
    """The ``simulate`` arguments that reproduce a run from its manifest."""
    args = ["simulate", str(scenario), "--runs", str(man["replications"]), "--seed", str(man["master_seed"]),
            "--out", str(out)]
    if workers:
        args += ["--workers", str(workers)]
    for o in man.get("overrides", []):
        args += ["--set", o]
    return args


def rerun(root: Path, out: Path, workers: int | None = None) -> tuple[int, str]:
    """Re-simulate a run from its manifest into ``out`` with the simulate command; (exit code, stderr)."""
    from .cli.env import Environment
    from .cli.main import main

    man = json.loads((Path(root) / MANIFEST).read_text())
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(rerun_command(man, Path(root) / "scenario.toml", out, workers), env)
    return int(code), env.stderr.getvalue()
