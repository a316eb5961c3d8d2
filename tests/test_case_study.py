"""The case study (examples/case-study/): the generator reproduces the committed files, the corpus
has the shape of the public record, and base.toml / corpus.toml use the values of assumptions.toml."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np

from forensics.corpus import load_corpus
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "case-study"
A = tomllib.loads((CASE / "assumptions.toml").read_text())


def test_generator_reproduces_the_committed_files(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_case_study.py"), "--out", str(tmp_path)],
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name in ("corpus.toml", "torrents.csv", "corpus-session.toml"):
        assert (tmp_path / name).read_bytes() == (CASE / name).read_bytes(), name


def test_shape_of_the_public_record():
    """5,000 torrents of 1,000 books; mean book within 1% of LibGen's 208 TB / 16.3 M files."""
    rows = list(csv.DictReader(open(CASE / "torrents.csv")))
    assert len(rows) == 5000 and {r["files"] for r in rows} == {"1000"}
    mean_book = sum(int(r["total_size"]) for r in rows) / (5000 * 1000)
    assert abs(mean_book / (208e12 / 16.3e6) - 1) < 0.01, mean_book
    seeds = np.array([int(r["seeds"]) for r in rows])
    assert seeds.min() >= 1 and seeds.max() <= 20
    shares = [np.mean(seeds < 4), np.mean((seeds >= 4) & (seeds <= 10))]  # Anna's Archive's buckets
    assert abs(shares[0] - 0.6) < 0.03 and abs(shares[1] - 0.3) < 0.03
    join = np.array([float(r["subject_join_s"]) for r in rows])
    assert join.min() >= 1800 and join.max() <= 5400


def test_every_assumption_has_value_range_and_reason():
    for key, a in A.items():
        if key == "generator":
            continue
        assert {"value", "low", "high", "unit", "used_in", "status", "why"} <= set(a), key
        assert a["low"] <= a["value"] <= a["high"], key
        assert a["status"] in ("public", "derived", "assumed"), key


def test_median_book_size_is_derived_from_the_public_mean():
    s, m = A["book_size_sigma"]["value"], A["book_size_median_bytes"]["value"]
    assert abs(m * np.exp(s * s / 2) - 208e12 / 16.3e6) < np.exp(s * s / 2)  # the median is rounded down to a byte


def test_base_and_corpus_use_the_assumed_values():
    base = load_scenario(CASE / "base.toml")
    assert base.torrent.piece_size == A["piece_size_bytes"]["value"]
    assert base.swarm.connectable_share == A["connectable_share"]["value"]
    assert base.swarm.leechers.download.values == (A["leecher_download_bps"]["value"],)
    assert base.swarm.leechers.seed_time.mean() == A["leecher_seed_time_s"]["value"]
    assert base.subject.upload == A["subject_upload_bps"]["value"] and base.subject.on_complete == "stop"
    assert base.subject.libtorrent == type(base.subject.libtorrent)()  # libtorrent defaults
    corpus = load_corpus(CASE / "corpus.toml")
    fs = corpus.meta.file_sizes
    assert fs.median == A["book_size_median_bytes"]["value"] and fs.sigma == A["book_size_sigma"]["value"]
    assert corpus.meta.model == "independent" and len(corpus.torrents) == 5000
    sc = corpus.scenario_for(3)
    assert len(sc.torrent.files) == 1000 and sc.torrent.size_bytes == int(list(csv.DictReader(
        open(CASE / "torrents.csv")))[3]["total_size"])
    session = load_corpus(CASE / "corpus-session.toml")  # the same torrents through one client session
    cs = session.meta.session_settings
    assert session.meta.model == "session" and session.torrents == corpus.torrents
    assert session.meta.file_sizes == corpus.meta.file_sizes and session.meta.seed == corpus.meta.seed
    assert cs.torrents_per_session == A["torrents_per_session"]["value"]
    assert cs.active_downloads == A["active_downloads"]["value"] and cs.auto_managed
    assert (cs.active_seeds, cs.active_limit) == (5, 500)  # libtorrent's defaults
