"""The coordinator: one real swarm on loopback for one run, from start to guaranteed cleanup.

Every peer is its own process with its own libtorrent session (peer.py): a Python loop per peer
then never waits for another peer's Python code (the GIL), and a peer's death is contained. The
coordinator owns everything it starts — the temporary directory, opentracker, the peer processes —
in one ``ExitStack``, so success, an error, Ctrl-C and a timeout all unwind the same way.

The swarm ends, like the simulator's, at the horizon or as soon as no arrival is pending and every
downloader has completed or left (nothing the subject could still upload to).
"""

from __future__ import annotations

import json
import math
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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from sim.layout import Layout
from sim.results import ROLE_SEED, ReplicationResult
from sim.scenario import Scenario

from ..atomic import write_bytes, write_json
from .capture import LoopbackCapture
from .errors import LabRunError, LabTimeout
from .measure import collect_replication
from .payload import check_layout, make_torrent, write_payload
from .peerlog import PEER_LOG_FILE, merge_peer_logs
from .plan import RunPlan, finite_or_none, start_offset
from .procs import popen_child, stop_process
from .trace import merge_connection_traces
from .tracker import Opentracker

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
END_GRACE_S = 1.0  # after the last completion: let the last samples land
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SwarmProgress:
    peers: int
    downloaders: int
    joined: int = 0
    completed: int = 0
    left: int = 0
    bytes_moved: int = 0
    t_s: float = 0.0
    horizon_s: float = 0.0


@dataclass(frozen=True)
class LabOptions:
    tracker: str = "opentracker"  # or "none": direct connects, explicitly asked for
    timeout_s: float | None = None  # wall-clock limit per run; default horizon + 120 s
    all_blocks: bool = False  # every peer logs the blocks it uploads (raw/peer-NNNN-blocks.csv)
    trace_connections: bool = False  # every peer samples get_peer_info() every 100 ms (trace.py)
    pcap: bool = False  # tcpdump the run's addresses and ports into raw/capture.pcap (capture.py)
    utp: bool | None = None  # None: each session's uTP as its scenario says; True/False: on/off for all
    save_resume: bool = False  # every peer writes raw/peer-NNNN.fastresume at the end (write_resume_data)
    peer_log: bool = False  # every peer keeps libtorrent's per-connection log (peerlog.py)


def utp_settings(on: bool) -> dict:
    return {"enable_outgoing_utp": on, "enable_incoming_utp": on}


def run_swarm(sc: Scenario, plan: RunPlan, layout: Layout, raw_dir: Path, opts: LabOptions,
              on_progress: Callable[[SwarmProgress], None] = lambda p: None) -> ReplicationResult:
    raw_dir = raw_dir.resolve()  # the peers run in their own working directory: give them an absolute path
    raw_dir.mkdir(parents=True, exist_ok=True)
    timeout_s = opts.timeout_s if opts.timeout_s is not None else sc.simulation.horizon_s + 120.0
    wall_deadline = time.monotonic() + timeout_s
    if opts.utp is not None:
        forced = utp_settings(opts.utp)
        plan = replace(plan, peers=tuple(replace(p, settings={**p.settings, **forced}) for p in plan.peers))
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="leechsim-lab-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        seed_dir = work / "seed"
        write_payload(sc, seed_dir, plan.payload_seed)
        torrent = make_torrent(sc, seed_dir, None)
        info_hash = check_layout(torrent, layout)
        write_bytes(raw_dir / "payload.torrent", torrent)
        (work / "payload.torrent").write_bytes(torrent)

        announce_url = None
        tracker = None
        if opts.tracker == "opentracker":
            tracker = stack.enter_context(Opentracker(work, plan.peers[0].ip.rsplit(".", 2)[0] + ".255.1", info_hash))
            announce_url = tracker.announce_url

        peers = _PeerProcs(work, plan, raw_dir, sc, announce_url, seed_dir, opts.all_blocks, opts.trace_connections,
                           opts.save_resume, opts.peer_log)
        stack.callback(peers.kill_all)
        peers.start()
        ports = peers.wait_ready(min(READY_TIMEOUT_S, max(1.0, wall_deadline - time.monotonic())))
        capture = None
        if opts.pcap:  # started once the listen ports are known, before the peers are told to go
            capture = stack.enter_context(LoopbackCapture(
                raw_dir / "capture.pcap", plan.peers[0].ip.rsplit(".", 2)[0],
                sorted(set(ports.values()) | ({tracker.port} if tracker else set()))))
        t0 = time.time() + 0.5 + start_offset(plan.payload_seed)  # plan.start_offset: no tick tied to the joins
        peers.go(t0, [[p.ip, ports[p.index], p.connectable] for p in plan.peers])
        end_s = _watch(sc, plan, peers, tracker, t0, wall_deadline, on_progress)
        peers.stop_all()
        if capture is not None:
            capture.stop()
        missing = [p.index for p in plan.peers if not (raw_dir / f"peer-{p.index:04d}.json").is_file()]
        if missing:
            raise LabRunError(f"peer(s) {missing} wrote no measurements into {raw_dir}")
        result = collect_replication(plan, layout, raw_dir, end_s)
        if opts.trace_connections:
            merge_connection_traces(raw_dir, raw_dir.parent / "connections.csv",
                                    {p.index: (p.ip, p.out_ip) for p in plan.peers})
        if opts.peer_log:
            merge_peer_logs(raw_dir, raw_dir.parent / PEER_LOG_FILE, {p.index: (p.ip, p.out_ip) for p in plan.peers})
        write_json(raw_dir / "lab.json", {
            "replication": plan.replication, "t0_unix": t0, "end_s": end_s, "info_hash_v1": info_hash,
            "tracker": opts.tracker, "announce_url": announce_url,
            "tracker_command": tracker.command if tracker else None,
            "payload_seed": plan.payload_seed,
            "peers": [{**asdict(p), "seed_time_s": finite_or_none(p.seed_time_s),
                       "leave_at_s": finite_or_none(p.leave_at_s), "listen_port": ports[p.index]}
                      for p in plan.peers],
            **result.extra,
            "stopped_by_force": peers.stopped_by_force,
            **({"capture": capture.summary()} if capture is not None else {}),
        })
        return result


def _watch(sc: Scenario, plan: RunPlan, peers: "_PeerProcs", tracker: Opentracker | None, t0: float,
           wall_deadline: float, on_progress: Callable[[SwarmProgress], None]) -> float:
    horizon = sc.simulation.horizon_s
    downloaders = {p.index for p in plan.peers if p.role != ROLE_SEED}
    prog = SwarmProgress(peers=len(plan.peers), downloaders=len(downloaders), horizon_s=horizon)
    joined, completed, left = set(), set(), set()
    down: dict[int, int] = {}
    all_done_at = None
    last_report = 0.0
    while True:
        try:
            i, msg = peers.events.get(timeout=0.2)
        except queue.Empty:
            i, msg = -1, {}
        ev = msg.get("ev")
        if ev == "joined":
            joined.add(i)
        elif ev == "completed":
            completed.add(i)
        elif ev == "left":
            left.add(i)
        elif ev in ("progress", "done"):
            down[i] = int(msg.get("down", 0))
            if ev == "done":
                peers.done.add(i)
        elif ev == "error":
            raise LabRunError(f"peer {i} ({plan.peers[i].ip}): {msg.get('msg')}")
        elif ev == "eof" and i not in left:
            raise LabRunError(f"peer {i} ({plan.peers[i].ip}) exited unexpectedly: {peers.stderr_tail(i)}")
        now = time.time() - t0
        if tracker is not None and not tracker.alive():
            raise LabRunError("opentracker exited during the run")
        if time.monotonic() > wall_deadline:
            raise LabTimeout(f"run {plan.replication} did not finish within --timeout-s "
                             f"(at t = {now:.0f} s of a {horizon:.0f} s horizon)")
        # as in the model: a downloader that left before completing is no longer waited for
        if all_done_at is None and downloaders <= completed | left:
            all_done_at = now
        if now - last_report >= 0.25 or ev in ("joined", "completed"):
            prog.joined, prog.completed, prog.left = len(joined), len(completed & downloaders), len(left)
            prog.bytes_moved, prog.t_s = sum(down.values()), max(0.0, now)
            on_progress(prog)
            last_report = now
        if now >= horizon:
            return horizon
        if all_done_at is not None and now >= all_done_at + END_GRACE_S:
            return all_done_at


class _PeerProcs:
    """The peer processes of one run and their stdout event stream."""

    def __init__(self, work: Path, plan: RunPlan, raw_dir: Path, sc: Scenario, announce_url: str | None,
                 seed_dir: Path, all_blocks: bool = False, trace_connections: bool = False,
                 save_resume: bool = False, peer_log: bool = False) -> None:
        self.work, self.plan, self.raw_dir, self.sc = work, plan, raw_dir, sc
        self.all_blocks, self.trace_connections = all_blocks, trace_connections
        self.save_resume = save_resume
        self.peer_log = peer_log
        self.announce_url, self.seed_dir = announce_url, seed_dir
        self.procs: list[subprocess.Popen] = []
        self.events: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.done: set[int] = set()  # peers that wrote their measurements ("done" event)
        self.stopped_by_force: list[dict] = []  # stop_all: peers killed after "done"

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        for p in self.plan.peers:
            save = self.seed_dir if p.role == ROLE_SEED else self.work / f"peer-{p.index:04d}"
            spec = {
                "index": p.index, "role": p.role, "ip": p.ip, "out_ip": p.out_ip, "join_s": p.join_s,
                "session_delay_s": p.session_delay_s,
                "seed_time_s": finite_or_none(p.seed_time_s), "leave_at_s": finite_or_none(p.leave_at_s),
                "connectable": p.connectable,
                "settings": p.settings, "torrent": str(self.work / "payload.torrent"), "save_path": str(save),
                "raw_dir": str(self.raw_dir), "tracker": self.announce_url is not None,
                "announce_url": self.announce_url,
                "announce_interval_s": float(self.sc.swarm.announce_interval_s),
                "peer_list_size": int(self.sc.swarm.peer_list_size),
                "direct_seed": self.plan.payload_seed + p.index,
                "policy": _policy(self.sc) if p.role == 0 else {"kind": "seed_time"},
                "all_blocks": self.all_blocks,
                "trace_connections": self.trace_connections,
                "save_resume": self.save_resume,
                "peer_log": self.peer_log,
            }
            spec_path = self.work / f"peer-{p.index:04d}.spec.json"
            spec_path.write_text(json.dumps(spec))
            err = open(self.work / f"peer-{p.index:04d}.stderr", "wb")
            proc = popen_child([sys.executable, "-m", "forensics.lab.peer", str(spec_path)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                               cwd=str(self.work), text=True, bufsize=1)
            err.close()
            self.procs.append(proc)
            t = threading.Thread(target=self._read, args=(p.index, proc), daemon=True)
            t.start()
            self.threads.append(t)

    def _read(self, i: int, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                self.events.put((i, json.loads(line)))
            except json.JSONDecodeError:
                continue
        self.events.put((i, {"ev": "eof"}))

    def wait_ready(self, timeout_s: float) -> dict[int, int]:
        ports: dict[int, int] = {}
        deadline = time.monotonic() + timeout_s
        while len(ports) < len(self.procs):
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabRunError(f"only {len(ports)} of {len(self.procs)} peers started within {timeout_s:.0f} s")
            try:
                i, msg = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if msg.get("ev") == "ready":
                if not msg.get("port"):
                    raise LabRunError(f"peer {i} could not listen on {self.plan.peers[i].ip}")
                ports[i] = int(msg["port"])
            elif msg.get("ev") in ("eof", "error"):
                raise LabRunError(f"peer {i} failed to start: {msg.get('msg') or self.stderr_tail(i)}")
        return ports

    def go(self, t0: float, peers: list) -> None:
        line = json.dumps({"t0": t0, "peers": peers}) + "\n"
        for proc in self.procs:
            proc.stdin.write(line)
            proc.stdin.flush()

    def stop_all(self) -> None:
        """Ask every peer to finish (it writes its raw files), wait, and check they all did.

        A peer that has written everything (its "done" event comes after its raw files and its
        session's pause) but whose process does not exit in time — libtorrent's teardown at
        interpreter exit — is stopped by force and named in ``stopped_by_force`` with its threads'
        stacks (lab.json): its measurements are whole. One that has not is a failed run, and the
        error shows where its threads were."""
        for proc in self.procs:
            try:
                if proc.poll() is None:
                    proc.stdin.write("stop\n")
                    proc.stdin.flush()
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p, proc in zip(self.plan.peers, self.procs):
            i = p.index  # the peer's own number (its events, stderr file and lab.json name it so)
            try:
                rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stacks = self.thread_stacks(i, proc)
                if i in self.finished():
                    stop_process(proc, grace_s=3.0)
                    self.stopped_by_force.append({"peer": i, "threads": stacks})
                    continue
                raise LabRunError(f"peer {i} did not stop within {STOP_TIMEOUT_S:.0f} s and had not written "
                                  f"its measurements; its threads: {stacks}") from None
            if rc != 0:
                raise LabRunError(f"peer {i} exited with status {rc}: {self.stderr_tail(i)}")
        for t in self.threads:
            t.join(timeout=2)

    def finished(self) -> set[int]:
        """The peers whose "done" event has arrived (read from the event stream, after _watch)."""
        while True:
            try:
                i, msg = self.events.get_nowait()
            except queue.Empty:
                return self.done
            if msg.get("ev") == "done":
                self.done.add(i)

    def thread_stacks(self, i: int, proc: subprocess.Popen) -> str:
        """Every thread's Python stack of a peer that will not stop (faulthandler on SIGUSR1, to
        its stderr file): where it hangs, for the run's record."""
        try:
            proc.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
        except OSError:
            pass
        return self.stderr_tail(i, 3000)

    def kill_all(self) -> None:
        for proc in self.procs:
            try:
                proc.stdin.close()
            except (OSError, ValueError):
                pass
        for proc in self.procs:
            stop_process(proc, grace_s=3.0)
            if proc.stdout:
                try:
                    proc.stdout.close()
                except (OSError, ValueError):
                    pass

    def stderr_tail(self, i: int, chars: int = 800) -> str:
        try:
            text = (self.work / f"peer-{i:04d}.stderr").read_text(errors="replace").strip()
        except OSError:
            return "(no stderr)"
        return text[-chars:] or "(no stderr)"


def _policy(sc: Scenario) -> dict:
    s = sc.subject
    return {"kind": s.on_complete, "seed_for_s": s.seed_for_s,
            "ratio": s.seed_until_ratio if s.seed_until_ratio is not None else math.inf}
