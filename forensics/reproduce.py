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
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sim.scenario import ScenarioError

from .errors import UserError
from .provenance import HASH_FILE, read_hash_list, sha256_file
from .rundir import MANIFEST, REPORT_HASH_FILE, integrity_problems, read_manifest, report_files, report_problems
from .runs import rerun, rerun_args
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
    man_a, man_b = read_manifest(original), read_manifest(rerun)
    for key in DETERMINISTIC_MANIFEST_KEYS:
        if man_a.get(key) != man_b.get(key):
            diffs.append(Difference(MANIFEST, f"field '{key}' is {man_a.get(key)!r}, the re-run gives {man_b.get(key)!r}"))
    return sorted(diffs, key=lambda d: d.path)


def software_differences(original: Path, rerun: Path) -> list[str]:
    """Versions that differ between the run and the re-run (informative: outputs may still agree)."""
    a = read_manifest(original).get("software", {})
    b = read_manifest(rerun).get("software", {})
    return [f"{k}: run {a.get(k)!r}, re-run {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


@dataclass(frozen=True)
class Verification:
    """What verifying one run directory found. ``failure`` is None when the run is intact and, for
    a simulated run, reproduced; otherwise it names the first problem and ``more`` the others."""

    root: Path
    manifest: dict
    failure: str | None = None
    more: tuple[str, ...] = ()
    hashed_files: int = 0  # files SHA256SUMS lists, all matching
    report_files: int = 0  # files report.SHA256SUMS lists, all matching
    rerun_command: tuple[str, ...] = ()  # empty when no re-run was made (a lab run, or a failure before it)
    software_notes: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = ()
    identical_files: int = 0

    @property
    def ok(self) -> bool:
        return self.failure is None


def verify_run(root: Path, workers: int | None = None, keep: Path | None = None,
               on_rerun: Callable[[Verification], None] | None = None) -> Verification:
    """Check a run directory's hashes, then (a simulated run) re-run it and compare every output.

    The re-run goes to ``keep`` if given, else to a temporary directory that is removed;
    ``on_rerun(checked)`` is told before the re-run starts (hashes checked, ``rerun_command`` set). A RunDirError if ``root`` has no
    readable manifest.
    """
    root = Path(root)
    man = read_manifest(root)
    problems = integrity_problems(root)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        return Verification(root, man, f"{root}: {problems[0]}{more}", tuple(problems[1:]))
    done = {"hashed_files": len(read_hash_list(root)), "report_files": len(report_files(root))}
    rp = report_problems(root)
    if rp:
        return Verification(root, man, f"{root}: {rp[0]}", **done)
    if man.get("kind") == "corpus":
        return _verify_corpus(root, man, workers, keep, on_rerun, done)
    if man.get("kind") != "simulate":
        return Verification(root, man, **done)
    scenario = root / "scenario.toml"
    if not scenario.is_file() or sha256_file(scenario) != man.get("scenario_sha256"):
        return Verification(root, man, f"{scenario}: does not match the manifest's scenario_sha256", **done)
    return _rerun_and_compare(root, man, workers, keep, on_rerun, done,
                              lambda target: rerun_args(man, scenario, target, workers), rerun)


def _verify_corpus(root: Path, man: dict, workers: int | None, keep: Path | None, on_rerun, done: dict) -> Verification:
    """A corpus run re-run from the inputs it stores (corpus.toml, torrents.input.csv, base.resolved.toml)."""
    from .corpus_run import rerun_corpus
    def args(target: Path) -> list[str]:
        return ["corpus", str(root / "corpus.toml"), "--runs", str(man.get("replications")), "--out", str(target),
                "(the run directory's stored corpus.toml, torrents.input.csv and base.resolved.toml)"]
    return _rerun_and_compare(root, man, workers, keep, on_rerun, done, args, rerun_corpus)


def _rerun_and_compare(root: Path, man: dict, workers: int | None, keep: Path | None, on_rerun, done: dict,
                       args: Callable[[Path], list[str]], rerun_fn) -> Verification:
    """Re-run into ``keep`` or a temporary directory and compare every output with the run's."""
    tmp = Path(tempfile.mkdtemp(prefix="leechsim-verify-"))
    target = Path(keep) if keep else tmp / "rerun"
    try:
        done["rerun_command"] = tuple(args(target))
        if on_rerun:
            on_rerun(Verification(root, man, **done))
        try:
            rerun_fn(root, target, workers)
        except (UserError, ScenarioError) as e:
            return Verification(root, man, f"the re-run did not complete: {e}", **done)
        diffs = rerun_differences(root, target)
        notes = tuple(software_differences(root, target))
        if diffs:
            more = f" (and {len(diffs) - 1} more difference(s))" if len(diffs) > 1 else ""
            return Verification(root, man, f"{root / diffs[0].path}: {diffs[0].what}{more}",
                                tuple(str(d) for d in diffs[1:20]), software_notes=notes, differences=tuple(diffs), **done)
        n = sum(1 for p in target.rglob("*") if p.is_file()) - 2  # manifest and hash list compared by field
        return Verification(root, man, software_notes=notes, identical_files=n, **done)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sweep_cells(root: Path) -> list[dict] | None:
    """The cells of a sweep directory (from sweep.json), or None if ``root`` is not one."""
    root = Path(root)
    if root.is_dir() and not (root / MANIFEST).exists() and (root / "sweep.json").is_file():
        return json.loads((root / "sweep.json").read_text()).get("cells", [])
    return None
