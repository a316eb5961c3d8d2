"""The lab's subject session: one real libtorrent session holding several torrents
(``python -m forensics.lab.session_subject SPEC``), for ``leechsim lab SESSION_FILE``.

Same line protocol as peer.py (``ready``, ``joined``/``completed``/``left`` — here with the
torrent's number — ``progress``, ``done``, ``error``; stdin: the go line, then ``stop``). Each
torrent is added at its ``added_s`` as libtorrent adds it by default — auto-managed and paused —
so libtorrent's own queue (active_downloads, active_seeds, active_limit) decides when it runs;
the session's choker, rate limits and connection limit are libtorrent's own, session-wide.

For each torrent the process writes, into that torrent's ``raw/`` directory, exactly the files a
one-torrent subject writes (``peer-0000.json``, ``peer-0000-samples.csv``, ``subject-blocks.csv``),
so measure.py reads each torrent as a one-torrent run. ``join_s`` is when the queue started the
torrent (first seen unpaused), as the model's subject joins when the queue starts it.
"""

from __future__ import annotations

import faulthandler
import json
import math
import resource
import signal
import sys
import threading
import time
from pathlib import Path

from ..traces import BLOCK_LOG_COLUMNS
from .peer import DRAIN_AFTER_PAUSE_S, SAMPLE_INTERVAL_S, emit, stop_on_stdin
from .sent import SENT_COLUMNS, SENT_FILE, SentCounter, read_connections
from .trace import TRACE_INTERVAL_S as READ_INTERVAL_S  # each connection's sent count, as often as peer.py
from .trace import ConnectionSampler


class _Torrent:
    """One torrent's bookkeeping in the subject session."""

    def __init__(self, j: int, spec: dict) -> None:
        self.j, self.spec = j, spec
        self.handle = None
        self.added = self.active = False
        self.join_s = self.complete_s = self.leave_s = math.nan
        self.samples: list[tuple[float, int, int]] = []
        self.blocks: list[tuple[float, str, int, int, int]] = []
        self.sent = SentCounter()  # each connection's payload counter (sent.py)
        self.last_up = self.last_down = 0
        self.up_at_complete = self.down_at_complete = None
        self.next_announce = math.inf
        self.tracer: ConnectionSampler | None = None  # with trace_connections: this torrent's trace (trace.py)


class SessionSubject:
    def __init__(self, spec: dict) -> None:
        import libtorrent as lt

        self.lt, self.spec = lt, spec
        settings = dict(spec["settings"])
        cat = lt.alert_category
        settings["alert_mask"] = int(cat.status | cat.error | cat.tracker | cat.upload)
        time.sleep(float(spec.get("session_delay_s", 0.0)))  # the phase of its quota ticks (plan.session_delays)
        self.ses = lt.session(settings)
        self.session_created_unix = time.time()
        f = lt.ip_filter()  # the localhost trap (peer.py): every address in the global peer class
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        self.ses.set_peer_class_filter(f)
        self.applied_settings = {k: v for k, v in self.ses.get_settings().items() if not isinstance(v, bytes)}
        self.torrents = [_Torrent(j, t) for j, t in enumerate(spec["torrents"])]
        if spec.get("trace_connections"):  # each torrent's connections, into its own raw/ as peer 0's
            for tor in self.torrents:
                tor.tracer = ConnectionSampler(lt, Path(tor.spec["raw_dir"]), 0)
        self.by_hash: dict[str, _Torrent] = {}
        self.stop = threading.Event()
        self.t0 = 0.0
        self.errors: list[str] = []
        self.drain_until = 0.0  # time.monotonic() until which a stopped torrent's last block alerts may come

    def now(self) -> float:
        return time.time() - self.t0

    def run(self) -> None:
        deadline = time.monotonic() + 10.0
        while self.ses.listen_port() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        emit("ready", port=self.ses.listen_port())
        go = json.loads(sys.stdin.readline() or "null")
        if go is None:
            return
        self.t0 = float(go["t0"])
        threading.Thread(target=stop_on_stdin, args=(self.stop,), daemon=True).start()
        next_sample = next_progress = next_read = 0.0
        while not self.stop.is_set():
            self.ses.wait_for_alert(max(0, min(100, int((next_read - self.now()) * 1000))))
            t = self.now()
            for tor in self.torrents:
                if not tor.added and t >= tor.spec["added_s"]:
                    self._add(tor)
            self._alerts()
            for tor in self.torrents:
                self._update(tor, t)
            if t >= next_read:
                for tor in self.torrents:
                    if tor.active:
                        infos = read_connections(tor.sent, tor.handle, t)
                        if tor.tracer is not None:
                            tor.tracer.sample(t, tor.handle, infos)
                next_read = max(next_read + READ_INTERVAL_S, t)
            if t >= next_sample:
                for tor in self.torrents:
                    if tor.active:
                        self._sample(tor)
                        self._policy(tor)
                next_sample = max(next_sample + SAMPLE_INTERVAL_S, t)
            if t >= next_progress:
                emit("progress", t=t, up=sum(x.last_up for x in self.torrents),
                     down=sum(x.last_down for x in self.torrents))
                next_progress += 1.0
        self._finish()


    def _add(self, tor: _Torrent) -> None:
        """Added as a client adds it by default — auto-managed and paused, at the queue's end — or,
        with ``auto_managed`` false, started at once outside the queue (as peer.py adds its torrent)."""
        lt = self.lt
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(tor.spec["torrent"])
        p.save_path = tor.spec["save_path"]
        p.trackers = [tor.spec["announce_url"]]
        queue_flags = lt.torrent_flags.auto_managed | lt.torrent_flags.paused
        p.flags = ((p.flags | queue_flags) if self.spec.get("auto_managed", True) else (p.flags & ~queue_flags)) \
            & ~lt.torrent_flags.seed_mode
        tor.handle = self.ses.add_torrent(p)
        tor.added = True
        self.by_hash[str(tor.handle.info_hash())] = tor

    def _update(self, tor: _Torrent, t: float) -> None:
        """Notice the queue starting the torrent; re-announce on the scenario's interval (peer.py)."""
        if not tor.added or not math.isnan(tor.leave_s):
            return
        paused = bool(tor.handle.flags() & self.lt.torrent_flags.paused)
        if not tor.active and not paused and math.isnan(tor.join_s):
            tor.active = True
            tor.join_s = t
            tor.next_announce = t + tor.spec["announce_interval_s"]
            emit("joined", t=t, torrent=tor.j)
        if tor.active and t >= tor.next_announce:
            tor.next_announce += tor.spec["announce_interval_s"]
            tor.handle.force_reannounce(0, -1, self.lt.torrent_handle.ignore_min_interval)

    def _alerts(self) -> None:
        lt = self.lt
        finished = []
        for a in self.ses.pop_alerts():
            if isinstance(a, lt.block_uploaded_alert):
                tor = self.by_hash.get(str(a.handle.info_hash()))
                if tor is not None:
                    tor.blocks.append((self._alert_t(a), a.ip[0], int(a.piece_index), int(a.block_index),
                                       int(a.ip[1])))
            elif isinstance(a, lt.torrent_finished_alert):
                tor = self.by_hash.get(str(a.handle.info_hash()))
                if tor is not None and math.isnan(tor.complete_s):
                    finished.append((tor, self._alert_t(a)))
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.listen_failed_alert)):
                self.errors.append(a.message())
                emit("error", msg=a.message())
        for tor, t in finished:
            self._on_finished(tor, t)

    def _alert_t(self, a) -> float:
        t = a.timestamp().timestamp() - self.t0
        return t if abs(t - self.now()) < 5.0 else self.now()

    def _sample(self, tor: _Torrent) -> None:
        st = tor.handle.status()
        tor.last_up, tor.last_down = int(st.total_payload_upload), int(st.total_payload_download)
        tor.samples.append((self.now(), tor.last_up, tor.last_down))

    def _on_finished(self, tor: _Torrent, t: float) -> None:
        if math.isnan(tor.join_s):  # finished before the loop saw it start: it started at the latest now
            tor.join_s, tor.active = t, True
            emit("joined", t=t, torrent=tor.j)
        tor.complete_s = t
        self._sample(tor)
        tor.up_at_complete, tor.down_at_complete = tor.last_up, tor.last_down
        emit("completed", t=t, torrent=tor.j)
        if self.spec["seed_time_s"] == 0:
            self._leave(tor)

    def _policy(self, tor: _Torrent) -> None:
        if math.isnan(tor.complete_s):
            return
        seed_time = self.spec["seed_time_s"]
        if seed_time is not None and self.now() >= tor.complete_s + seed_time:
            self._leave(tor)
        elif (self.spec["policy"]["kind"] == "seed_until_ratio" and tor.last_down > 0
              and tor.last_up >= self.spec["policy"]["ratio"] * tor.last_down):
            self._leave(tor)

    def _leave(self, tor: _Torrent) -> None:
        """Stop the torrent as a client does: out of the queue's hands (auto-managed off), paused."""
        if not tor.active:
            return
        read_connections(tor.sent, tor.handle, self.now())
        self._sample(tor)
        tor.handle.unset_flags(self.lt.torrent_flags.auto_managed)
        tor.handle.pause()
        tor.active = False
        tor.leave_s = self.now()
        # The blocks already in its send buffers when it paused still come as alerts: the loop goes
        # on reading them with the other torrents' (a drain here, as a one-torrent peer does before
        # it exits, held the other torrents' joins, samples and traces up for a second: the next
        # torrent in the queue, started by libtorrent as this one finished, was first sampled a
        # second late; validation/sessions/ANALYSIS.md). The session waits for them at its end.
        self.drain_until = max(self.drain_until, time.monotonic() + DRAIN_AFTER_PAUSE_S)
        emit("left", t=tor.leave_s, torrent=tor.j)

    def _finish(self) -> None:
        while time.monotonic() < self.drain_until:  # a torrent stopped in the last second: its last blocks
            self.ses.wait_for_alert(100)
            self._alerts()
        self._alerts()
        for tor in self.torrents:
            if tor.active:
                read_connections(tor.sent, tor.handle, self.now())
                self._sample(tor)
            self._write_raw(tor)
        self.ses.pause()
        emit("done", up=sum(x.last_up for x in self.torrents), down=sum(x.last_down for x in self.torrents))

    def _write_raw(self, tor: _Torrent) -> None:
        from ..atomic import write_csv, write_json

        raw = Path(tor.spec["raw_dir"])
        gaps = [b[0] - a[0] for a, b in zip(tor.samples, tor.samples[1:])]
        none = lambda x: None if isinstance(x, float) and math.isnan(x) else x  # noqa: E731
        write_json(raw / "peer-0000.json", {
            "index": 0, "role": 0, "ip": self.spec["ip"], "out_ip": self.spec["out_ip"],
            "listen_port": self.ses.listen_port(), "planned_join_s": tor.spec["added_s"],
            # when the session was created, on the run's clock, and the wait that placed it (peer.py)
            "session_created_s": self.session_created_unix - self.t0,
            "session_delay_s": float(self.spec.get("session_delay_s", 0.0)),
            "join_s": none(tor.join_s), "complete_s": none(tor.complete_s), "leave_s": none(tor.leave_s),
            "uploaded_bytes": tor.last_up, "downloaded_bytes": tor.last_down,
            "uploaded_at_complete_bytes": tor.up_at_complete, "downloaded_at_complete_bytes": tor.down_at_complete,
            "upload_limit_bps": self.spec["settings"]["upload_rate_limit"],
            "download_limit_bps": self.spec["settings"]["download_rate_limit"],
            "connectable": True, "seed_time_s": self.spec["seed_time_s"], "incoming_connections": {},
            "sent_per_connected_peer_bytes": {}, "tracker_replies": 0, "tracker_errors": [],
            "errors": self.errors, "clock": "alert", "max_sample_gap_s": max(gaps) if gaps else None,
            "cpu_user_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime,
            "cpu_system_s": resource.getrusage(resource.RUSAGE_SELF).ru_stime,
            "connection_trace": tor.tracer.close() if tor.tracer is not None else None, "session_torrent": tor.j, "settings": self.applied_settings,
        })
        write_csv(raw / "peer-0000-samples.csv", ("t_s", "uploaded_bytes", "downloaded_bytes"), tor.samples)
        write_csv(raw / "subject-blocks.csv", BLOCK_LOG_COLUMNS, tor.blocks)
        write_csv(raw / SENT_FILE, SENT_COLUMNS, tor.sent.rows())


def main(argv: list[str]) -> int:
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the lab asks for stacks if it will not stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(SystemExit(143)))
    spec = json.loads(Path(argv[0]).read_text())
    try:
        SessionSubject(spec).run()
    except SystemExit:
        raise
    except BaseException as e:
        emit("error", msg=f"{type(e).__name__}: {e}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
