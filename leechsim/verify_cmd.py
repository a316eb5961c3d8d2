"""``leechsim verify RUN_DIR [--workers N] [--keep DIR]``

Checks the run directory against its hash list, then re-runs it from its manifest and compares
every deterministic output byte for byte. Exit 0: intact and reproduced; exit 1: a mismatch (the
first differing file is named); exit 2: not a usable run directory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from sim.scenario import ScenarioError

from forensics.errors import UserError
from forensics.provenance import HASH_FILE, sha256_file
from forensics.reproduce import rerun_differences, software_differences
from forensics.rundir import MANIFEST, integrity_problems, report_files, report_problems
from forensics.runs import read_manifest, rerun, rerun_args

from .env import Environment, ExitStatus


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check a run directory's hashes and re-run it to check identical results",
                       description="Check SHA256SUMS, re-run the simulation from the manifest and compare "
                                   "every output byte for byte.")
    p.add_argument("run_dir", type=Path, help="run directory written by 'leechsim simulate'")
    p.add_argument("--workers", type=int, help="worker processes for the re-run (default: all cores; "
                                                "results do not depend on it)")
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep the re-run in DIR (default: a temporary directory)")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    root: Path = ns.run_dir
    if root.is_dir() and not (root / MANIFEST).exists() and (root / "sweep.json").is_file():
        return _verify_sweep(root, ns, env)
    return _verify_run(root, ns, env)


def _verify_sweep(root: Path, ns: argparse.Namespace, env: Environment) -> ExitStatus:
    """A sweep directory: its own hash list, then every cell as a run."""
    problems = integrity_problems(root)
    if problems:
        env.error(f"verify FAILED: {root}: {problems[0]}")
        return ExitStatus.ERROR
    cells = json.loads((root / "sweep.json").read_text()).get("cells", [])
    env.console().print(f"{root}: sweep hash list matches; verifying {len(cells)} cells")
    for c in cells:
        env.console().print(f"— {c['cell']}: {c['given']}")
        code = _verify_run(root / "cells" / c["cell"], ns, env)
        if code != ExitStatus.SUCCESS:
            return code
    env.console().print(f"verified: all {len(cells)} cells of the sweep")
    return ExitStatus.SUCCESS


def _verify_run(root: Path, ns: argparse.Namespace, env: Environment) -> ExitStatus:
    man = read_manifest(root)
    out = env.console()

    problems = integrity_problems(root)
    if problems:
        env.error(f"verify FAILED: {root}: {problems[0]}"
                  + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""))
        for p in problems[1:]:
            env.stderr.write(f"  - {p}\n")
        return ExitStatus.ERROR
    n_listed = sum(1 for line in (root / HASH_FILE).read_text().splitlines() if line.strip())
    out.print(f"{HASH_FILE}: all {n_listed} files match")
    rp = report_problems(root)
    if rp:
        env.error(f"verify FAILED: {root}: {rp[0]}")
        return ExitStatus.ERROR
    if report_files(root):
        out.print(f"report.SHA256SUMS: all {len(report_files(root))} report files match")

    if man.get("kind") != "simulate":
        out.print(f"kind '{man.get('kind')}': a real swarm cannot be re-run identically; hashes checked only")
        return ExitStatus.SUCCESS
    scenario = root / "scenario.toml"
    if not scenario.is_file() or sha256_file(scenario) != man.get("scenario_sha256"):
        env.error(f"verify FAILED: {scenario}: does not match the manifest's scenario_sha256")
        return ExitStatus.ERROR

    tmp = Path(tempfile.mkdtemp(prefix="leechsim-verify-"))
    target = (ns.keep / root.name if ns.keep and root.parent.name == "cells" else ns.keep) or tmp / "rerun"
    try:
        out.print(f"re-running: leechsim {' '.join(rerun_args(man, scenario, target, ns.workers))}")
        try:
            rerun(root, target, ns.workers)
        except (UserError, ScenarioError) as e:
            env.error(f"verify FAILED: the re-run did not complete: {e}")
            return ExitStatus.ERROR
        diffs = rerun_differences(root, target)
        notes = software_differences(root, target)
        for note in notes:
            out.print(f"note: software differs — {note}")
        if diffs:
            env.error(f"verify FAILED: {root / diffs[0].path}: {diffs[0].what}"
                      + (f" (and {len(diffs) - 1} more difference(s))" if len(diffs) > 1 else ""))
            for d in diffs[1:20]:
                env.stderr.write(f"  - {d}\n")
            if notes:
                env.stderr.write("  The software differs between the run and the re-run (see the notes above); "
                                 "re-run with the recorded versions and git commit to tell a code change from tampering.\n")
            return ExitStatus.ERROR
        n = sum(1 for p in target.rglob("*") if p.is_file()) - 2  # manifest and hash list compared by field
        out.print(f"verified: {n} output files identical to the re-run, byte for byte "
                  f"({man['replications']} replications, master seed {man['master_seed']})")
        return ExitStatus.SUCCESS
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
