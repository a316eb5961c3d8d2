"""Corpus throughput on a slice of the case study, extrapolated to the full corpus; prints one JSON line.

Run:  python -m benchmarks.corpus_throughput [--torrents 20] [--runs 5] [--workers 2]

Runs ``leechsim corpus examples/case-study/corpus.toml --limit K --runs N`` through the library
(``forensics.corpus_run.run_corpus``) after a warm-up replication (numba compiled and cached), and
reports replications per second, seconds per torrent-replication on one core, the extrapolation to
the case study's 5,000 torrents x 100 replications on the same workers, and where a replication's
simulated time goes (before the subject joins, while it downloads). The first K torrents are a
random sample of the corpus (the generator draws every torrent independently).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "case-study" / "corpus.toml"
FULL_TORRENTS, FULL_RUNS = 5000, 100
TARGET_S = 3600.0


def warm_up() -> None:
    """Compile (or load) the kernels outside the measured time, as a long run pays it once."""
    from sim.engine import SwarmRun
    from sim.scenario import parse_scenario
    sc = parse_scenario({"torrent": {"total_size": "1MiB", "piece_size": "64KiB"}, "simulation": {"horizon_s": 60}})
    SwarmRun(sc, 0, np.random.SeedSequence(0)).run()


def corpus_throughput(torrents: int = 20, runs: int = 5, workers: int = 2, corpus: Path = CASE) -> dict:
    """Measure a slice of the case study; the extrapolation to 5,000 x 100 on the same workers."""
    from forensics import corpus_table
    from forensics.corpus_run import run_corpus
    warm_up()
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        run = run_corpus(corpus, Path(d) / "run", runs=runs, workers=workers, limit=torrents)
        wall = time.perf_counter() - t0
        table = corpus_table.read_table(run.root)
    reps = torrents * runs
    join, end = table["subject_join_s"], table["end_s"]
    full_reps = FULL_TORRENTS * FULL_RUNS
    projected = wall / reps * full_reps
    return {
        "command": f"python -m benchmarks.corpus_throughput --torrents {torrents} --runs {runs} --workers {workers}",
        "torrents": torrents, "runs": runs, "workers": workers, "replications": reps, "wall_s": wall,
        "replications_per_s": reps / wall, "core_s_per_replication": wall * workers / reps,
        "projected_full_s": projected, "projected_full_h": projected / 3600, "target_s": TARGET_S,
        "over_target": projected / TARGET_S,
        "mean_simulated_s": float(end.mean()), "mean_before_join_s": float(join.mean()),
        "mean_download_s": float(np.nanmean(table["subject_download_time_s"])),
        "share_simulated_before_join": float(join.sum() / end.sum()),
        "ticks_per_replication": float(end.mean() / 0.5),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torrents", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    print(json.dumps(corpus_throughput(a.torrents, a.runs, a.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
