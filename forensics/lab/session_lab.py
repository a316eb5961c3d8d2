"""``leechsim lab SESSION_FILE``: one real subject session holding several torrents, each torrent
with its own swarm of real libtorrent peers, one opentracker for all, on loopback.

Run *i*, torrent *j* has the peers of replication *i*, torrent *j* of ``leechsim session`` (the
same population draw: ``sim.session.torrent_seed``). Every peer but the subject is a one-torrent
peer process as in a one-torrent lab run (swarm.py's ``_PeerProcs``); the subject is one process
with one libtorrent session holding every torrent (session_subject.py). Each torrent's raw files
land in its own ``raw/`` directory and are read by measure.py as a one-torrent run; the run
directory has the shape ``leechsim session`` writes (forensics/session_runs.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Callable

from sim.layout import Layout
from sim.montecarlo import SEED_RULE, replication_seeds
from sim.results import ROLE_SEED
from sim.session import SessionResult, session_totals, torrent_seed
from sim.session_config import Session, load_session

from .. import rundir
from ..atomic import write_bytes, write_json
from ..errors import UserError
from ..provenance import utc_now
from ..session_runs import SessionRunDir, write_session_inputs, write_session_results
from .errors import LabRunError
from .measure import collect_replication
from .payload import check_layout, make_torrent, write_payload
from .plan import (MAX_EXPECTED_S, MAX_PEERS, SESSION_PHASES, RunPlan, base_octet_for_this_process, check_fits_machine,
                   peer_ip, plan_run, session_settings, start_offset)
from .procs import popen_child, stop_process
from .run import LabRunFailed, default_lab_out, lab_versions
from .swarm import END_GRACE_S, READY_TIMEOUT_S, STOP_TIMEOUT_S, PROJECT_ROOT, LabOptions, _PeerProcs, _policy
from .trace import merge_connection_traces
from .tracker import Opentracker, opentracker_path


def plan_torrent(session: Session, j: int, replication: int, seed, octet: int, first_index: int) -> RunPlan:
    """Torrent j's peers for one run: the one-torrent plan, the other peers moved to addresses of
    their own (from ``first_index`` on) so that no two peers of the whole lab share one."""
    sc = session.scenarios[j]
    plan = plan_run(sc, replication, seed, octet)
    peers = [plan.peers[0]]
    for p in plan.peers[1:]:
        k = first_index + p.index - 1
        ip = peer_ip(octet, k)
        out_ip = ip if p.connectable else peer_ip(octet, k, outgoing=True)
        peers.append(replace(p, ip=ip, out_ip=out_ip, settings=session_settings(sc, plan.population, p.index, ip, out_ip)))
    return replace(plan, peers=tuple(peers))


def subject_settings(session: Session, plan: RunPlan) -> dict:
    """The subject session's settings_pack: its one-torrent settings plus the auto-manage queue."""
    st = session.settings
    s = dict(plan.peers[0].settings)
    s.update({"active_downloads": st.active_downloads, "active_seeds": st.active_seeds, "active_limit": st.active_limit})
    return s


class _SubjectProc:
    """The subject's one process (session_subject.py) and its stdout events."""

    def __init__(self, work: Path, spec: dict) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        path = work / "subject.spec.json"
        path.write_text(json.dumps(spec))
        self.stderr_path = work / "subject.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = popen_child([sys.executable, "-m", "forensics.lab.session_subject", str(path)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                                    cwd=str(work), text=True, bufsize=1)
        self.events: queue.Queue = queue.Queue()
        self.done = False  # its "done" event has arrived (finished)
        self.stopped_by_force: dict | None = None  # stop: killed after "done", with its stacks
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self.events.put({"ev": "eof"})

    def wait_ready(self, timeout_s: float) -> int:
        try:
            msg = self.events.get(timeout=timeout_s)
        except queue.Empty:
            raise LabRunError(f"the subject session did not start within {timeout_s:.0f} s") from None
        if msg.get("ev") != "ready" or not msg.get("port"):
            raise LabRunError(f"the subject session failed to start: {self.stderr_tail()}")
        return int(msg["port"])

    def send(self, line: str) -> None:
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def stop(self) -> None:
        """Ask the subject to finish (it writes every torrent's raw files, then says "done") and
        wait. One that has written everything but does not exit in time (libtorrent's teardown) is
        stopped by force; ``stopped_by_force`` then holds its threads' stacks for the run's record
        (each torrent's lab.json). One that has not written them fails the run with its stacks."""
        self.send("stop")
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stacks = self.thread_stacks()
            if self.finished():
                stop_process(self.proc, grace_s=3.0)
                self.stopped_by_force = {"peer": 0, "threads": stacks}
                return
            raise LabRunError(f"the subject session did not stop within {STOP_TIMEOUT_S:.0f} s and had not "
                              f"written its measurements; its threads: {stacks}") from None
        if rc != 0:
            raise LabRunError(f"the subject session exited with status {rc}: {self.stderr_tail()}")

    def finished(self) -> bool:
        """Whether its "done" event (after every raw file is written) has arrived."""
        while True:
            try:
                msg = self.events.get_nowait()
            except queue.Empty:
                return self.done
            if msg.get("ev") == "done":
                self.done = True

    def thread_stacks(self) -> str:
        """Every thread's Python stack (faulthandler on SIGUSR1, to its stderr file)."""
        try:
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
        except OSError:
            pass
        return self.stderr_tail(3000)

    def kill(self) -> None:
        stop_process(self.proc, grace_s=3.0)

    def stderr_tail(self, chars: int = 800) -> str:
        try:
            return self.stderr_path.read_text(errors="replace").strip()[-chars:] or "(no stderr)"
        except OSError:
            return "(no stderr)"


def run_session_swarms(session: Session, plans: list[RunPlan], raws: list[Path], opts: LabOptions,
                       on_progress: Callable[[float], None] = lambda t: None) -> list:
    """One lab run of the session; returns each torrent's ReplicationResult (queue order)."""
    horizon = session.simulation.horizon_s
    wall_deadline = time.monotonic() + (opts.timeout_s or horizon + 120.0)
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="leechsim-lab-session-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        layouts, hashes = [], []
        for j, (sc, plan, raw) in enumerate(zip(session.scenarios, plans, raws)):
            raw.mkdir(parents=True, exist_ok=True)
            wj = work / f"t{j:02d}"
            write_payload(sc, wj / "seed", plan.payload_seed)
            torrent = make_torrent(sc, wj / "seed", None)
            layouts.append(Layout.of(sc.torrent.piece_size, sc.torrent.file_sizes, sc.torrent.file_paths))
            hashes.append(check_layout(torrent, layouts[-1]))
            write_bytes(raw / "payload.torrent", torrent)
            (wj / "payload.torrent").write_bytes(torrent)
        subject_ip = plans[0].peers[0].ip
        tracker = stack.enter_context(Opentracker(work, subject_ip.rsplit(".", 2)[0] + ".255.1", "\n".join(hashes)))
        swarms = []
        for j, (sc, plan, raw) in enumerate(zip(session.scenarios, plans, raws)):
            others = replace(plan, peers=plan.peers[1:])
            procs = _PeerProcs(work / f"t{j:02d}", others, raw.resolve(), sc, tracker.announce_url,
                               work / f"t{j:02d}" / "seed", opts.all_blocks, opts.trace_connections)
            stack.callback(procs.kill_all)
            procs.start()
            swarms.append(procs)
        sc0 = session.scenarios[0]
        subject = _SubjectProc(work, {
            "ip": subject_ip, "out_ip": plans[0].peers[0].out_ip, "settings": subject_settings(session, plans[0]),
            "session_delay_s": plans[0].peers[0].session_delay_s,  # plan.session_delays: its ticks' phase
            "auto_managed": session.settings.auto_managed, "trace_connections": opts.trace_connections,
            "seed_time_s": plans[0].peers[0].seed_time_s if plans[0].peers[0].seed_time_s != float("inf") else None,
            "policy": {**_policy(sc0), "ratio": _policy(sc0)["ratio"] if _policy(sc0)["ratio"] != float("inf") else 1e18},
            "torrents": [{"torrent": str(work / f"t{j:02d}" / "payload.torrent"),
                          "save_path": str(work / f"t{j:02d}" / "subject"), "raw_dir": str(raws[j].resolve()),
                          "added_s": session.added_s[j], "announce_url": tracker.announce_url,
                          "announce_interval_s": float(sc.swarm.announce_interval_s)}
                         for j, sc in enumerate(session.scenarios)],
        })
        stack.callback(subject.kill)
        subject_port = subject.wait_ready(READY_TIMEOUT_S)
        ports = [s.wait_ready(READY_TIMEOUT_S) for s in swarms]
        t0 = time.time() + 0.5 + start_offset(plans[0].payload_seed)  # plan.start_offset: no tick tied to the joins
        subject.send(json.dumps({"t0": t0, "peers": []}))
        for j, s in enumerate(swarms):
            s.go(t0, [[subject_ip, subject_port, True]] + [[p.ip, ports[j][p.index], p.connectable]
                                                          for p in plans[j].peers[1:]])
        end_s = _watch(session, plans, swarms, subject, tracker, t0, wall_deadline, on_progress)
        subject.stop()
        for s in swarms:
            s.stop_all()
        for j, (plan, raw) in enumerate(zip(plans, raws)):
            # each torrent's record of how its peers ended: the subject session's process is shared
            write_json(raw / "lab.json", {
                "replication": plan.replication, "torrent": j, "t0_unix": t0, "end_s": end_s,
                "tracker_command": tracker.command, "announce_url": tracker.announce_url,
                "stopped_by_force": ([subject.stopped_by_force] if subject.stopped_by_force else [])
                + swarms[j].stopped_by_force,
            })
        results = [collect_replication(plan, layout, raw, end_s) for plan, layout, raw in zip(plans, layouts, raws)]
        if opts.trace_connections:  # each torrent's peers and the subject's side of its connections
            for plan, raw in zip(plans, raws):
                merge_connection_traces(raw, raw.parent / "connections.csv",
                                        {p.index: (p.ip, p.out_ip) for p in plan.peers})
        return results


def _watch(session: Session, plans: list[RunPlan], swarms: list[_PeerProcs], subject: _SubjectProc,
           tracker: Opentracker, t0: float, wall_deadline: float, on_progress: Callable[[float], None]) -> float:
    """Until the horizon, or every downloader of every torrent (the subject's torrents included)
    has completed or left, as the model's session ends."""
    horizon = session.simulation.horizon_s
    pending = {(j, p.index) for j, plan in enumerate(plans) for p in plan.peers if p.role != ROLE_SEED}
    left: set = set()
    all_done_at = None
    while True:
        time.sleep(0.1)
        while not subject.events.empty():
            msg = subject.events.get()
            if msg.get("ev") in ("completed", "left"):
                pending.discard((int(msg["torrent"]), 0))
            elif msg.get("ev") == "error":
                raise LabRunError(f"subject session: {msg.get('msg')}")
            elif msg.get("ev") == "eof":
                raise LabRunError(f"the subject session exited unexpectedly: {subject.stderr_tail()}")
        for j, s in enumerate(swarms):
            while not s.events.empty():
                i, msg = s.events.get()
                ev = msg.get("ev")
                if ev in ("completed", "left"):
                    pending.discard((j, i))
                    if ev == "left":
                        left.add((j, i))
                elif ev == "done":
                    s.done.add(i)
                elif ev == "error":
                    raise LabRunError(f"torrent {j}, peer {i}: {msg.get('msg')}")
                elif ev == "eof" and (j, i) not in left:
                    raise LabRunError(f"torrent {j}, peer {i} exited unexpectedly: {s.stderr_tail(i)}")
        now = time.time() - t0
        on_progress(max(0.0, now))
        if not tracker.alive():
            raise LabRunError("opentracker exited during the run")
        if time.monotonic() > wall_deadline:
            raise LabRunError(f"the session run did not finish in time (t = {now:.0f} s)")
        if all_done_at is None and not pending:
            all_done_at = now
        if now >= horizon:
            return horizon
        if all_done_at is not None and now >= all_done_at + END_GRACE_S:
            return all_done_at


def run_session_lab(path: str | Path, out: str | Path | None = None, *, runs: int = 1, seed: int | None = None,
                    options: LabOptions = LabOptions(), max_duration_s: float = MAX_EXPECTED_S, force: bool = False,
                    command: list[str] | None = None, first: int = 0,
                    on_progress: Callable[[int, float | None], None] | None = None) -> SessionRunDir:
    """Run a session file ``runs`` times in the lab into the run directory ``out``. ``first`` > 0
    runs only replications ``first`` .. ``runs - 1``, each with the seed it has in a run of ``runs``
    (the seed rule spawns replication i's seed by its index): the runs a recording of ``first``
    runs lacks (session_validation.extend_session_recording)."""
    path = Path(path)
    session, hashes, raw = load_session(path)
    if not 0 <= first < runs:
        raise UserError(f"{path}: the first run to make ({first}) must lie in 0 .. {runs - 1}")
    if options.tracker != "opentracker":
        raise UserError("a session runs in the lab with opentracker only (--tracker opentracker)")
    opentracker_path()
    seed = session.simulation.seed if seed is None else seed
    octet = base_octet_for_this_process()
    seeds = replication_seeds(seed, runs)
    all_plans = []
    for i in range(first, runs):
        plans, index = [], 1
        for j in range(len(session)):
            plans.append(plan_torrent(session, j, i, torrent_seed(seeds[i], j), octet, index))
            index += len(plans[-1].peers) - 1
        for j, plan in enumerate(plans):
            try:
                check_fits_machine(session.scenarios[j], plan.population, max_duration_s, tempfile.gettempdir())
            except UserError as e:
                raise UserError(f"{path}: run {i}, torrent {j}: {e}") from None
        if index > MAX_PEERS + 1:
            raise UserError(f"{path}: run {i} needs {index} peer processes (the subject and every torrent's "
                            f"peers); the lab runs at most {MAX_PEERS}")
        all_plans.append((i, plans))
    out = Path(out) if out else default_lab_out(session.name)
    command = command or ["leechsim", "lab", str(path), "--runs", str(runs), "--out", str(out)]
    started = utc_now()
    results = []
    with rundir.RunDirWriter(out, force=force) as w:
        for i, plans in all_plans:
            raws = [w.stage / "torrents" / f"{j:02d}" / "replications" / f"{i:04d}" / "raw" for j in range(len(plans))]
            try:
                per = run_session_swarms(session, plans, raws, options,
                                         (lambda t, i=i: on_progress(i, t)) if on_progress else (lambda t: None))
            except LabRunError as e:
                raise LabRunFailed(i, str(e)) from None
            results.append(SessionResult(i, per, session_totals(per)))
            if on_progress:
                on_progress(i, None)
        write_session_inputs(w.stage, raw, path, session)
        summary = write_session_results(w.stage, session, results)
        write_json(w.stage / rundir.MANIFEST, rundir.manifest(
            "lab-session", command, hashlib.sha256(raw).hexdigest(), started, session_file=str(path),
            session_name=session.name, input_sha256=hashes, torrents=list(session.labels), replications=runs - first,
            **({"first_replication": first} if first else {}), master_seed=seed, seed_rule=SEED_RULE + "; torrent j of it: sim.session.torrent_seed",
            lab={"tracker": "opentracker", "versions": lab_versions(), "timeout_s": options.timeout_s,
                 "session_phases": SESSION_PHASES,
                 "all_blocks": options.all_blocks, "trace_connections": options.trace_connections,
                 "peer_process_model": "the subject: one OS process, one libtorrent session holding every torrent; "
                                       "every other peer: one process and one session per peer"}))
        published = w.publish()
    return SessionRunDir(published, session, summary)
