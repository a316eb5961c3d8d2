"""Corpus throughput (pytest-benchmark): a slice of the case study, 2 torrents x 2 replications on
one worker, one round (a replication takes about a second). The full measurement and its
extrapolation to 5,000 x 100: ``python -m benchmarks.corpus_throughput`` (benchmarks/report.py's
corpus section)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.corpus_throughput import CASE, warm_up
from forensics.corpus_run import run_corpus


def test_corpus_slice(benchmark, tmp_path: Path):
    warm_up()
    outs = iter(range(10))
    run = benchmark.pedantic(lambda: run_corpus(CASE, tmp_path / f"r{next(outs)}", runs=2, workers=1, limit=2),
                             rounds=1, iterations=1)
    benchmark.extra_info["replications"] = 4
    assert run.summary["torrents"] == 2 and run.summary["replications"] == 2
