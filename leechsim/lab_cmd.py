"""``leechsim lab SCENARIO --runs N --out DIR [--tracker opentracker|none] [--seed S] [--force] [--timeout-s T]``

Runs the scenario with real libtorrent peers and a real tracker on loopback and writes a run
directory in the same schema as ``simulate`` (plus ``replications/NNNN/raw/``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sim.scenario import load_scenario
from sim.session_config import is_session_file
from sim.units import format_bytes

from forensics.lab.plan import MAX_EXPECTED_S
from forensics.lab.run import LabRunFailed, busy_warning, run_lab
from forensics.lab.swarm import LabOptions, SwarmProgress

from .argtypes import positive_float, positive_int, seed
from .env import Environment, ExitStatus
from .terminal import headline_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="run a scenario with real libtorrent peers and opentracker on loopback",
                       description="Run the scenario as a real swarm (libtorrent + opentracker on 127.0.0.0/8) "
                                   "and measure it the way the simulator reports.")
    p.add_argument("scenario", help="scenario TOML file (lab-sized, e.g. examples/lab-small.toml), or a session "
                                    "file: one subject session holding several torrents (validation/sessions/)")
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
    p.add_argument("--peer-log", action="store_true",
                   help="every peer keeps libtorrent's own per-connection log (messages, and the rate limiter's "
                        "REQUEST_BANDWIDTH/ASSIGN_BANDWIDTH steps) in replications/NNNN/peer_log.csv; for "
                        "diagnosis: it costs the peers CPU (docs/lab.md)")
    p.add_argument("--pcap", action="store_true",
                   help="capture the run's loopback traffic with tcpdump into replications/NNNN/raw/capture.pcap "
                        "(read it with 'leechsim evidence pcap')")
    transport = p.add_mutually_exclusive_group()
    transport.add_argument("--utp", dest="utp", action="store_const", const=True, default=None,
                           help="uTP on in every session, whatever the scenario says (default: as the scenario's "
                                "enable_outgoing_utp / enable_incoming_utp say; libtorrent's default is on)")
    transport.add_argument("--tcp-only", dest="utp", action="store_const", const=False,
                           help="uTP off in every session: TCP only")
    p.add_argument("--save-resume", action="store_true",
                   help="at the end of each run every peer saves its resume data with libtorrent's own writer "
                        "(write_resume_data) into replications/NNNN/raw/peer-NNNN.fastresume, as a client would: "
                        "real client-state evidence for 'leechsim case new --client-state'")
    p.add_argument("--max-duration-s", type=positive_float, default=MAX_EXPECTED_S,
                   help=f"refuse scenarios expected to run longer than this per run (default {MAX_EXPECTED_S:.0f})")
    p.set_defaults(run=run)





def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    if is_session_file(ns.scenario):  # one subject session holding several torrents
        from .session_lab_cmd import run_session
        return run_session(ns, env)
    opts = LabOptions(tracker=ns.tracker, timeout_s=ns.timeout_s, all_blocks=ns.all_blocks,
                      trace_connections=ns.trace_connections, peer_log=ns.peer_log, pcap=ns.pcap, utp=ns.utp,
                      save_resume=ns.save_resume)
    horizon = load_scenario(ns.scenario).simulation.horizon_s
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                  TimeElapsedColumn(), console=env.err_console(), disable=not env.show_progress(),
                  transient=True) as progress:
        tasks: dict[int, int] = {}

        def show(i: int, p: SwarmProgress | None) -> None:
            if i not in tasks:
                tasks[i] = progress.add_task(f"lab run {i + 1}/{ns.runs}", total=horizon, status="starting peers")
            if p is None:
                progress.update(tasks[i], completed=horizon, status="done")
            else:
                progress.update(tasks[i], completed=p.t_s, status=(
                    f"joined {p.joined}/{p.peers}  completed {p.completed}/{p.downloaders}  "
                    f"moved {format_bytes(p.bytes_moved)}  {max(0.0, p.horizon_s - p.t_s):.0f} s to limit"))

        try:
            lab = run_lab(ns.scenario, ns.out, runs=ns.runs, seed=ns.seed, options=opts,
                          max_duration_s=ns.max_duration_s, force=ns.force, command=ns.command_line,
                          on_progress=show)
        except LabRunFailed as e:
            env.error(str(e))
            return ExitStatus.ERROR
    _print_summary(env, lab.summary, lab.scenario.name, lab.root)
    if lab.busy_load is not None:
        env.warn(busy_warning(lab.busy_load, os.cpu_count()))
    return ExitStatus.SUCCESS


def _print_summary(env: Environment, summary: dict, name: str, published: Path) -> None:
    console = env.console()
    console.print(headline_table(summary, f"Lab scenario '{name}'", runs_label="runs"))
    console.print(f"Run directory: {published}")
