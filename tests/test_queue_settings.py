"""The send buffer and request queue settings (settings_pack send_buffer_low_watermark,
send_buffer_watermark, send_buffer_watermark_factor, request_queue_time, max_out_request_queue):
set in the scenario, they reach the kernels' per-peer arrays and libtorrent's session, and change
what the kernels do as libtorrent's code says (the send buffer: tests/test_kernel_bandwidth.py)."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.lab.plan import scenario_settings
from sim.engine import SwarmRun
from sim.kernels.bandwidth import second_tick
from sim.population import SUBJECT_ROW
from sim.protocol import BLOCK_BYTES
from sim.scenario import ScenarioError, default_scenario_path, load_scenario, parse_scenario
from sim.state import new_edges, new_peers

SETTINGS = ("send_buffer_low_watermark", "send_buffer_watermark", "send_buffer_watermark_factor",
            "request_queue_time", "max_out_request_queue")
DEFAULTS = {"send_buffer_low_watermark": 10 * 1024, "send_buffer_watermark": 500 * 1024,
            "send_buffer_watermark_factor": 50, "request_queue_time": 3, "max_out_request_queue": 500}
SUBJECT = {"send_buffer_low_watermark": "32KiB", "send_buffer_watermark": 2_000_000,
           "send_buffer_watermark_factor": 150, "request_queue_time": 5, "max_out_request_queue": 1000}
SWARM = {"send_buffer_low_watermark": 4096, "send_buffer_watermark": "1MiB",
         "send_buffer_watermark_factor": 20, "request_queue_time": 1, "max_out_request_queue": 64}


def _changed(**tables):
    sc = load_scenario(default_scenario_path())
    return sc.with_changes(**{f"{table}.libtorrent.{k}": v for table, values in tables.items() for k, v in values.items()})


def test_the_defaults_are_libtorrents():
    import libtorrent as lt

    sc = load_scenario(default_scenario_path())
    defaults = lt.default_settings()
    for lts in (sc.subject.libtorrent, sc.swarm.libtorrent):
        assert {k: getattr(lts, k) for k in SETTINGS} == DEFAULTS == {k: defaults[k] for k in SETTINGS}
    pa = new_peers(1)  # the arrays' own defaults, which hand-built kernel tests use, are the same
    assert (pa.sb_low[0], pa.sb_high[0], pa.sb_factor[0], pa.rq_time_s[0], pa.rq_max[0]) == (10240.0, 512000.0, 0.5,
                                                                                          3.0, 500)


def test_changed_settings_reach_the_kernel_arrays():
    """Subject and swarm each get their own table's values, in the units the kernels use."""
    run = SwarmRun(_changed(subject=SUBJECT, swarm=SWARM), 0, np.random.SeedSequence(1))
    pa = run.pa
    others = np.arange(len(pa.active)) != SUBJECT_ROW
    assert others.sum() > 0
    for row, want in ((pa.sb_low, (32 * 1024, 4096)), (pa.sb_high, (2_000_000, 1024 * 1024)),
                      (pa.sb_factor, (1.5, 0.2)), (pa.rq_time_s, (5.0, 1.0)), (pa.rq_max, (1000, 64))):
        assert row[SUBJECT_ROW] == want[0]
        assert (row[others] == want[1]).all()


def test_changed_settings_reach_a_real_libtorrent_session():
    """The lab hands the scenario's values to libtorrent by their settings_pack names; a session
    reads them back unchanged."""
    import libtorrent as lt

    sc = _changed(subject=SUBJECT)
    lab = scenario_settings(sc.subject.libtorrent)
    want = {"send_buffer_low_watermark": 32 * 1024, "send_buffer_watermark": 2_000_000,
            "send_buffer_watermark_factor": 150, "request_queue_time": 5, "max_out_request_queue": 1000}
    assert {k: lab[k] for k in SETTINGS} == want
    ses = lt.session({**lab, "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                      "enable_upnp": False, "enable_natpmp": False})
    got = ses.get_settings()
    assert {k: got[k] for k in SETTINGS} == want


@pytest.mark.parametrize("key,value,fragment", [
    ("send_buffer_low_watermark", 0, "greater than or equal to 1"),
    ("send_buffer_watermark", 2**31, "less than or equal to 2147483647"),
    ("send_buffer_watermark", "lots", "'lots'"),
    ("send_buffer_watermark_factor", -1, "greater than or equal to 0"),
    ("send_buffer_watermark_factor", 0.5, "valid integer"),
    ("request_queue_time", 3601, "less than or equal to 3600"),
    ("max_out_request_queue", 3, "greater than or equal to 4"),
    ("max_out_request_queue", 65_536, "less than or equal to 65535"),
])
def test_bad_values_are_refused(key, value, fragment):
    data = {"torrent": {"total_size": "1MiB"}, "subject": {"libtorrent": {key: value}}}
    with pytest.raises(ScenarioError) as e:
        parse_scenario(data, "case.toml")
    msg = str(e.value)
    assert "case.toml" in msg and f"subject.libtorrent.{key}" in msg and fragment in msg, msg


def _queue_after_second_tick(rate_avg, **settings):
    """Peer 1 downloads from peer 0 at ``rate_avg`` B/s, out of slow start; its second tick sets
    its request queue (update_desired_queue_size) under its own settings."""
    pa, ea = new_peers(2), new_edges(2, 1)
    pa.active[:] = True
    pa.deg[:] = 1
    ea.nbr[0, 0], ea.nbr[1, 0] = 1, 0
    ea.rev[:, 0] = 0
    ea.slow_start[1, 0] = False
    ea.rate_avg[1, 0] = rate_avg
    for name, value in settings.items():
        getattr(pa, name)[1] = value
    second_tick(pa, ea, 0, 1)
    return int(ea.dq_size[1, 0])


def test_the_request_queue_follows_the_downloaders_settings():
    """request_queue_time x rate / 16 KiB, at least 2 and at most max_out_request_queue."""
    rate = 100 * BLOCK_BYTES  # 100 blocks a second
    assert _queue_after_second_tick(rate) == 300  # 3 s
    assert _queue_after_second_tick(rate, rq_time_s=1.0) == 100
    assert _queue_after_second_tick(rate, rq_max=120) == 120  # a smaller limit caps the queue
    assert _queue_after_second_tick(10 * rate) == 500  # 3,000 blocks: libtorrent's limit, 500
    assert _queue_after_second_tick(10 * rate, rq_max=5000) == 3000
    assert _queue_after_second_tick(0.0, rq_max=4) == 2  # at least min_request_queue
    assert _queue_after_second_tick(rate, rq_time_s=0.0) == 2


def test_a_swarm_keeps_its_request_queues_within_max_out_request_queue():
    """In a whole run no connection's queue ever exceeds the downloader's max_out_request_queue,
    in slow start (one more per block received) or after it; with libtorrent's 500 the same swarm's
    queues grow past it (the check can fail)."""
    data = {"torrent": {"total_size": "8MiB", "piece_size": "256KiB"},
            "swarm": {"seeds": {"count": 2, "upload": "5MB/s"},
                      "leechers": {"count": 4, "upload": "2MB/s", "download": "20MB/s"}},
            "subject": {"upload": "2MB/s", "download": "20MB/s"}, "simulation": {"horizon_s": 60}}

    def largest_queue(limit):
        d = {**data, "swarm": {**data["swarm"], "libtorrent": {"max_out_request_queue": limit}},
             "subject": {**data["subject"], "libtorrent": {"max_out_request_queue": limit}}}
        run = SwarmRun(parse_scenario(d), 0, np.random.SeedSequence(2), max_batch_ticks=1)
        run.start()
        most = 0
        for t in np.arange(0.5, 20.0, 0.5):
            run.env.run(until=t)
            most = max(most, int(run.ea.dq_size.max()))
        return most

    assert largest_queue(500) > 6
    assert largest_queue(6) == 6
