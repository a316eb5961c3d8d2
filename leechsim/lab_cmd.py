"""``leechsim lab SCENARIO --runs N --out DIR [--tracker opentracker|none] [--seed S] [--force] [--timeout-s T]``

Runs the scenario with real libtorrent peers and a real tracker on loopback and writes a run
directory in the same schema as ``simulate`` (plus ``replications/NNNN/raw/``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import platform
import signal
import sys
import tempfile
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sim.layout import Layout
from sim.montecarlo import SEED_RULE, replication_seeds
from sim.scenario import load_scenario, scenario_sha256
from sim.units import format_bytes

from forensics import rundir
from forensics.atomic import write_json
from forensics.errors import UserError
from forensics.lab.plan import MAX_EXPECTED_S, base_octet_for_this_process, check_fits_machine, plan_run
from forensics.lab.capture import tcpdump_path, tcpdump_version
from forensics.lab.errors import LabRunError
from forensics.lab.swarm import LabOptions, SwarmProgress, run_swarm
from forensics.lab.tracker import opentracker_path, opentracker_version
from forensics.provenance import utc_now

from .argtypes import positive_float, positive_int, seed
from .env import Environment, ExitStatus
from .terminal import headline_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="run a scenario with real libtorrent peers and opentracker on loopback",
                       description="Run the scenario as a real swarm (libtorrent + opentracker on 127.0.0.0/8) "
                                   "and measure it the way the simulator reports.")
    p.add_argument("scenario", help="scenario TOML file (lab-sized, e.g. examples/lab-small.toml)")
    p.add_argument("--runs", type=positive_int, default=1, help="real swarms to run, one after another (default 1)")
    p.add_argument("--out", type=Path, help="run directory to write (default: runs/lab-<name>-<UTC time>)")
    p.add_argument("--tracker", choices=("opentracker", "none"), default="opentracker",
                   help="peer discovery: a real opentracker (default) or direct connects (explicit only)")
    p.add_argument("--seed", type=seed, help="master seed (default: the scenario's simulation.seed)")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.add_argument("--timeout-s", type=positive_float, help="wall-clock limit per run (default: horizon + 120 s)")
    p.add_argument("--all-blocks", action="store_true",
                   help="every peer logs the blocks it uploads (raw/peer-NNNN-blocks.csv), not only the "
                        "subject: who served whom, for analysis (python -m forensics.lab.shares RUN_DIR)")
    p.add_argument("--trace-connections", action="store_true",
                   help="every peer samples each of its connections every 100 ms (rates, byte totals, buffers, "
                        "queues, choke/interest flags) into replications/NNNN/connections.csv; "
                        "figures: leechsim trace RUN_DIR")
    p.add_argument("--pcap", action="store_true",
                   help="capture the run's loopback traffic with tcpdump into replications/NNNN/raw/capture.pcap "
                        "(read it with 'leechsim evidence pcap')")
    p.add_argument("--utp", action="store_true",
                   help="leave libtorrent's uTP transport on in every session (default: TCP only)")
    p.add_argument("--max-duration-s", type=positive_float, default=MAX_EXPECTED_S,
                   help=f"refuse scenarios expected to run longer than this per run (default {MAX_EXPECTED_S:.0f})")
    p.set_defaults(run=_run_wrapper)





class _Failed(Exception):
    """A lab run failed; already reported. The run directory stays marked incomplete."""


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM and SIGHUP (terminal closed) unwind like Ctrl-C: every child and temporary file is
    cleaned up and the run directory is marked incomplete."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    old = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            old[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def lab_versions() -> dict:
    import libtorrent as lt
    return {"libtorrent": lt.__version__, "opentracker": opentracker_version(),
            "python": sys.version.split()[0], "os": platform.platform(),
            "os_release": _os_release()}


def _os_release() -> str | None:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return None


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    sc = load_scenario(ns.scenario)
    scenario_path = Path(ns.scenario)
    seed = sc.simulation.seed if ns.seed is None else ns.seed
    layout = Layout.of(sc.torrent.piece_size, sc.torrent.file_sizes, sc.torrent.file_paths)
    octet = base_octet_for_this_process()
    seeds = replication_seeds(seed, ns.runs)
    plans = [plan_run(sc, i, seeds[i], octet) for i in range(ns.runs)]
    for plan in plans:  # refuse before anything starts, naming the first run that does not fit
        try:
            check_fits_machine(sc, plan.population, ns.max_duration_s, tempfile.gettempdir())
        except UserError as e:
            raise UserError(f"{scenario_path}: run {plan.replication}: {e}") from None
    if ns.tracker == "opentracker":
        opentracker_path()
    out = ns.out or Path("runs") / f"lab-{sc.name}-{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%SZ}"
    if ns.pcap:
        tcpdump_path()
    opts = LabOptions(tracker=ns.tracker, timeout_s=ns.timeout_s, all_blocks=ns.all_blocks,
                      trace_connections=ns.trace_connections, pcap=ns.pcap, utp=ns.utp)
    started = utc_now()
    command = ns.command_line
    results = []
    with _sigterm_as_interrupt(), rundir.RunDirWriter(out, force=ns.force) as w:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                      TimeElapsedColumn(), console=env.err_console(), disable=not env.show_progress(),
                      transient=True) as progress:
            for plan in plans:
                task = progress.add_task(f"lab run {plan.replication + 1}/{ns.runs}",
                                         total=sc.simulation.horizon_s, status="starting peers")

                def show(p: SwarmProgress, task=task) -> None:
                    progress.update(task, completed=p.t_s, status=(
                        f"joined {p.joined}/{p.peers}  completed {p.completed}/{p.downloaders}  "
                        f"moved {format_bytes(p.bytes_moved)}  {max(0.0, p.horizon_s - p.t_s):.0f} s to limit"))

                raw = w.stage / "replications" / f"{plan.replication:04d}" / "raw"
                try:
                    r = run_swarm(sc, plan, layout, raw, opts, show)
                except LabRunError as e:
                    env.error(f"lab run {plan.replication} failed: {e}")
                    raise _Failed(str(e)) from None
                rundir.write_replication(w.stage, r)
                results.append(r)
                progress.update(task, completed=sc.simulation.horizon_s, status="done")
        rundir.write_scenario(w.stage, sc, scenario_path.read_bytes())
        summary = rundir.write_results(w.stage, results)
        manifest = rundir.manifest(
            "lab", command, scenario_sha256(scenario_path), started,
            scenario_file=str(scenario_path), scenario_name=sc.name, overrides=[],
            replications=ns.runs, master_seed=seed, seed_rule=SEED_RULE,
            lab={
                "tracker": ns.tracker, "trace_connections": ns.trace_connections, "timeout_s": ns.timeout_s,
                "max_duration_s": ns.max_duration_s, "pcap": ns.pcap, "utp": ns.utp,
                "versions": {**lab_versions(), **({"tcpdump": tcpdump_version()} if ns.pcap else {})},
                "peer_process_model": "one OS process and one libtorrent session per peer",
                "settings_files": "replications/NNNN/raw/peer-NNNN.json: 'settings' is the session's "
                                  "full settings_pack as read back from libtorrent",
            },
        )
        write_json(w.stage / "manifest.json", manifest)
        published = w.publish()
    _print_summary(env, summary, sc.name, published)
    return ExitStatus.SUCCESS


def _print_summary(env: Environment, summary: dict, name: str, published: Path) -> None:
    console = env.console()
    console.print(headline_table(summary, f"Lab scenario '{name}'", runs_label="runs"))
    console.print(f"Run directory: {published}")


def _run_wrapper(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    try:
        return run(ns, env)
    except _Failed:
        return ExitStatus.ERROR
