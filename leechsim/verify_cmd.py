"""``leechsim verify RUN_DIR [--workers N] [--keep DIR]``

Checks the run directory against its hash list, then re-runs it from its manifest and compares
every deterministic output byte for byte. Exit 0: intact and reproduced; exit 1: a mismatch (the
first differing file is named); exit 2: not a usable run directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from forensics.provenance import HASH_FILE
from forensics.reproduce import Verification, sweep_cells, verify_run
from forensics.rundir import REPORT_HASH_FILE, integrity_problems

from .argtypes import workers
from .env import Environment, ExitStatus


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check a run directory's hashes and re-run it to check identical results",
                       description="Check SHA256SUMS, re-run the simulation from the manifest and compare "
                                   "every output byte for byte.")
    p.add_argument("run_dir", type=Path, help="run directory written by 'leechsim simulate'")
    p.add_argument("--workers", type=workers, help="worker processes for the re-run (default: all cores; "
                                                "results do not depend on it)")
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep the re-run in DIR (default: a temporary directory)")
    p.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    cells = sweep_cells(ns.run_dir)
    if cells is None:
        return _verify_run(ns.run_dir, ns, env)
    root: Path = ns.run_dir
    problems = integrity_problems(root)  # a sweep directory: its own hash list, then every cell as a run
    if problems:
        env.error(f"verify FAILED: {root}: {problems[0]}")
        return ExitStatus.ERROR
    env.console().print(f"{root}: sweep hash list matches; verifying {len(cells)} cells")
    for c in cells:
        env.console().print(f"— {c['cell']}: {c['given']}")
        code = _verify_run(root / "cells" / c["cell"], ns, env, keep=ns.keep / c["cell"] if ns.keep else None)
        if code != ExitStatus.SUCCESS:
            return code
    env.console().print(f"verified: all {len(cells)} cells of the sweep")
    return ExitStatus.SUCCESS


def _verify_run(root: Path, ns: argparse.Namespace, env: Environment, keep: Path | None = None) -> ExitStatus:
    out = env.console()

    def checked(v: Verification) -> None:
        if v.hashed_files:
            out.print(f"{HASH_FILE}: all {v.hashed_files} files match")
        if v.report_files:
            out.print(f"{REPORT_HASH_FILE}: all {v.report_files} report files match")
        if v.rerun_command:
            out.print(f"re-running: leechsim {' '.join(v.rerun_command)}")

    v = verify_run(root, ns.workers, keep or ns.keep, on_rerun=checked)
    if not v.rerun_command:  # no re-run was made, so on_rerun was not called
        checked(v)
    for note in v.software_notes:
        out.print(f"note: software differs — {note}")
    if not v.ok:
        env.error(f"verify FAILED: {v.failure}")
        for line in v.more:
            env.stderr.write(f"  - {line}\n")
        if v.differences and v.software_notes:
            env.stderr.write("  The software differs between the run and the re-run (see the notes above); "
                             "re-run with the recorded versions and git commit to tell a code change from tampering.\n")
        return ExitStatus.ERROR
    if v.manifest.get("kind") == "corpus":
        out.print(f"verified: {v.identical_files} output files identical to the re-run, byte for byte "
                  f"({v.manifest.get('torrents')} torrents x {v.manifest['replications']} replications, corpus seed "
                  f"{v.manifest.get('corpus_seed')}; re-run from the stored corpus.toml, torrents.input.csv and "
                  f"base.resolved.toml)")
    elif v.manifest.get("kind") != "simulate":
        out.print(f"kind '{v.manifest.get('kind')}': a real swarm cannot be re-run identically; hashes checked only")
    else:
        out.print(f"verified: {v.identical_files} output files identical to the re-run, byte for byte "
                  f"({v.manifest['replications']} replications, master seed {v.manifest['master_seed']})")
    return ExitStatus.SUCCESS
