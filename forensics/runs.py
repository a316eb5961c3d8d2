"""Running a scenario into a run directory, and re-running one from its manifest.

``simulate_run`` is what ``leechsim simulate`` does: load the scenario (with overrides), run its
replications, and publish a run directory with its manifest. ``rerun`` repeats a published run
from the manifest alone (the stored ``scenario.toml`` bytes, the overrides, the master seed and
the number of replications); ``rerun_args`` is the equivalent ``simulate`` command line, which
manifests record, ``verify`` prints and reports cite.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sim.limits import MAX_REPLICATIONS
from sim.montecarlo import SEED_RULE, default_workers, run_replications
from sim.scenario import Scenario

from . import rundir
from .analysis.observed import observed_rows
from .atomic import write_json
from .capacity import check_run_size
from .errors import UserError
from .overrides import load_with_overrides
from .provenance import utc_now


@dataclass(frozen=True)
class SimulatedRun:
    """A published run directory and what ``simulate`` prints about it."""

    root: Path
    scenario: Scenario
    summary: dict  # summary.json: median, mean, p5, p95, min, max of every headline quantity


def safe_name(name: str, limit: int = 80) -> str:
    """A scenario name as one safe path component: letters, digits, '.', '_' and '-' kept, any
    other run of characters (path separators, '..', NUL, spaces) as one '-', at most ``limit``
    characters; 'run' if nothing is left."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:limit].strip("-.")
    return slug or "run"


def default_out(name: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / f"{safe_name(name)}-{stamp}"


def simulate_run(scenario: str | Path | None = None, out: str | Path | None = None, *, runs: int | None = None,
                 seed: int | None = None, workers: int | None = None, overrides: list[str] = (),
                 scheduler: str | None = None, force: bool = False, command: list[str] | None = None,
                 trace_connections: bool = False, on_plan: Callable[[str, int], None] | None = None,
                 on_done: Callable[[int], None] | None = None) -> SimulatedRun:
    """Simulate a scenario file (default: the built-in scenario) into the run directory ``out``.

    ``runs`` and ``seed`` default to the scenario's; ``workers`` to all cores; ``command`` is the
    command line the manifest records (default: the equivalent ``leechsim simulate`` command).
    ``trace_connections``: also write every replication's connections.csv (every connection at every
    quota tick, the lab's columns). ``on_plan(name, replications)`` is called once before the replications run, ``on_done(k)`` as
    they finish.
    """
    overrides = list(overrides)
    sc, scenario_path, scenario_bytes = load_with_overrides(scenario, overrides)
    n = runs or sc.simulation.replications
    seed = sc.simulation.seed if seed is None else seed
    workers = workers or default_workers(n)
    if not scheduler:  # a cluster's workers have their own memory
        check_run_size(sc, n, workers, str(scenario_path), trace_connections)
    out = Path(out) if out else default_out(sc.name)
    if command is None:
        command = ["leechsim", *rerun_args({"replications": n, "master_seed": seed, "overrides": overrides,
                                            "trace_connections": trace_connections}, scenario_path, out, None)]
    started = utc_now()
    if on_plan:
        on_plan(sc.name, n)
    with rundir.RunDirWriter(out, force=force) as w:
        try:
            results = run_replications(sc, n, seed, workers, on_done=on_done, scheduler=scheduler,
                                       trace_connections=trace_connections)
        except OSError as e:
            raise UserError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
        except ImportError as e:  # --scheduler without the distributed extra
            raise UserError(str(e)) from None
        rundir.write_scenario(w.stage, sc, scenario_bytes)
        for r in results:
            rundir.write_replication(w.stage, r)
        summary = rundir.write_results(w.stage, results)
        if sc.evidence is not None:
            heads = {q: np.array([r.headline[q] for r in results], dtype=np.float64) for q in sc.evidence.observed()}
            rundir.write_observed(w.stage, observed_rows(sc, heads))
        manifest = rundir.manifest(
            "simulate", command,
            hashlib.sha256(scenario_bytes).hexdigest(), started,
            scenario_file=str(scenario_path), scenario_name=sc.name, overrides=overrides,
            replications=n, master_seed=seed, seed_rule=SEED_RULE,
            workers=None if scheduler else workers, scheduler=scheduler,
            **({"trace_connections": True} if trace_connections else {}),
        )
        write_json(w.stage / rundir.MANIFEST, manifest)
        published = w.publish()
    return SimulatedRun(published, sc, summary)


def rerun_args(manifest: dict, scenario: Path, out: Path, workers: int | None = None) -> list[str]:
    """The ``simulate`` arguments that reproduce a run from its manifest."""
    args = ["simulate", str(scenario), "--runs", str(manifest.get("replications")),
            "--seed", str(manifest.get("master_seed"))]
    for o in manifest.get("overrides", []):
        args += ["--set", o]
    if manifest.get("trace_connections"):
        args += ["--trace-connections"]
    args += ["--out", str(out)]
    return args + (["--workers", str(workers)] if workers else [])


def _check_rerun_fields(root: Path, man: dict) -> None:
    """The manifest fields a re-run takes, each of the type and range ``simulate`` would have written."""
    def bad(field: str, allowed: str) -> rundir.RunDirError:
        return rundir.RunDirError(f"{Path(root) / rundir.MANIFEST}: field '{field}' is {man.get(field)!r}; "
                                  f"a re-run needs {allowed}")

    def whole(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not whole(man.get("replications")) or not 1 <= man["replications"] <= MAX_REPLICATIONS:
        raise bad("replications", f"a whole number from 1 to {MAX_REPLICATIONS:,}")
    if not whole(man.get("master_seed")) or not 0 <= man["master_seed"] < 2**63:
        raise bad("master_seed", "a whole number in [0, 2**63)")
    overrides = man.get("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise bad("overrides", "a list of KEY=VALUE strings")
    if not isinstance(man.get("trace_connections", False), bool):
        raise bad("trace_connections", "true or false")


def rerun(root: Path, out: Path, workers: int | None = None) -> SimulatedRun:
    """Re-simulate a run from its manifest and stored scenario into ``out``."""
    man = rundir.read_manifest(root)
    _check_rerun_fields(root, man)
    scenario = Path(root) / "scenario.toml"
    return simulate_run(scenario, out, runs=man["replications"], seed=man["master_seed"], workers=workers,
                        overrides=list(man.get("overrides", [])),
                        trace_connections=bool(man.get("trace_connections", False)),
                        command=["leechsim", *rerun_args(man, scenario, out, workers)])
