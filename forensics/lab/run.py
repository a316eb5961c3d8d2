"""Running a scenario in the lab into a run directory: what ``leechsim lab`` does, as a library call.

``run_lab`` plans every run first (refusing, before anything starts, a scenario the machine cannot
run), then runs the real swarms one after another and publishes a run directory in the simulator's
schema with a manifest that records the lab's options and software versions. SIGTERM and SIGHUP
unwind like Ctrl-C while it runs: every child and temporary file is cleaned up and the run
directory is left marked incomplete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import platform
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sim.layout import Layout
from sim.montecarlo import SEED_RULE, replication_seeds
from sim.scenario import Scenario, read_scenario_bytes, scenario_from_bytes

from .. import rundir
from ..atomic import write_json
from ..errors import Interrupted, UserError
from ..provenance import utc_now
from ..runs import safe_name
from .capture import tcpdump_path, tcpdump_version
from .errors import LabRunError
from .plan import MAX_EXPECTED_S, SESSION_PHASES, base_octet_for_this_process, check_fits_machine, plan_run
from .swarm import LabOptions, SwarmProgress, run_swarm
from .tracker import opentracker_path, opentracker_version


@dataclass(frozen=True)
class LabRun:
    """A published lab run directory."""

    root: Path
    scenario: Scenario
    summary: dict  # summary.json
    busy_load: float | None = None  # busy_load: the load before the first run, if the machine was busy


def busy_load(host_load: dict[str, list[float]], cpus: int | None) -> float | None:
    """The machine's 1-minute load average before the command's first run, if it was above half its
    CPUs (other work was running when the lab started: docs/lab.md, "A busy machine"); else None.
    Only the first run counts: the load before a later run includes the lab's own last run (eight
    peer processes starting, writing their files and exiting lift it to 2-4.5 on this 2-CPU machine
    with nothing else running). The manifest keeps every run's load."""
    if not host_load:
        return None
    before = host_load[min(host_load)][0]
    return before if before > max(1, cpus or 1) / 2.0 else None


def busy_warning(load: float, cpus: int | None) -> str:
    return (f"the machine was busy when the lab started (1-minute load average {load:.1f} on "
            f"{cpus or '?'} CPUs). Other work on the machine can change a real swarm's timing and what "
            "the subject uploads (docs/lab.md, 'A busy machine'): compare such runs with runs made "
            "under the same load, and record validation runs on a quiet machine.")


class LabRunFailed(Exception):
    """Lab run ``replication`` failed; the run directory stays marked incomplete."""

    def __init__(self, replication: int, reason: str) -> None:
        super().__init__(f"lab run {replication} failed: {reason}")
        self.replication = replication
        self.reason = reason


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM and SIGHUP (terminal closed) unwind like Ctrl-C, once: a repeat never interrupts the cleanup."""
    stopping = False

    def handler(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Interrupted(signum)
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


def default_lab_out(name: str) -> Path:
    return Path("runs") / f"lab-{safe_name(name)}-{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%SZ}"


def run_lab(scenario: str | Path, out: str | Path | None = None, *, runs: int = 1, seed: int | None = None,
            options: LabOptions = LabOptions(), max_duration_s: float = MAX_EXPECTED_S, force: bool = False,
            command: list[str] | None = None, first: int = 0,
            on_progress: Callable[[int, SwarmProgress | None], None] | None = None) -> LabRun:
    """Run ``scenario`` ``runs`` times as a real swarm into the run directory ``out``.

    ``on_progress(replication, progress)`` is called as each swarm runs (``progress`` None once
    the run is done). ``first`` > 0 runs only replications ``first`` .. ``runs - 1``, each with the
    seed it has in a recording of ``runs`` runs (the seed rule gives replication i the same seed
    whatever the count): the pieces that extend a recording (``calibration.extend_recording``);
    such a directory holds those replications only. Raises UserError for a scenario or option the lab refuses, LabRunFailed when
    a swarm fails."""
    scenario_path = Path(scenario)
    scenario_bytes = read_scenario_bytes(scenario_path)  # read once: a pipe gives its bytes only once
    sc = scenario_from_bytes(scenario_bytes, str(scenario_path))
    seed = sc.simulation.seed if seed is None else seed
    layout = Layout.of(sc.torrent.piece_size, sc.torrent.file_sizes, sc.torrent.file_paths)
    octet = base_octet_for_this_process()
    if not 0 <= first < runs:
        raise UserError(f"{scenario_path}: the first run to make ({first}) must lie in 0 .. {runs - 1}")
    seeds = replication_seeds(seed, runs)
    plans = [plan_run(sc, i, seeds[i], octet) for i in range(first, runs)]
    for plan in plans:  # refuse before anything starts, naming the first run that does not fit
        try:
            check_fits_machine(sc, plan.population, max_duration_s, tempfile.gettempdir())
        except UserError as e:
            raise UserError(f"{scenario_path}: run {plan.replication}: {e}") from None
    if options.tracker == "opentracker":
        opentracker_path()
    if options.pcap:
        tcpdump_path()
    out = Path(out) if out else default_lab_out(sc.name)
    if command is None:
        command = ["leechsim", "lab", str(scenario_path), "--runs", str(runs), "--out", str(out)]
    started = utc_now()
    results = []
    host_load: dict[str, list[float]] = {}
    with sigterm_as_interrupt(), rundir.RunDirWriter(out, force=force) as w:
        for plan in plans:
            raw = w.stage / "replications" / f"{plan.replication:04d}" / "raw"
            show = (lambda p, i=plan.replication: on_progress(i, p)) if on_progress else (lambda p: None)
            load_before = os.getloadavg()[0]
            try:
                r = run_swarm(sc, plan, layout, raw, options, show)
            except LabRunError as e:
                raise LabRunFailed(plan.replication, str(e)) from None
            host_load[f"{plan.replication:04d}"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            rundir.write_replication(w.stage, r)
            results.append(r)
            if on_progress:
                on_progress(plan.replication, None)
        rundir.write_scenario(w.stage, sc, scenario_bytes)
        summary = rundir.write_results(w.stage, results)
        manifest = rundir.manifest(
            "lab", command, hashlib.sha256(scenario_bytes).hexdigest(), started,
            scenario_file=str(scenario_path), scenario_name=sc.name, overrides=[],
            replications=runs - first, master_seed=seed, seed_rule=SEED_RULE,
            **({"first_replication": first} if first else {}),
            lab={
                "tracker": options.tracker, "trace_connections": options.trace_connections,
                "timeout_s": options.timeout_s, "max_duration_s": max_duration_s,
                "pcap": options.pcap, "utp": options.utp, "save_resume": options.save_resume,
                "peer_log": options.peer_log,
                "session_phases": SESSION_PHASES,
                "versions": {**lab_versions(), **({"tcpdump": tcpdump_version()} if options.pcap else {})},
                "peer_process_model": "one OS process and one libtorrent session per peer",
                # a real swarm shares the machine: what else ran beside it (the lab's own peers
                # included) is part of its conditions; compare recordings made under similar load
                "host": {"cpus": os.cpu_count(), "load_1min_before_after": host_load},
                "settings_files": "replications/NNNN/raw/peer-NNNN.json: 'settings' is the session's "
                                  "full settings_pack as read back from libtorrent",
            },
        )
        write_json(w.stage / "manifest.json", manifest)
        published = w.publish()
    return LabRun(published, sc, summary, busy_load(host_load, os.cpu_count()))
