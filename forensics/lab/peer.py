"""One lab peer: a real libtorrent session in its own process (``python -m forensics.lab.peer SPEC``).

Protocol with the coordinator (swarm.py), one JSON object per line:
- stdout: ``ready`` (with the listen port), ``joined``, ``progress`` (about once a second),
  ``completed``, ``left``, ``done`` (raw files written), ``error``.
- stdin: first line ``{"t0": <unix time of swarm start>, "peers": [[ip, port, connectable], ...]}``;
  then ``stop`` — or end of file, which also means stop (the coordinator is gone).

Measurements are written to the replication's ``raw/`` directory: ``peer-NNNN.json`` (times,
totals, the exact settings the session ran with, connection counts) and
``peer-NNNN-samples.csv`` (payload up/down every 0.5 s); the subject also writes
``subject-blocks.csv``, one row per ``block_uploaded_alert`` — and, with ``--all-blocks``, every
other peer the same as ``peer-NNNN-blocks.csv``. With ``trace_connections``, every peer samples
``get_peer_info()`` every 100 ms into ``peer-NNNN-connections.csv.gz`` (trace.py). With
``save_resume``, every peer asks libtorrent for its resume data at the end and writes it with
libtorrent's own ``write_resume_data_buf`` as ``peer-NNNN.fastresume``, as a client would.

Times are seconds since t0 on the wall clock, which all processes share; alert times are
libtorrent's own alert timestamps.
"""

from __future__ import annotations

import faulthandler
import json
import math
import random
import resource
import signal
import sys
import threading
import time
from pathlib import Path

from sim.protocol import BLOCK_BYTES

from ..traces import BLOCK_LOG_COLUMNS  # the subject's and (--all-blocks) every other peer's block log
from .peerlog import PEER_LOG_ALERT_QUEUE, parse_message, raw_log_path, write_raw_log
from .sent import SENT_COLUMNS, SENT_FILE, SentCounter, read_connections
from .trace import TRACE_INTERVAL_S, ConnectionSampler

SAMPLE_INTERVAL_S = 0.5
DRAIN_AFTER_PAUSE_S = 1.0


def stop_on_stdin(stop: threading.Event) -> None:
    """Set ``stop`` when the parent writes "stop" to our stdin or closes it (the parent died)."""
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop.set()


def emit(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"ev": event, **fields}) + "\n")
    sys.stdout.flush()


class Peer:
    def __init__(self, spec: dict) -> None:
        import libtorrent as lt

        self.lt = lt
        self.spec = spec
        self.index = spec["index"]
        self.is_subject = spec["role"] == 0
        self.is_seed = spec["role"] == 1
        settings = dict(spec["settings"])
        cat = lt.alert_category
        mask = cat.status | cat.error | cat.tracker | cat.connect | cat.peer  # peer: incoming_connection_alert
        self.log_blocks = self.is_subject or bool(spec.get("all_blocks"))
        if self.log_blocks:
            mask |= cat.upload
        # --peer-log: libtorrent's own per-connection log (peerlog.py), in a queue that keeps it whole
        self.peer_log: list[tuple] | None = [] if spec.get("peer_log") else None
        if self.peer_log is not None:
            mask |= cat.peer_log
            settings["alert_queue_size"] = max(int(settings.get("alert_queue_size", 0)), PEER_LOG_ALERT_QUEUE)
        self.alerts_dropped = 0
        settings["alert_mask"] = int(mask)
        # the plan's wait before the session exists: it sets the phase of the session's quota ticks
        # (plan.session_delays); when the session was created is kept with the run's raw files
        time.sleep(float(spec.get("session_delay_s", 0.0)))
        self.ses = lt.session(settings)
        self.session_created_unix = time.time()
        # The localhost trap: 127/8 peers land in libtorrent's "local" peer class, which ignores
        # rate limits and unchoke slots. Map every address to the global class instead.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        self.ses.set_peer_class_filter(f)
        self.applied_settings = {k: v for k, v in self.ses.get_settings().items() if not isinstance(v, bytes)}
        self.stop = threading.Event()
        self.handle = None
        self.active = False
        self.t0 = 0.0
        self.join_s = self.complete_s = self.leave_s = math.nan
        # when libtorrent's network thread acted on the application's pause (torrent_paused_alert's
        # time): bytes the transport was granted before it may still leave after leave_s (docs/lab.md)
        self.paused_s = math.nan
        self.samples: list[tuple[float, int, int]] = []
        self.blocks: list[tuple[float, str, int, int, int]] = []
        self.last_up = self.last_down = 0
        self.up_at_complete = self.down_at_complete = None
        # subject: payload bytes sent per connected peer (peer_info.total_upload), by moment
        self.sent_per_peer: dict[str, dict[str, int]] = {}
        # what may still move after this peer's totals are last read (docs/lab.md, conservation)
        self.in_flight: dict[str, int] | None = None
        self.incoming: dict[str, int] = {}
        self.tracker_replies = 0
        self.tracker_errors: list[str] = []
        self.errors: list[str] = []
        self.clock = "alert"
        self.policy = spec["policy"]
        self.tracer = None
        # subject: each connection's payload counter, read every 100 ms and just before a pause;
        # the block log is cut to it (sent.py: a block_uploaded_alert is a block queued, not sent)
        self.sent = SentCounter() if self.is_subject else None
        if spec.get("trace_connections"):
            self.tracer = ConnectionSampler(lt, Path(spec["raw_dir"]), self.index)
        self.trace_stats = None
        self.resume_data: bytes | None = None
        self.resume_error: str | None = None

    # ----- time -----------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() - self.t0

    def alert_t(self, a) -> float:
        if self.clock == "alert":
            t = a.timestamp().timestamp() - self.t0
            if abs(t - self.now()) < 5.0:
                return t
            self.clock = "pop"  # alert clock not comparable (time zone?): fall back, and say so
        return self.now()

    # ----- lifecycle ------------------------------------------------------------------------
    def run(self) -> None:
        deadline = time.monotonic() + 10.0
        while self.ses.listen_port() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # the listen socket opens asynchronously
        emit("ready", port=self.ses.listen_port())
        go = json.loads(sys.stdin.readline() or "null")
        if go is None:
            return
        self.t0 = float(go["t0"])
        self.peer_addrs = [tuple(p) for p in go.get("peers", [])]
        threading.Thread(target=stop_on_stdin, args=(self.stop,), daemon=True).start()
        while not self.stop.is_set() and self.now() < self.spec["join_s"]:
            self.stop.wait(min(0.05, max(0.0, self.spec["join_s"] - self.now())))
        if not self.stop.is_set():
            self._join()
            self._loop()
        self._finish()


    def _join(self) -> None:
        lt = self.lt
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(self.spec["torrent"])
        p.save_path = self.spec["save_path"]
        if self.spec["announce_url"]:
            p.trackers = [self.spec["announce_url"]]
        flags = p.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
        if self.is_seed:
            flags |= lt.torrent_flags.seed_mode
        p.flags = flags
        self.handle = self.ses.add_torrent(p)
        self.active = True
        self.join_s = self.now()
        self.next_announce = self.join_s + self.spec["announce_interval_s"]
        self._direct_connect()
        emit("joined", t=self.join_s)

    def _direct_connect(self) -> None:
        """--tracker none: connect to (at most peer_list_size) connectable peers directly."""
        if self.spec["tracker"] or not self.peer_addrs:
            return
        cands = [(ip, port) for ip, port, conn in self.peer_addrs if conn and ip != self.spec["ip"]]
        rnd = random.Random(self.spec["direct_seed"])
        rnd.shuffle(cands)
        for ip, port in cands[: self.spec["peer_list_size"]]:
            self.handle.connect_peer((ip, int(port)))

    def _loop(self) -> None:
        next_sample = self.now()
        next_progress = self.now()
        next_trace = self.now()
        while not self.stop.is_set():
            reads = self.tracer is not None or self.sent is not None
            wait_ms = max(0, min(100, int((next_trace - self.now()) * 1000))) if reads else 100
            self.ses.wait_for_alert(wait_ms)
            self._alerts()
            t = self.now()
            if reads and self.active and t >= next_trace:
                self._read_connections(t)
                next_trace += TRACE_INTERVAL_S
                if next_trace < t:  # fell behind: do not burst
                    next_trace = t + TRACE_INTERVAL_S
            leave_at = self.spec.get("leave_at_s")
            if self.active and leave_at is not None and t >= leave_at:
                self._leave()  # an absolute leave time (explicit peers): whatever its state
                break
            if self.active and t >= next_sample:
                self._sample()
                next_sample += SAMPLE_INTERVAL_S
                if next_sample < t:  # fell behind (never by design): do not burst
                    next_sample = t + SAMPLE_INTERVAL_S
                self._policy()
            if self.active and t >= self.next_announce:
                self.next_announce += self.spec["announce_interval_s"]
                if self.spec["tracker"]:
                    self.handle.force_reannounce(0, -1, self.lt.torrent_handle.ignore_min_interval)
                else:
                    self._direct_connect()
            if t >= next_progress:
                emit("progress", t=t, up=self.last_up, down=self.last_down)
                next_progress += 1.0
            if not self.active:
                break

    def _read_connections(self, t: float, infos=None) -> None:
        """The connection trace's sample and the subject's per-connection sent counts, from one read
        (``infos``: get_peer_info()'s answer when the caller has it already)."""
        if self.tracer is None and self.sent is None:
            return
        if infos is None:
            infos = self.handle.get_peer_info()
        if self.tracer is not None:
            self.tracer.sample(t, self.handle, infos)
        if self.sent is not None:  # the torrent's counter and the connections again (sent.py)
            read_connections(self.sent, self.handle, t, infos)

    def _read_in_flight(self, infos) -> None:
        """Bound what may still move after the last read of this peer's totals, from its connections
        just before that read. Requested of others: every block its connections have asked for and
        not fully received (``download_queue_length``: requests sent and still to send) — a sender
        counts a block once it is written to the socket, this peer only once it has read it, so
        blocks in the transport when the torrent pauses count as sent and never as received.
        Requested of it: the blocks it owes (``upload_queue_length``) and what is already in its send
        buffer (``used_send_buffer``), which it counts only when the socket takes them."""
        req_others = req_it = 0
        for pi in infos:
            req_others += int(pi.download_queue_length) * BLOCK_BYTES
            req_it += int(pi.upload_queue_length) * BLOCK_BYTES + int(pi.used_send_buffer)
        self.in_flight = {"requested_of_others_bytes": req_others, "requested_of_it_bytes": req_it}

    def _sample(self) -> None:
        st = self.handle.status()
        self.last_up, self.last_down = int(st.total_payload_upload), int(st.total_payload_download)
        self.samples.append((self.now(), self.last_up, self.last_down))

    def _alerts(self) -> None:
        lt = self.lt
        finished_at = None
        # Alerts are only valid until libtorrent pops alerts again, which acting on completion
        # (pausing the torrent) may do: read the whole batch first, act on completion after it.
        for a in self.ses.pop_alerts():
            if isinstance(a, lt.block_uploaded_alert):
                self.blocks.append((self.alert_t(a), a.ip[0], int(a.piece_index), int(a.block_index), int(a.ip[1])))
            elif self.peer_log is not None and isinstance(a, lt.peer_log_alert):
                line = parse_message(a.message())
                if line is not None:
                    self.peer_log.append((f"{self.alert_t(a):.6f}", a.ip[0], int(a.ip[1]), *line))
            elif isinstance(a, lt.alerts_dropped_alert):
                self.alerts_dropped += 1
            elif isinstance(a, lt.torrent_paused_alert):
                if not self.active and not math.isnan(self.leave_s) and math.isnan(self.paused_s):
                    self.paused_s = self.alert_t(a)
            elif isinstance(a, lt.torrent_finished_alert):
                if not self.is_seed and math.isnan(self.complete_s) and finished_at is None:
                    finished_at = self.alert_t(a)
            elif isinstance(a, lt.incoming_connection_alert):
                ip = a.ip[0]
                if ip not in (self.spec["ip"], self.spec["out_ip"]):  # a self-connection (own address from the tracker) is not a peer
                    self.incoming[ip] = self.incoming.get(ip, 0) + 1
            elif isinstance(a, lt.save_resume_data_alert):
                self.resume_data = lt.write_resume_data_buf(a.params)
            elif isinstance(a, lt.save_resume_data_failed_alert):
                self.resume_error = a.message()
            elif isinstance(a, lt.tracker_reply_alert):
                self.tracker_replies += 1
            elif isinstance(a, lt.tracker_error_alert):
                self.tracker_errors.append(a.message())
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.listen_failed_alert)):
                self.errors.append(a.message())
                emit("error", msg=a.message())
        if finished_at is not None:
            self._on_finished(finished_at)

    def _record_sent_per_peer(self, moment: str) -> None:
        if self.is_subject:
            per_ip: dict[str, int] = {}
            for pi in self.handle.get_peer_info():
                per_ip[pi.ip[0]] = per_ip.get(pi.ip[0], 0) + int(pi.total_upload)
            self.sent_per_peer[moment] = per_ip

    def _on_finished(self, t: float) -> None:
        self.complete_s = t
        self._record_sent_per_peer("at_complete")
        st = self.handle.status()
        self.up_at_complete, self.down_at_complete = int(st.total_payload_upload), int(st.total_payload_download)
        self.last_up, self.last_down = self.up_at_complete, self.down_at_complete
        self.samples.append((self.now(), self.last_up, self.last_down))
        emit("completed", t=t)
        if self.spec["seed_time_s"] == 0:
            self._leave()  # "stop at completion": the application pauses on torrent_finished_alert

    def _policy(self) -> None:
        if math.isnan(self.complete_s):
            return
        seed_time = self.spec["seed_time_s"]
        if seed_time is not None and self.now() >= self.complete_s + seed_time:
            self._leave()
        elif (self.policy["kind"] == "seed_until_ratio" and self.last_down > 0
              and self.last_up >= self.policy["ratio"] * self.last_down):
            self._leave()

    def _leave(self) -> None:
        """Stop the torrent now (pause disconnects every peer at once), then drain the alerts
        that were already queued: blocks placed in send buffers before the pause took effect."""
        if not self.active:
            return
        # each connection's last totals, just before the torrent's: a stats tick between them adds, never removes
        infos = self.handle.get_peer_info()
        self._read_connections(self.now(), infos)
        self._read_in_flight(infos)
        self._sample()  # totals are reset by a pause: read them first
        self._record_sent_per_peer("at_leave")
        self.handle.pause()
        self.active = False
        self.leave_s = self.now()
        deadline = time.monotonic() + DRAIN_AFTER_PAUSE_S
        while time.monotonic() < deadline:
            self.ses.wait_for_alert(100)
            self._alerts()
        emit("left", t=self.leave_s)

    def _finish(self) -> None:
        if self.active:
            self._alerts()
            infos = self.handle.get_peer_info()
            self._read_connections(self.now(), infos)
            self._read_in_flight(infos)
            self._sample()
            self._record_sent_per_peer("at_end")
        if self.tracer is not None:
            self.trace_stats = self.tracer.close()
        if self.spec.get("save_resume") and self.handle is not None:
            self._save_resume()
        self._write_raw()
        try:
            self.ses.pause()
        finally:
            emit("done", up=self.last_up, down=self.last_down)

    def _save_resume(self) -> None:
        """What a client does on exit: ask for the resume data, wait for it, write it as libtorrent does."""
        self.handle.save_resume_data(self.lt.torrent_handle.save_info_dict)
        deadline = time.monotonic() + 10.0
        while self.resume_data is None and self.resume_error is None and time.monotonic() < deadline:
            self.ses.wait_for_alert(100)
            self._alerts()
        if self.resume_data is None:
            self.errors.append(f"save_resume_data: {self.resume_error or 'no answer within 10 s'}")
            return
        from ..atomic import write_bytes
        write_bytes(Path(self.spec["raw_dir"]) / f"peer-{self.index:04d}.fastresume", self.resume_data)

    def _write_raw(self) -> None:
        from ..atomic import write_csv, write_json

        raw = Path(self.spec["raw_dir"])
        name = f"peer-{self.index:04d}"
        gaps = [b[0] - a[0] for a, b in zip(self.samples, self.samples[1:])]
        write_json(raw / f"{name}.json", {
            "index": self.index, "role": self.spec["role"], "ip": self.spec["ip"], "out_ip": self.spec["out_ip"],
            "listen_port": self.ses.listen_port(),
            "planned_join_s": self.spec["join_s"], "join_s": self.join_s,
            # when the session was created, on the run's clock (its quota ticks fall every tick
            # interval from about then: plan.session_delays), and the wait that placed it
            "session_created_s": self.session_created_unix - self.t0,
            "session_delay_s": float(self.spec.get("session_delay_s", 0.0)),
            "complete_s": self.complete_s, "leave_s": self.leave_s, "paused_s": self.paused_s,
            "uploaded_bytes": self.last_up, "downloaded_bytes": self.last_down,
            "uploaded_at_complete_bytes": self.up_at_complete,
            "in_flight_at_last_read": self.in_flight,
            "downloaded_at_complete_bytes": self.down_at_complete,
            "upload_limit_bps": self.spec["settings"]["upload_rate_limit"],
            "download_limit_bps": self.spec["settings"]["download_rate_limit"],
            "connectable": self.spec["connectable"], "seed_time_s": self.spec["seed_time_s"],
            "incoming_connections": self.incoming,
            "sent_per_connected_peer_bytes": self.sent_per_peer,
            "tracker_replies": self.tracker_replies, "tracker_errors": self.tracker_errors[-20:],
            "errors": self.errors, "clock": self.clock,
            "max_sample_gap_s": max(gaps) if gaps else None,
            # this process's CPU (Python and libtorrent's threads) up to writing its raw files
            "cpu_user_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime,
            "cpu_system_s": resource.getrusage(resource.RUSAGE_SELF).ru_stime,
            "connection_trace": self.trace_stats,
            "alerts_dropped": self.alerts_dropped,  # alerts_dropped_alert posts (0: every alert read)
            "settings": self.applied_settings,
        })
        write_csv(raw / f"{name}-samples.csv", ("t_s", "uploaded_bytes", "downloaded_bytes"), self.samples)
        if self.is_subject:
            write_csv(raw / "subject-blocks.csv", BLOCK_LOG_COLUMNS, self.blocks)
            write_csv(raw / SENT_FILE, SENT_COLUMNS, self.sent.rows())
        elif self.log_blocks:
            write_csv(raw / f"{name}-blocks.csv", BLOCK_LOG_COLUMNS, self.blocks)
        if self.peer_log is not None:
            write_raw_log(raw_log_path(raw, self.index), self.peer_log)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(143)


def main(argv: list[str]) -> int:
    # The coordinator stops us (stdin "stop"/EOF, or SIGTERM); a terminal Ctrl-C is its business.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # the coordinator asks for every thread's stack (to our stderr file) when we do not stop in time
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    spec = json.loads(Path(argv[0]).read_text())
    try:
        Peer(spec).run()
    except SystemExit:
        raise
    except BaseException as e:  # report, then fail: the coordinator turns it into a run error
        emit("error", msg=f"{type(e).__name__}: {e}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
