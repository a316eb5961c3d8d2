"""Corpus runs through one client session (model = "session"): what each row holds, the queue's limit,
bit-identical files for any workers and blocks, the report, and refusals of bad [corpus.session] input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forensics import corpus_table
from forensics.corpus import load_corpus
from forensics.corpus_run import plan_units, simulate_corpus
from forensics.corpus_session import session_of
from sim.montecarlo import replication_seeds
from sim.session import SessionRun
from tests.test_corpus_run import BASE, assert_identical_for_any_workers_and_block_size, cli, write_corpus

# Four torrents added within seconds of each other: with two download slots, two of them must wait.
CSV = """name,files,seeds,leecher_arrivals_per_h,subject_join_s
a,40,1,60,100
b,25,2,30,102
c,30,1,90,104
d,20,1,60,105
"""
SESSION = 'model = "session"\n[corpus.session]\ntorrents_per_session = 4\nactive_downloads = 2\n'


def session_corpus(tmp_path, extra: str = SESSION, csv: str = CSV, base: str = BASE):
    return write_corpus(tmp_path, extra=extra, csv=csv, base=base)


def test_one_torrent_sessions_not_auto_managed_are_the_independent_runs(tmp_path):
    """A session of one torrent, started when added, is the independent model's run of it: every
    column equal but end_s (where each stops stepping)."""
    (tmp_path / "s").mkdir()
    (tmp_path / "i").mkdir()
    ses = load_corpus(session_corpus(tmp_path / "s", 'model = "session"\n[corpus.session]\ntorrents_per_session = 1\n'
                                                     'auto_managed = false\n'))
    ind = load_corpus(session_corpus(tmp_path / "i", ""))
    a, b = simulate_corpus(ses, 3), simulate_corpus(ind, 3)
    for k in corpus_table.COLUMNS:
        if k != "end_s":
            assert np.array_equal(a[k], b[k], equal_nan=True), k
    assert a["subject_download_bytes"].sum() > 0


def test_rows_are_those_of_the_session_run(tmp_path):
    """Row (torrent j, replication r) holds torrent j's subject numbers in replication r of its session
    run to the end in lockstep (SessionRun.run), seeded as the manifest's rule says."""
    corpus = load_corpus(session_corpus(tmp_path))
    table = simulate_corpus(corpus, 3)
    unit = plan_units(corpus, 3)[0]
    master = corpus.torrent_seeds()[0]  # the session's first torrent's master seed
    seeds = replication_seeds(master, 3)
    for r in range(3):
        full = SessionRun(session_of(corpus.base, unit), r, seeds[r]).run()
        for j, res in enumerate(full.torrents):
            row = j * 3 + r
            assert table["torrent"][row] == j and table["replication"][row] == r
            assert table["subject_join_s"][row] == res.peers["join_s"][0]
            for key in corpus_table.SUBJECT_HEADLINE:
                want, got = res.headline[key], table[key][row]
                if key == "end_s":
                    assert got <= want
                else:
                    assert (np.isnan(want) and np.isnan(got)) or want == got, (j, r, key, want, got)


def test_queue_runs_at_most_active_downloads_at_once(tmp_path):
    """Within a session replication no more than active_downloads (2) subjects download at the same
    time, and the queue held some torrents back beyond the auto-manage second."""
    table = simulate_corpus(load_corpus(session_corpus(tmp_path)), 3)
    added = np.array([100, 102, 104, 105], dtype=float)
    waited = 0
    for r in range(3):
        rows = table["replication"] == r
        start = table["subject_join_s"][rows]
        stop = start + table["subject_download_time_s"][rows]
        assert np.all(np.isfinite(stop))  # every subject completed (4 torrents, well within the horizon)
        for t in np.concatenate([start, stop]):
            assert np.sum((start <= t) & (t < stop)) <= 2, (r, t)
        waited += int(np.sum(start > added + 1.5))
    assert waited > 0


def test_identical_files_for_any_workers_and_block_size(tmp_path):
    corpus = session_corpus(tmp_path, SESSION.replace("torrents_per_session = 4", "torrents_per_session = 3"))
    assert_identical_for_any_workers_and_block_size(corpus, tmp_path)
    man = json.loads((tmp_path / "w1" / "manifest.json").read_text())
    assert man["corpus_model"] == "session" and man["corpus_session"]["torrents_per_session"] == 3
    assert "session s" in man["torrent_seed_rule"]


def test_report_and_verify_of_a_session_run(tmp_path):
    """The report states the session model and its queue; verify re-runs the session corpus identically."""
    out = tmp_path / "run"
    assert cli(["corpus", str(session_corpus(tmp_path)), "--out", str(out), "--workers", "1"])[0] == 0
    code, _, err = cli(["report", str(out)])
    assert code == 0, err
    md = (out / "report.md").read_text()
    assert "One client session holds the torrents" in md and "2 downloading at once" in md
    assert "consecutive sessions of 4 torrents" in md
    code, text, err = cli(["verify", str(out), "--workers", "1"])
    assert code == 0 and "identical" in text, err + text


@pytest.mark.parametrize("extra, base_edit, words", [
    ('[corpus.session]\ntorrents_per_session = 2\n', None, ["[corpus.session]", "model = 'session'", "'independent'"]),
    ('model = "session"\n[corpus.session]\ntorrents_per_session = 0\n', None,
     ["corpus.session.torrents_per_session", "greater than or equal to 1", "got 0"]),
    ('model = "session"\n[corpus.session]\nactive_downloads = "three"\n', None,
     ["corpus.session.active_downloads", "integer", "three"]),
    ('model = "session"\n[corpus.session]\nactive_download = 2\n', None,
     ["corpus.session.active_download", "unknown key", "active_downloads", "torrents_per_session"]),
    ('model = "sessions"\n', None, ["corpus.model", "unknown model 'sessions'", "'independent'", "'session'"]),
    ('model = "session"\nskip_idle_prefix = true\n', None, ["skip_idle_prefix", "model = 'independent'"]),
    ('model = "session"\n', ('on_complete = "stop"', 'on_complete = "stop"\nprofile = "free_rider"'),
     ["model 'session'", "subject.profile", "free_rider", "'libtorrent'"]),
])
def test_bad_session_corpus_input_exit_2_without_traceback(tmp_path, extra, base_edit, words):
    base = BASE.replace(*base_edit) if base_edit else BASE
    corpus = session_corpus(tmp_path, extra=extra, base=base)
    code, _, err = cli(["corpus", str(corpus), "--out", str(tmp_path / "o")])
    assert code == 2 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o").exists()
