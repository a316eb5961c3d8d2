"""Peer exchange in the real lab (docs/model.md, "Peer exchange"; tests/test_pex.py is the model's).

Two unreachable leechers join first; the subject joins 5 s later and cannot connect to them, and
they announce again only after 30 minutes. In a public torrent libtorrent's ut_pex tells them of
the subject through the seed about a minute later, they connect out to it and it uploads to them;
in a private torrent nothing tells them, and the subject uploads nothing at all. About two and a
half minutes of real time each.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .conftest import _lab_run

pytestmark = pytest.mark.lab

PEX_SCENARIO = {
    "scenario": {"name": "lab-test-pex"},
    "torrent": {"piece_size": "256KiB", "total_size": "12MiB"},
    "swarm": {"seeds": {"count": 1, "upload": "150kB/s"}, "connectable_share": 0.0,
              "leechers": {"count": 2, "spread_s": 1, "upload": "300kB/s", "download": "2MB/s", "seed_time": "leave"},
              "announce_interval_s": 1800},
    "subject": {"join_s": 5, "upload": "1MB/s", "download": "2MB/s", "on_complete": "stop"},
    "simulation": {"horizon_s": 400, "replications": 1, "seed": 3},
}


def _peers(run: Path) -> list[dict]:
    with open(run / "replications" / "0000" / "peers.csv", newline="") as f:
        return list(csv.DictReader(f))


def _first_from_subject(run: Path) -> dict[int, float]:
    with open(run / "replications" / "0000" / "transfer_log.csv", newline="") as f:
        first: dict[int, float] = {}
        for row in csv.DictReader(f):
            first.setdefault(int(row["peer"]), float(row["t_s"]))
    return first


def test_unreachable_leechers_learn_of_the_subject_by_peer_exchange(tmp_path_factory):
    run = _lab_run(tmp_path_factory, PEX_SCENARIO)
    peers = _peers(run)
    leechers = [p for p in peers if p["role"] == "leecher"]
    assert leechers and all(p["connectable"] == "false" for p in leechers)
    first = _first_from_subject(run)
    for p in leechers:
        i = int(p["peer"])
        assert int(p["from_subject_bytes"]) > 0, f"leecher {i} got nothing from the subject"
        # not before the seed's first rebuild of its list after the subject joined (about 60 s)
        assert first[i] > 55.0, (i, first[i])


def test_a_private_torrent_has_no_peer_exchange(tmp_path_factory):
    # 150 s: over twice the public run's first upload to them (about 60 s); without anyone to
    # exchange with, the swarm would take about four minutes to finish
    data = {**PEX_SCENARIO, "scenario": {"name": "lab-test-pex-private"},
            "torrent": {**PEX_SCENARIO["torrent"], "private": True},
            "simulation": {**PEX_SCENARIO["simulation"], "horizon_s": 150}}
    run = _lab_run(tmp_path_factory, data)
    peers = _peers(run)
    subject = peers[0]
    assert subject["role"] == "subject"
    assert int(subject["downloaded_bytes"]) > 0
    assert int(subject["uploaded_bytes"]) == 0
    assert all(int(p["from_subject_bytes"]) == 0 for p in peers if p["role"] == "leecher")
