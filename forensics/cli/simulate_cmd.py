"""``leechsim simulate [SCENARIO] [--runs N] [--seed S] [--out DIR] [--workers N] [--set KEY=VALUE]``"""

from __future__ import annotations

import argparse
import datetime as _dt
import tomllib
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sim.montecarlo import SEED_RULE, default_workers, run_replications
from sim.scenario import Scenario, ScenarioError, default_scenario_path, load_scenario, scenario_sha256

from .. import rundir
from ..atomic import write_json
from ..errors import UserError
from ..present import headline_table
from ..provenance import utc_now
from .argtypes import positive_int, scheduler, seed
from .env import Environment, ExitStatus


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="Monte Carlo simulation of a scenario (default: the built-in one)",
                       description="Simulate a swarm and report how much the subject client uploaded.")
    p.add_argument("scenario", nargs="?", help="scenario TOML file (default: the built-in default scenario)")
    p.add_argument("--runs", type=positive_int, help="replications (default: the scenario's simulation.replications)")
    p.add_argument("--seed", type=seed, help="master seed (default: the scenario's simulation.seed)")
    p.add_argument("--out", type=Path, help="run directory to write (default: runs/<name>-<UTC time>)")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", type=scheduler, metavar="tcp://HOST:PORT",
                   help="run the replications on this Dask distributed scheduler instead of local workers")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value, e.g. --set subject.on_complete=never_stop (repeatable)")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.add_argument("--trace-connections", action="store_true",
                   help="also write replications/NNNN/connections.csv: every connection at every quota tick "
                        "(the lab's columns; for small scenarios)")
    p.set_defaults(run=run)





def parse_override(text: str) -> tuple[str, object]:
    """``key.path=value``; the value is read as TOML (numbers, booleans, strings, arrays, tables)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {text!r}: expected KEY=VALUE, e.g. subject.on_complete=stop")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: take it as a string
    return key.strip(), value


def load_with_overrides(path: str | None, overrides: list[str]) -> tuple[Scenario, Path, bytes]:
    scenario_path = Path(path) if path else default_scenario_path()
    sc = load_scenario(scenario_path)
    if overrides:
        changes = dict(parse_override(o) for o in overrides)
        try:
            sc = sc.with_changes(**changes)
        except ScenarioError as e:
            raise ScenarioError(str(e).replace("<override>", f"{scenario_path} with --set {' '.join(overrides)}")) from None
    return sc, scenario_path, scenario_path.read_bytes()


def default_out(name: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / f"{name}-{stamp}"


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    sc, scenario_path, scenario_bytes = load_with_overrides(ns.scenario, ns.overrides)
    n = ns.runs or sc.simulation.replications
    seed = sc.simulation.seed if ns.seed is None else ns.seed
    workers = ns.workers or default_workers(n)
    out = ns.out or default_out(sc.name)
    started = utc_now()
    with rundir.RunDirWriter(out, force=ns.force) as w:
        with Progress(TextColumn("simulating {task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=env.err_console(),
                      disable=not env.show_progress(), transient=True) as progress:
            task = progress.add_task(sc.name, total=n)
            try:
                results = run_replications(sc, n, seed, workers, on_done=lambda k: progress.advance(task, k),
                                           scheduler=ns.scheduler, trace_connections=ns.trace_connections)
            except OSError as e:
                raise UserError(f"cannot reach the Dask scheduler {ns.scheduler}: {e}") from None
        rundir.write_scenario(w.stage, sc, scenario_bytes)
        for r in results:
            rundir.write_replication(w.stage, r)
        summary = rundir.write_results(w.stage, results)
        manifest = rundir.manifest(
            "simulate", ns.command_line,
            scenario_sha256(scenario_path), started,
            scenario_file=str(scenario_path), scenario_name=sc.name, overrides=list(ns.overrides),
            replications=n, master_seed=seed, seed_rule=SEED_RULE,
            workers=None if ns.scheduler else workers, scheduler=ns.scheduler,
            trace_connections=ns.trace_connections,
        )
        write_json(w.stage / "manifest.json", manifest)
        published = w.publish()
    console = env.console()
    console.print(headline_table(summary, f"Scenario '{sc.name}'"))
    console.print(f"Run directory: {published}")
    return ExitStatus.SUCCESS
