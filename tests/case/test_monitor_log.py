"""The monitoring log: columns, times, merging, opaque ids, and every refusal."""

import datetime as dt

import pytest

from forensics.case.evidence_file import EvidenceFile
from forensics.case.monitor_log import read_monitor_log
from forensics.errors import UserError
from pathlib import Path


def log(text: str, start=None):
    return read_monitor_log(EvidenceFile(Path("monitor.csv"), text.encode()), start)


def test_iso_times_become_seconds_from_the_first_sighting():
    """Two peers, ISO times with offsets: t = 0 is the first sighting; 12:05+01:00 is 11:05Z."""
    m = log("peer,first_seen,last_seen\n"
            "127.0.0.2:6881,2026-03-01T11:00:00Z,2026-03-01T11:30:00Z\n"
            "127.0.0.3:51413,2026-03-01T12:05:00+01:00,2026-03-01T12:06:40+01:00\n")
    assert m.case_start == dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.timezone.utc)
    assert [(p.opaque_id, p.first_seen_s, p.last_seen_s) for p in m.peers] == [("P001", 0.0, 1800.0), ("P002", 300.0, 400.0)]


def test_seconds_and_optional_columns():
    """Seconds from the case start; role, rate, bytes and connectable carried over."""
    m = log("peer,first_seen,last_seen,role,rate_bps,bytes,connectable\n"
            "a,0,100,seed,250000,,yes\nb,10,20,,,5000,0\n")
    a, b = m.peers
    assert (a.role, a.rate_bps, a.connectable) == ("seed", 250000.0, True)
    assert (b.role, b.bytes_received, b.connectable) == (None, 5000, False)
    assert m.case_start is None


def test_rows_of_one_peer_merge():
    """Two rows of one peer: first of the first, last of the last, summed bytes; seen as a leecher
    once, it is a leecher (a seed later on is a leecher that completed)."""
    m = log("peer,first_seen,last_seen,role,bytes\nx,50,60,leecher,100\nx,10,20,seed,50\n")
    (p,) = m.peers
    assert (p.first_seen_s, p.last_seen_s, p.role, p.bytes_received) == (10.0, 60.0, "leecher", 150)
    seed, unknown = log("peer,first_seen,last_seen,role\ns,0,5,seed\ns,6,9,\nu,1,2,\n").peers
    assert (seed.role, unknown.role) == ("seed", None)  # a row without a role does not demote a seed


def test_addresses_never_survive():
    """The opaque ids carry nothing of the address."""
    m = log("peer,first_seen,last_seen\n192.0.2.77:6881,0,5\n")
    assert "192.0.2.77" not in repr(m.peers)


def test_case_start_given():
    m = log("peer,first_seen,last_seen\na,2026-03-01T12:00:10Z,2026-03-01T12:00:20Z\n",
            dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc))
    assert (m.peers[0].first_seen_s, m.peers[0].last_seen_s) == (10.0, 20.0)


@pytest.mark.parametrize("text, words", [
    ("peer,first_seen,last_seen,country\na,0,1,NL\n", "header: unknown column(s) ['country']"),
    ("peer,first_seen\na,0\n", "header: missing column(s) ['last_seen']"),
    ("peer,first_seen,last_seen\na,0,yesterday\n", "line 2: last_seen: 'yesterday' is not a time"),
    ("peer,first_seen,last_seen\na,2026-03-01T12:00:00,2026-03-01T13:00:00\n", "has no UTC offset"),
    ("peer,first_seen,last_seen\na,50,10\n", "line 2: last_seen: '10' is before first_seen '50'"),
    ("peer,first_seen,last_seen\na,0,10\nb,2026-03-01T12:00:00Z,2026-03-01T12:00:01Z\n", "ISO times and seconds mixed"),
    ("peer,first_seen,last_seen,role\na,0,10,uploader\n", "line 2: role: 'uploader'"),
    ("peer,first_seen,last_seen,rate_bps\na,0,10,-5\n", "line 2: rate_bps"),
    ("peer,first_seen,last_seen\n", "no peer rows"),
    ("peer,first_seen,last_seen\na,0\n", "line 2: 2 cells for 3 columns"),
])
def test_bad_logs_name_file_field_and_what_is_allowed(text, words):
    with pytest.raises(UserError) as e:
        log(text)
    msg = str(e.value)
    assert msg.startswith("monitor.csv: ") and words in msg and "allowed: " in msg, msg
