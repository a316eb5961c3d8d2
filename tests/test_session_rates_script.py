"""validation/traces/session_rates.py: the lab side on a recording written by hand, and the model's
session split never leaving a torrent with a peer to serve without an upload limit."""

import importlib.util
from pathlib import Path

import numpy as np

from sim.session_config import load_session

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("session_rates", ROOT / "validation/traces/session_rates.py")
session_rates = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(session_rates)


def _timeseries(path: Path, rows) -> None:
    path.mkdir(parents=True)
    (path / "timeseries.csv").write_text("t_s,subject_uploaded_bytes,subject_downloaded_bytes\n"
                                         + "".join(f"{t},0,{b}\n" for t, b in rows))


def test_lab_curve_sums_torrents_and_takes_the_median_over_runs(tmp_path):
    # run 0: torrent 0 gets 1,000 B by 1 s and 3,000 by 2 s, torrent 1 nothing, then 500 by 2 s;
    # run 1: 2,000 and 4,000 in torrent 0, 1,000 by 1 s in torrent 1 (and after);
    # run 2: nothing at all. Sums: run 0 (0, 1000, 3500), run 1 (0, 3000, 5000), run 2 zeros
    # -> medians (0, 1000, 3500) at 0, 1, 2 s
    _timeseries(tmp_path / "torrents/00/replications/0000", [(0, 0), (1, 1000), (2, 3000)])
    _timeseries(tmp_path / "torrents/01/replications/0000", [(0, 0), (1, 0), (2, 500)])
    _timeseries(tmp_path / "torrents/00/replications/0001", [(0, 0), (1, 2000), (2, 4000)])
    _timeseries(tmp_path / "torrents/01/replications/0001", [(0, 0), (1, 1000), (2, 1000)])
    _timeseries(tmp_path / "torrents/00/replications/0002", [(0, 0), (2, 0)])
    _timeseries(tmp_path / "torrents/01/replications/0002", [(0, 0), (2, 0)])
    curve, n = session_rates.lab_curve(tmp_path, 2, np.array([0.0, 1.0, 2.0]))
    assert n == 3
    assert list(curve) == [0.0, 1000.0, 3500.0]


def test_no_torrent_is_left_without_an_upload_limit_while_it_has_a_peer_to_serve():
    """s01: three torrents share the subject's upload channel. Before the fix the split gave a
    torrent with no request waiting a zero limit, so no transfer: 68 of 638 torrent-ticks with a
    peer unchoked and interested in 10 replications (validation/sessions/ANALYSIS.md)."""
    session = load_session(ROOT / "validation/sessions/s01-shared-slots.toml")[0]
    serving, zero = session_rates.starved(session, 3)
    assert serving > 100
    assert zero == 0


def test_upload_bins_from_the_subjects_join_by_hand(tmp_path):
    # run 0: the subject joins at 10 s and sends 4,000 B at 10.5 s and 2,000 B at 13 s;
    # run 1: joins at 1 s, sends 8,000 B at 2.9 s. 2-s bins from the join, in B/s:
    # run 0 (2000, 1000), run 1 (4000, 0) -> means (3000, 500)
    for rep, join, sends in (("0000", 10.0, [(10.5, 4000), (13.0, 2000)]), ("0001", 1.0, [(2.9, 8000)])):
        d = tmp_path / "torrents/01/replications" / rep
        d.mkdir(parents=True)
        (d / "transfer_log.csv").write_text("t_s,peer,piece,first_block,blocks,bytes\n"
                                            + "".join(f"{t},2,0,0,1,{b}\n" for t, b in sends))
        (d / "peers.csv").write_text(f"peer,role,join_s\n0,subject,{join}\n1,seed,0\n")
    rate, n = session_rates.upload_bins(tmp_path, 1, np.array([0.0, 2.0, 4.0]))
    assert n == 2
    assert list(rate) == [3000.0, 500.0]


def test_first_reached_by_hand():
    # joined at 10 s; bytes received by 10.5, 11, 12, 13 s: 0, 16 KiB, 1.5 MiB, 3 MiB
    t = np.array([10.5, 11.0, 12.0, 13.0])
    got = np.array([0, 16384, 1.5 * 2**20, 3 * 2**20])
    assert np.allclose(session_rates.first_reached(t, got, 10.0), [1.0, 2.0, 3.0, np.nan, np.nan], equal_nan=True)


def test_lab_ramp_reads_each_runs_join_and_timeseries(tmp_path):
    # run 0 joins at 2 s and has 1 MiB by 3 s; run 1 joins at 4 s and has its first byte at 4.5 s
    for rep, join, rows in (("0000", 2.0, [(2.5, 0), (3.0, 2**20)]), ("0001", 4.0, [(4.5, 100), (5.0, 100)])):
        d = tmp_path / "torrents/00/replications" / rep
        _timeseries(d, rows)
        (d / "peers.csv").write_text(f"peer,role,join_s\n0,subject,{join}\n1,seed,0\n")
    ramp = session_rates.lab_ramp(tmp_path, 0)
    assert np.allclose(ramp[0], [1.0, 1.0, np.nan, np.nan, np.nan], equal_nan=True)
    assert np.allclose(ramp[1], [0.5, np.nan, np.nan, np.nan, np.nan], equal_nan=True)


def test_model_ramp_every_torrent_reaches_its_size():
    """s02: each 8 MiB torrent the subject joins reaches every mark, in order, after its join."""
    session = load_session(ROOT / "validation/sessions/s02-queue.toml")[0]
    ramps = session_rates.model_ramp(session, 2)
    assert len(ramps) == 5
    for r in ramps:
        assert r.shape == (2, 5)
        assert (r > 0).all() and (np.diff(r, axis=1) >= 0).all()


def test_first_blocks_by_hand(tmp_path):
    # the subject (127.9.0.2) joins at 5 s; the seed sends it blocks at 5.25 and 5.5 s, a leecher at
    # 6.5 s, and the seed sends another peer (127.9.0.3) one at 5.1 s: first 0.25 s after, 2 in the
    # first second
    rep = tmp_path / "torrents/00/replications/0000"
    (rep / "raw").mkdir(parents=True)
    (rep / "peers.csv").write_text("peer,role,join_s\n0,subject,5.0\n1,seed,0\n2,leecher,0\n")
    (rep / "raw/peer-0001-blocks.csv").write_text(
        "t_s,peer_ip,piece,block\n5.1,127.9.0.3,0,0,1\n5.25,127.9.0.2,0,0,1\n5.5,127.9.0.2,0,1,1\n")
    (rep / "raw/peer-0002-blocks.csv").write_text("t_s,peer_ip,piece,block\n6.5,127.9.0.2,1,0,1\n")
    assert session_rates.first_blocks(tmp_path, 0) == [(0.25, 2)]
