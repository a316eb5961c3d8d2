"""One subject session, several torrents: the model (sim/session.py) and its session-wide resources."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sim.engine import SwarmRun
from sim.montecarlo import replication_seeds
from sim.session import SessionRun, run_session_replications
from sim.session_config import session_from_bytes
from tests.conftest import ROOT, make_scenario
from tests.test_determinism import digest

SWARM = {
    "torrent": {"piece_size": "64KiB", "total_size": "2MiB"},
    "swarm": {"announce_interval_s": 60, "seeds": {"count": 1, "upload": "400kB/s"},
              "leechers": {"arrival": "flash_crowd", "count": 4, "spread_s": 5, "upload": "200kB/s",
                           "download": "1MB/s", "seed_time": "leave"}},
}
SESSION = {"upload": "300kB/s", "download": "1MB/s", "on_complete": "stop"}
SIMULATION = {"horizon_s": 600, "replications": 3, "seed": 3}


def make_session(n: int, extra: str = "", size: str = "2MiB"):
    """A session of n copies of SWARM (inline scenarios); ``extra``: more [session] lines."""
    swarm = {**SWARM, "torrent": {**SWARM["torrent"], "total_size": size}}
    return session_from_bytes(_session_of(swarm, SESSION, SIMULATION, n, extra), "<test>", ROOT)[0]


def test_one_torrent_session_is_the_one_torrent_run():
    """A session holding one torrent gives bit-identical results to the same scenario run alone."""
    sc = make_scenario()
    data = sc.to_dict()
    subject = data.pop("subject")
    sim = data.pop("simulation")
    # not auto-managed: the torrent starts when added, as the one-torrent run's subject joins
    session = session_from_bytes(_session_of(data, subject, sim, extra="auto_managed = false"), "<test>", ROOT)[0]
    seeds = replication_seeds(3, 3)
    for i in range(3):
        alone = SwarmRun(session.scenarios[0], i, seeds[i]).run()
        together = SessionRun(session, i, seeds[i]).run()
        assert digest([alone]) == digest(together.torrents)


def _session_of(scenario: dict, subject: dict, simulation: dict, n: int = 1, extra: str = "") -> bytes:
    """A session file's text: [session] from a scenario's subject table, n inline torrents."""
    lt = subject.get("libtorrent", {})
    head = {k: subject[k] for k in ("upload", "download", "on_complete") if k in subject}
    text = "[session]\n" + "".join(f"{k} = {_inline(v)}\n" for k, v in head.items()) + extra + "\n"
    if lt:
        text += "[session.libtorrent]\n" + "".join(f"{k} = {_inline(v)}\n" for k, v in lt.items())
    text += "[simulation]\n" + "".join(f"{k} = {_inline(v)}\n" for k, v in simulation.items())
    text += ("[[torrent]]\nscenario = " + _inline(scenario) + "\n") * n
    return text.encode()


def _inline(d) -> str:
    if isinstance(d, dict):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in d.items()) + " }"
    if isinstance(d, list):
        return "[ " + ", ".join(_inline(v) for v in d) + " ]"
    return json.dumps(d)


def test_same_seed_same_session_results_any_worker_count():
    """Replications spread over two workers equal those in one process, bit for bit."""
    s = make_session(3)
    one = run_session_replications(s, n=2, workers=1)
    two = run_session_replications(s, n=2, workers=2)
    flat = lambda rs: [t for r in rs for t in r.torrents]  # noqa: E731
    assert digest(flat(one)) == digest(flat(two))


def test_session_upload_limit_is_shared():
    """Three torrents at once upload no more in total than the session's one upload limit allows."""
    r = run_session_replications(make_session(3), n=1)[0]
    end = max(t.headline["end_s"] for t in r.torrents)
    assert r.totals["session_upload_total_bytes"] <= 300_000 * (end + 3)  # + 3 s of saved quota
    assert r.totals["session_torrents_completed"] == 3


def test_queue_runs_at_most_active_downloads_at_once():
    """With active_downloads = 1 the torrents download one after the other, in queue order; the
    first starts a second after it is added (the auto-manage pass after its check)."""
    r = run_session_replications(make_session(3, "active_downloads = 1"), n=1)[0]
    joins = [float(t.peers["join_s"][0]) for t in r.torrents]
    dones = [float(t.peers["complete_s"][0]) for t in r.torrents]
    assert joins[0] == 1.0
    for j in (1, 2):
        assert dones[j - 1] <= joins[j] <= dones[j - 1] + 0.5  # once the one before it completed, at once
    assert joins[1] < joins[2]


def test_a_stopped_torrent_leaves_its_saved_quota_to_the_next():
    """The session's rate limits are one channel each way (libtorrent's global peer class): the quota
    a torrent's part of a channel had saved when it stopped at completion, and what its queued
    bandwidth requests had been assigned, is the next torrent's to use, not lost with the torrent."""
    session = make_session(2, "active_downloads = 1")
    run = SessionRun(session, 0, replication_seeds(3, 1)[0])
    left, at_join = [], []
    original_couple, original_joined = run._couple, run._subject_joined

    def left_behind(r):
        pa, ea = r.pa, r.ea
        d = pa.deg[0]
        return (float(pa.up_quota[0]) + float(ea.bw_got[0, :d][ea.bw_req[0, :d] > 0].sum()),
                float(pa.dn_quota[0]) + float(ea.dl_got[0, :d][ea.dl_req[0, :d] > 0].sum()))

    was_in = set()

    def couple(now):
        for j, r in enumerate(run.runs):  # a torrent whose subject was in at the last step and is not now
            if j in was_in and not r.pa.active[0]:
                was_in.discard(j)
                left.append(left_behind(r))  # as the last tick left it
        original_couple(now)
        was_in.update(j for j, r in enumerate(run.runs) if r.pa.active[0])

    def joined(j):
        before = (float(run.runs[j].pa.up_quota[0]), float(run.runs[j].pa.dn_quota[0]))
        original_joined(j)
        after = (float(run.runs[j].pa.up_quota[0]), float(run.runs[j].pa.dn_quota[0]))
        at_join.append((j, before, after))

    run._couple, run._subject_joined = couple, joined
    run.run()
    assert [j for j, _, _ in at_join] == [0, 1]
    assert at_join[0][2] == at_join[0][1] == (0.0, 0.0)  # the session's first torrent: an empty channel
    assert left and left[0][1] > 0.0  # the first torrent left saved download quota behind
    _, before, after = at_join[1]
    assert before == (0.0, 0.0)
    assert after == pytest.approx(left[0])  # ... which the second torrent started with


def test_a_session_torrents_first_messages_pass_the_sessions_channel():
    """A torrent started in a running session sends its first messages through the session's upload
    channel (SwarmRun.subject_channel): held more than a second of its limit, they go at once;
    empty, they wait for the subject's quota ticks, as a one-torrent newcomer's do. Worked by hand
    from libtorrent's need_queueing (a message queues while the channel holds no more than a second
    of its limit): the peer here has no limit, so only the subject's two messages (its handshake,
    then its bitfield and INTERESTED) can wait."""
    run = SwarmRun(make_scenario(), 0, replication_seeds(3, 1)[0])
    run.start()
    pa, dt = run.pa, run.dt
    v = 1
    pa.up_cap[0], pa.up_cap[v], pa.up_quota[0] = 1e6, float("inf"), 0.0
    t = float(run.pop.join_s[0])
    phase = float(pa.tick_phase[0]) * dt
    first_tick = (math.floor((t - phase) / dt + 1e-9) + 1) * dt + phase
    assert run._handshake_done(0, v, t) == pytest.approx(first_tick + dt)  # its own, empty channel
    run.subject_channel = lambda: (1e6, 0.0)
    assert run._handshake_done(0, v, t) == pytest.approx(first_tick + dt)  # an empty session channel
    run.subject_channel = lambda: (1e6, 1.25e6)
    assert run._handshake_done(0, v, t) == t  # more than a second saved: both at once
    run.subject_channel = lambda: (1e6, 1e6)
    assert run._handshake_done(0, v, t) == pytest.approx(first_tick)  # a second exactly: the first waits,
    # and the tick that sends it leaves the channel above a second: the second goes with it


def test_session_unchoke_slots_shared():
    """With two unchoke slots for the session (1 regular + 1 optimistic), the subject unchokes at
    most two peers across all its three torrents at any tick."""
    s = make_session(3, "libtorrent = { unchoke_slots_limit = 2 }", size="4MiB")
    seeds = replication_seeds(3, 1)
    run = SessionRun(s, 0, seeds[0])
    seen = []
    original = run._couple

    def spy(now):
        seen.append(sum(int(r.ea.unchoked[0, :r.pa.deg[0]].sum()) for r in run.runs if r.pa.active[0]))
        original(now)
    run._couple = spy
    run.run()
    assert max(seen) <= 2
    assert max(seen) == 2  # and the slots are used


def test_not_auto_managed_torrents_all_start_when_added():
    """auto_managed = false: no queue; every torrent starts at its added time."""
    r = run_session_replications(make_session(3, "active_downloads = 1\nauto_managed = false"), n=1)[0]
    assert [float(t.peers["join_s"][0]) for t in r.torrents] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("text, needle", [
    (b"[session]\nunchoke_slots = 3\n[[torrent]]\nscenario = 'x.toml'\n", "unknown key; allowed keys here"),
    (b"[session]\nactive_downloads = 0\n[[torrent]]\nscenario = 'x.toml'\n", "session.active_downloads"),
    (b"[session]\non_complete = 'seed_for'\n[[torrent]]\nscenario = 'x.toml'\n", "seed_for_s"),
    (b"[session]\n", "torrent: Field required"),
    (b"[[torrent]]\nscenario = 'x.toml'\nadded = 3\n", "torrent[0].added: unknown key; allowed keys here: added_s"),
    (b"[[torrent]]\nscenario = 'no-such.toml'\n", "no such scenario file"),
    (b"[[torrent]]\nscenario = 'x.toml'\nadded_s = -1\n", "torrent[0].added_s"),
    (b"[session\n", "not valid TOML"),
])
def test_bad_session_files_name_the_key(text, needle):
    """Bad input: a SessionError naming the file and key, never a traceback."""
    from sim.scenario import ScenarioError
    with pytest.raises(ScenarioError) as e:
        session_from_bytes(text, "bad.toml", ROOT)
    assert needle in str(e.value)
    assert "bad.toml" in str(e.value) or "no-such" in str(e.value)


def _cli(args):
    import io

    from leechsim.env import Environment
    from leechsim.main import main
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], Environment(stdout=out, stderr=err, progress=False))
    return int(code), out.getvalue(), err.getvalue()


def test_session_command_writes_a_run_directory(tmp_path):
    """leechsim session: per-torrent results, session totals, the inputs and their hashes."""
    for j in (1, 2):
        (tmp_path / f"t{j}.toml").write_text(f'[scenario]\nname = "t{j}"\n[torrent]\ntotal_size = "1MiB"\n'
                                             f'piece_size = "64KiB"\n[swarm.leechers]\ncount = 2\n')
    (tmp_path / "s.toml").write_text('[session]\nname = "two"\nupload = "300kB/s"\n[simulation]\nhorizon_s = 300\n'
                                     'replications = 2\n[[torrent]]\nscenario = "t1.toml"\n'
                                     '[[torrent]]\nscenario = "t2.toml"\nadded_s = 5\n')
    code, out, err = _cli(["session", tmp_path / "s.toml", "--out", tmp_path / "run", "--workers", "1"])
    assert code == 0, err
    assert "SESSION" in out
    run = tmp_path / "run"
    man = json.loads((run / "manifest.json").read_text())
    assert man["kind"] == "session" and set(man["input_sha256"]) == {str(tmp_path / "s.toml"), "t1.toml", "t2.toml"}
    assert (run / "inputs" / "t2.toml").is_file() and (run / "session.toml").is_file()
    for j in (0, 1):
        assert (run / "torrents" / f"{j:02d}" / "replications" / "0001" / "transfer_log.csv").is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["torrents"][1]["added_s"] == 5 and summary["session"]["session_torrents_completed"]["median"] == 2


def test_session_command_bad_input_exits_2(tmp_path):
    """A bad session file: exit 2 with the file and key named, no traceback."""
    (tmp_path / "s.toml").write_text('[session]\nactive_seeds = "five"\n[[torrent]]\nscenario = "x.toml"\n')
    code, _, err = _cli(["session", tmp_path / "s.toml", "--out", tmp_path / "run"])
    assert code == 2
    assert "s.toml" in err and "session.active_seeds" in err and "Traceback" not in err


def test_session_connection_limit_counts_every_torrents_connections():
    """connections_limit is the session's: the subject opens or accepts a connection in one torrent
    only while every torrent's connections together - those still in their handshake and each
    torrent's connection to itself included - leave room for it, counted at that moment. Two
    torrents of five peers each, a limit of 4: checked at every connection the subject opens."""
    s = make_session(2, "auto_managed = false\nlibtorrent = { connections_limit = 4 }")
    seeds = replication_seeds(3, 3)
    for i in range(3):
        run = SessionRun(s, i, seeds[i])
        seen = []
        for j, r in enumerate(run.runs):
            original = r._open_tcp

            def spy(u, v, t, r=r, original=original, j=j):
                before = r.pa.handshakes[0]
                original(u, v, t)
                if 0 in (u, v) and r.pa.handshakes[0] > before:  # the subject opened or accepted one
                    opening = sum(int(x.pa.deg[0] + x.pa.handshakes[0]) for x in run.runs if x.pa.active[0])
                    seen.append((opening, r.held(0) + run._held_elsewhere(j)))
            r._open_tcp = spy
        run.run()
        # the open and opening connections never exceed the limit; with the connections to
        # themselves (attempted whatever the count, as in the model) the session holds exactly 4
        # at some of them: the limit binds
        assert seen and max(o for o, _ in seen) <= 4
        assert max(h for _, h in seen) == 4


def test_traced_session_gives_the_same_results_and_every_torrents_connections():
    """``leechsim session --trace-connections``: the same replications bit for bit, and each torrent's
    connections at every tick, the subject's side (local 0) among them, each connection's last total
    equal to what the subject's transfer log sent that peer up to that sample, and nothing sent
    it after that but in the next tick (the connection closed within it, before the sample at its
    end: a peer that completed, or the torrent's end)."""
    s = make_session(2)
    plain = run_session_replications(s, n=2)
    traced = run_session_replications(s, n=2, trace_connections=True)
    flat = lambda rs: [t for r in rs for t in r.torrents]  # noqa: E731
    assert digest(flat(plain)) == digest(flat(traced))
    for r in traced:
        for t in r.torrents:
            c = t.extra["connections"]
            subject = c["local"] == 0
            assert subject.any() and (~subject).any()
            last, last_t = {}, {}
            for when, remote, up in zip(c["t_s"][subject], c["remote"][subject], c["total_up_bytes"][subject]):
                last[int(remote)], last_t[int(remote)] = float(up), float(when)
            log = t.log.columns()
            dt = 0.5  # the quota tick
            for remote in np.unique(log["peer"]):
                to = log["peer"] == remote
                when = last_t.get(int(remote), -np.inf)
                assert float(log["bytes"][to & (log["t_s"] <= when)].sum()) == last.get(int(remote), 0.0)
                assert (log["t_s"][to] <= when + dt).all()
            assert sum(last.values()) > 0
    assert all("connections" not in t.extra for r in plain for t in r.torrents)
