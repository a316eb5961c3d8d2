"""A session stepped for a corpus (SessionRun.run_until_subjects_left): the subject's numbers are run()'s."""

from __future__ import annotations

import math

import pytest

from sim.montecarlo import replication_seeds
from sim.session import SessionRun
from sim.session_config import session_from_bytes
from tests.conftest import ROOT
from tests.test_session import _inline

SWARM = {
    "torrent": {"piece_size": "64KiB", "total_size": "2MiB"},
    "swarm": {"announce_interval_s": 60, "seeds": {"count": 1, "upload": "300kB/s"},
              "leechers": {"arrival": "poisson", "rate_per_s": 0.02, "window_s": [0, 900], "upload": "200kB/s",
                           "download": "1MB/s", "seed_time": {"dist": "exponential", "mean": 60}}},
}
SUBJECT_FIELDS = ("subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_download_bytes",
                  "subject_completed", "subject_download_time_s", "peers_received_block", "blocks_uploaded")


def session_text(added: list[float], extra: str, on_complete: str = '"stop"', horizon_s: int = 1800) -> bytes:
    text = (f'[session]\nupload = "400kB/s"\ndownload = "1MB/s"\non_complete = {on_complete}\n{extra}\n'
            f'[simulation]\nhorizon_s = {horizon_s}\nseed = 4\n')
    for a in added:
        text += f"[[torrent]]\nadded_s = {a}\nscenario = {_inline(SWARM)}\n"
    return text.encode()


@pytest.mark.parametrize("extra, on_complete, horizon_s", [
    ("active_downloads = 1", '"stop"', 1800),                       # a queue: torrents wait for the slot
    ("active_downloads = 2", '"seed_for"\nseed_for_s = 40', 1800),  # two at once (choker, channels), seeds paused
    ("auto_managed = false", '"stop"', 1800),                       # every torrent starts when added
    ("active_downloads = 1", '"stop"', 40),                         # the horizon comes before the last start
])
def test_lazy_stepping_gives_the_subject_numbers_of_run(extra, on_complete, horizon_s):
    """Each torrent's subject numbers equal those of the session stepped in lockstep to its end."""
    session = session_from_bytes(session_text([30, 10, 12, 31.5], extra, on_complete, horizon_s), "<test>", ROOT)[0]
    seeds = replication_seeds(4, 3)
    started_late = 0
    for i in range(3):
        full = SessionRun(session, i, seeds[i]).run()
        lazy = SessionRun(session, i, seeds[i]).run_until_subjects_left()
        for j, (a, b) in enumerate(zip(full.torrents, lazy.torrents)):
            for k in SUBJECT_FIELDS:
                x, y = float(a.headline[k]), float(b.headline[k])
                assert x == y or (math.isnan(x) and math.isnan(y)), (i, j, k)
            assert a.peers["join_s"][0] == b.peers["join_s"][0] or a.peers["join_s"][0] != a.peers["join_s"][0]
            assert b.headline["end_s"] <= a.headline["end_s"]
            started_late += b.peers["join_s"][0] > session.added_s[j] + 2
    if "active_downloads = 1" in extra:
        assert started_late > 0  # the queue did hold torrents back (the test exercises waiting)
