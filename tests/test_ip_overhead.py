"""rate_limit_ip_overhead (settings_pack, libtorrent's default: on): at each session's second tick the
estimated TCP/IP overhead of what its connections sent and received leaves its limited channels
(peer_connection::second_tick -> session_impl::use_quota_overhead; stat::trancieve_ip_packet's
estimate: a 40-byte header per 1,460 bytes, for every packet sent or received)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine import SwarmRun
from sim.kernels.bandwidth import second_tick
from sim.montecarlo import replication_seeds
from sim.scenario import parse_scenario
from sim.state import new_edges, new_peers


def _peer_at_its_second_tick(drain: bool, up_cap=25_000.0, down_cap=2_000_000.0, seed=False):
    """Peer 0 with two connections: on one it sent 20,000 B in the last second and received
    nothing, on the other it sent 5,000 B and received 730,000 B; its channels hold 30,000 B
    (upload) and 1,000,000 B (download)."""
    pa, ea = new_peers(3), new_edges(3, 2)
    pa.active[:] = True
    pa.is_seed[0] = seed
    pa.ip_drain[0] = drain
    pa.up_cap[0], pa.down_cap[0] = up_cap, down_cap
    pa.up_quota[0], pa.dn_quota[0] = 30_000.0, 1_000_000.0
    pa.deg[0] = 2
    for k, v in enumerate((1, 2)):
        ea.nbr[0, k], ea.rev[0, k] = v, 0
        ea.nbr[v, 0], ea.rev[v, 0] = 0, k
        pa.deg[v] = 1
    ea.up_sec[0, 0], ea.dn_sec[0, 0] = 20_000.0, 0
    ea.up_sec[0, 1], ea.dn_sec[0, 1] = 5_000.0, 730_000
    second_tick(pa, ea, 0, 1)
    return pa


def test_the_second_tick_takes_the_ip_overhead_out_of_both_limits_by_hand():
    # 755,000 bytes moved: 755,000 x 40 / 1,460 = 20,684.9 -> 20,684 bytes of overhead
    pa = _peer_at_its_second_tick(True)
    assert pa.up_quota[0] == 30_000 - 20_684
    assert pa.dn_quota[0] == 1_000_000 - 20_684


def test_without_the_setting_nothing_is_taken():
    pa = _peer_at_its_second_tick(False)
    assert (pa.up_quota[0], pa.dn_quota[0]) == (30_000.0, 1_000_000.0)


def test_an_unlimited_channel_and_a_seeds_download_channel_lose_nothing():
    pa = _peer_at_its_second_tick(True, up_cap=np.inf, down_cap=0.0)
    assert (pa.up_quota[0], pa.dn_quota[0]) == (30_000.0, 1_000_000.0)
    pa = _peer_at_its_second_tick(True, seed=True)
    assert pa.up_quota[0] == 30_000 - 20_684 and pa.dn_quota[0] == 1_000_000.0


def _subject_upload(on: bool) -> tuple[float, float, float]:
    """A subject capped at 25 kB/s that downloads at up to 2 MB/s from a fast swarm: its upload
    while leeching, its traffic, and how long it was there."""
    sc = parse_scenario({
        "torrent": {"total_size": "8MiB", "piece_size": "256KiB"},
        "swarm": {"seeds": {"count": 1, "upload": "2MB/s"},
                  "leechers": {"arrival": "flash_crowd", "count": 4, "upload": "400kB/s", "download": "2MB/s"}},
        "subject": {"upload": "1MB/s", "download": "2MB/s", "on_complete": "stop",
                    "libtorrent": {"upload_rate_limit": "25kB/s", "rate_limit_ip_overhead": on}},
        "simulation": {"horizon_s": 120, "seed": 7},
    }, "overhead.toml")
    r = SwarmRun(sc, 0, replication_seeds(sc.simulation.seed, 1)[0]).run()
    p = r.peers
    return float(p["uploaded_bytes"][0]), float(p["downloaded_bytes"][0]), float(p["complete_s"][0] - p["join_s"][0])


def test_a_capped_subject_that_downloads_fast_sends_less_payload_with_the_setting():
    """With it on, what the subject sends over its stay is bounded by its limit less the
    overhead of everything it moved (plus the 3 s of quota a channel may save); off, it may
    use its whole limit."""
    up_on, down_on, t_on = _subject_upload(True)
    up_off, down_off, t_off = _subject_upload(False)
    limit = 25_000.0
    assert up_on < up_off
    overhead = (up_on + down_on) * 40 / 1460
    assert up_on <= limit * (t_on + 3.0) - overhead
    assert up_off <= limit * (t_off + 3.0)
    assert up_off > limit * (t_off + 3.0) - (up_off + down_off) * 40 / 1460  # off: more than that bound allows


@pytest.mark.parametrize("on", [True, False])
def test_the_lab_session_gets_the_scenarios_setting(on):
    """The lab hands the scenario's rate_limit_ip_overhead to libtorrent (it forced it off before
    2026-11-30); the default is libtorrent's own."""
    import libtorrent as lt

    from forensics.lab.plan import scenario_settings
    from sim.scenario import LibtorrentSettings

    assert LibtorrentSettings().rate_limit_ip_overhead == lt.default_settings()["rate_limit_ip_overhead"]
    s = scenario_settings(LibtorrentSettings(rate_limit_ip_overhead=on))
    ses = lt.session({**s, "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                      "enable_upnp": False, "enable_natpmp": False})
    assert ses.get_settings()["rate_limit_ip_overhead"] is on
    from forensics.lab.plan import session_settings
    from sim.population import draw_population
    sc = parse_scenario({"torrent": {"total_size": "1MiB"}, "subject": {"libtorrent": {"rate_limit_ip_overhead": on}},
                         "swarm": {"libtorrent": {"rate_limit_ip_overhead": not on}}}, "lab.toml")
    pop = draw_population(sc, np.random.default_rng(0))
    assert session_settings(sc, pop, 0, "127.0.0.2", "127.0.0.2")["rate_limit_ip_overhead"] is on  # the subject
    assert session_settings(sc, pop, 1, "127.0.0.3", "127.0.0.3")["rate_limit_ip_overhead"] is (not on)  # a seed
