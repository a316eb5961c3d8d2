"""Corpus throughput on a slice of the case study, extrapolated to the full corpus; prints one JSON line.

Run:  python -m benchmarks.corpus_throughput [--torrents 20] [--runs 5] [--workers 2]
      python -m benchmarks.corpus_throughput --torrents 20 --runs 5 --replication-costs

Runs ``leechsim corpus examples/case-study/corpus.toml --limit K --runs N`` through the library
(``forensics.corpus_run.run_corpus``) after a warm-up replication (numba compiled and cached), and
reports replications per second, seconds per torrent-replication on one core, the extrapolation to
the case study's 5,000 torrents x 100 replications on the same workers, and where a replication's
simulated time goes (before the subject joins, while it downloads). The first K torrents are a
random sample of the corpus (the generator draws every torrent independently).

The extrapolation has three measured parts. A corpus run loads and checks its corpus file once —
all 5,000 torrents, whatever ``--limit`` — before it plans any work (``run_corpus``'s ``on_plan``):
that one-off part is counted once. From the plan to the last replication's result (workers
starting, every replication) is counted per replication and multiplied by 5,000 x 100 / (K x N).
Writing the run directory happens once per run, after the last replication, and grows far slower
than the replications (``write_cost``: about 0.15 s for 100 or 1,000 replications, 0.3 s for
10,000, 3.8 s for the full 500,000): it is timed at the full size — the same write, of a
5,000 x 100 table tiled from the slice's own rows — and counted once. (Scaling the whole wall
time instead would pay the one-off load 5,000 / K times over; counting the slice's write per
replication, as this benchmark did before, added about an hour: ``projected_full_h_write_repeated``.)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from forensics.errors import UserError

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


def tiled_table(table: dict[str, np.ndarray], torrents: int, runs: int) -> dict[str, np.ndarray]:
    """A per-replication table of ``torrents`` x ``runs`` rows, in (torrent, replication) order, its
    rows taken in turn from ``table`` (a slice's): the size of a full run, values of a real one."""
    idx = np.arange(torrents * runs) % len(table["torrent"])
    out = {k: v[idx] for k, v in table.items()}
    out["torrent"] = np.repeat(np.arange(torrents, dtype=np.int64), runs)
    out["replication"] = np.tile(np.arange(runs, dtype=np.int64), torrents)
    return out


def write_cost(table: dict[str, np.ndarray], torrents: int = FULL_TORRENTS, runs: int = FULL_RUNS,
               corpus: Path = CASE, clock=time.perf_counter) -> float:
    """Seconds (``clock``) ``run_corpus`` takes after its simulation for a run of ``torrents`` x
    ``runs``: the run directory's write, everything in it (the table, totals, per-torrent rows,
    summary, manifest, hashes). The simulation is replaced by ``tiled_table`` of ``table``."""
    from unittest import mock

    from forensics import corpus_run
    marks: dict[str, float] = {}

    def simulated(c, n, *args, **kwargs):
        marks["written_from"] = clock()
        return tiled_table(table, len(c.torrents), n)

    with tempfile.TemporaryDirectory() as d, mock.patch.object(corpus_run, "simulate_corpus", simulated):
        corpus_run.run_corpus(corpus, Path(d) / "run", runs=runs, workers=1, limit=torrents)
        return clock() - marks["written_from"]


def load_corpus_tick(corpus: Path) -> float:
    from forensics.corpus import load_corpus
    return load_corpus(corpus).base.simulation.tick_s


def corpus_throughput(torrents: int = 20, runs: int = 5, workers: int = 2, corpus: Path = CASE) -> dict:
    """Measure a slice of the case study; the extrapolation to 5,000 x 100 on the same workers."""
    from forensics import corpus_table
    from forensics.corpus_run import run_corpus
    warm_up()
    marks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        run = run_corpus(corpus, Path(d) / "run", runs=runs, workers=workers, limit=torrents,
                         on_plan=lambda p: marks.setdefault("plan", time.perf_counter()),
                         on_progress=lambda p: marks.__setitem__("last", time.perf_counter()))
        wall = time.perf_counter() - t0
        table = corpus_table.read_table(run.root)
    # The one-off parts: loading and checking the corpus file (all 5,000 torrents), up to the plan,
    # and writing the run directory, timed at the full size. From the plan to the last result
    # (worker start-up, the simulation) is counted per replication. At this slice's size the
    # one-off parts are a large share of the wall time: scaling the whole wall time would pay the
    # load 5,000 / K times (``projected_full_h_load_repeated``, the projection used first), and
    # counting the slice's write per replication would pay it 5,000 x 100 / (K x N) times
    # (``projected_full_h_write_repeated``, the projection used next); both kept for comparison.
    load_s = marks["plan"] - t0
    simulate_s = marks["last"] - marks["plan"]
    once_s = wall - simulate_s
    write_slice_s = wall - (marks["last"] - t0)
    full_reps = FULL_TORRENTS * FULL_RUNS
    write_full_s = write_cost(table, FULL_TORRENTS, FULL_RUNS, corpus)
    reps = torrents * runs
    per_rep_s = simulate_s / reps
    join, end = table["subject_join_s"], table["end_s"]
    projected = load_s + per_rep_s * full_reps + write_full_s
    other = "" if Path(corpus).resolve() == CASE.resolve() else f" --corpus {corpus}"
    return {
        "command": f"python -m benchmarks.corpus_throughput --torrents {torrents} --runs {runs} --workers {workers}"
                   + other,
        "torrents": torrents, "runs": runs, "workers": workers, "replications": reps, "wall_s": wall,
        "replications_per_s": reps / wall, "core_s_per_replication": wall * workers / reps,
        "load_s": load_s, "per_replication_s": per_rep_s, "projected_full_load_s": load_s,
        "simulate_per_replication_s": simulate_s / reps, "write_s": write_slice_s,
        "write_full_s": write_full_s, "projected_full_replications_s": per_rep_s * full_reps,
        "projected_full_s": projected, "projected_full_h": projected / 3600, "target_s": TARGET_S,
        "over_target": projected / TARGET_S,
        "projected_full_h_load_repeated": wall / reps * full_reps / 3600,
        "projected_full_h_write_repeated": (load_s + (wall - load_s) / reps * full_reps) / 3600,
        "simulate_wall_s": simulate_s, "load_and_write_s": once_s,
        "mean_simulated_s": float(end.mean()), "mean_before_join_s": float(join.mean()),
        "mean_download_s": float(np.nanmean(table["subject_download_time_s"])),
        "share_simulated_before_join": float(join.sum() / end.sum()),
        "ticks_per_replication": float(end.mean() / load_corpus_tick(corpus)),
    }


def cpu_per_replication(torrents: int = 20, runs: int = 5, rounds: int = 3, corpus: Path = CASE) -> dict:
    """The slice's units run in this process ``rounds`` times: the least CPU time per replication
    (process time, so other jobs on a shared machine inflate it less than wall time), and what it
    makes 5,000 x 100 on 2 cores doing nothing else: the corpus's one-off load (CPU time of
    ``load_corpus``, once, on one core), the replications shared by the 2 cores, and the run
    directory's write at the full size, once (``write_cost``, CPU time; the slice's own is not
    written). As a corpus run's pool workers do (forensics.corpus_run._init_corpus_worker,
    forked from the process that loaded the corpus), the heap at the start is frozen (gc.freeze)."""
    import gc

    from forensics import corpus_table
    from forensics.corpus import load_corpus
    from forensics.corpus_run import plan_units, run_unit
    warm_up()
    t = time.process_time()
    c = load_corpus(corpus)
    load_cpu_s = time.process_time() - t
    c.torrents = c.torrents[:torrents]
    gc.freeze()
    units = plan_units(c, runs)
    run_unit(units[0], c.base)  # this process's first call of each kernel signature, outside the timing
    best = math.inf
    for _ in range(rounds):
        t = time.process_time()
        parts = [run_unit(u, c.base) for u in units]
        best = min(best, time.process_time() - t)
    gc.unfreeze()
    reps = torrents * runs
    per_rep = best / reps
    # the run directory's write, once, at the full size (see the module's docstring)
    write_full_cpu_s = write_cost(corpus_table.concat(parts), FULL_TORRENTS, FULL_RUNS, corpus, time.process_time)
    other = "" if Path(corpus).resolve() == CASE.resolve() else f" --corpus {corpus}"
    return {"command": f"python -m benchmarks.corpus_throughput --torrents {torrents} --runs {runs} --cpu-rounds {rounds}"
                       + other, "replications": reps, "cpu_s_per_replication": per_rep, "load_cpu_s": load_cpu_s,
            "write_full_cpu_s": write_full_cpu_s,
            "projected_full_h_2_cores": (load_cpu_s + per_rep * FULL_TORRENTS * FULL_RUNS / 2 + write_full_cpu_s) / 3600}


def tail_shares(costs: np.ndarray, fractions=(0.01, 0.1, 0.25)) -> dict[str, float]:
    """The share of the total that the costliest ``fraction`` of the items take (at least one item)."""
    c = np.sort(np.asarray(costs, dtype=float))[::-1]
    total = float(c.sum())
    return {f"top_{round(100 * f)}pct": (float(c[:max(1, int(round(f * len(c))))].sum()) / total if total else 0.0)
            for f in fractions}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (ties: average ranks; pandas' rank, no scipy needed)."""
    import pandas as pd
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def slice_replications(torrents: int, runs: int, corpus: Path = CASE):
    """The first ``torrents`` torrents x ``runs`` replications of a corpus as a corpus run builds
    them: (unit, the torrent's scenario, replication, its seed), in order."""
    from forensics.corpus import load_corpus
    from forensics.corpus_run import _scenario, plan_units
    from sim.montecarlo import replication_seeds
    c = load_corpus(corpus)
    for u in plan_units(c, runs):
        if u.index >= torrents:
            continue
        sc = _scenario(c.base, u)
        seeds = replication_seeds(u.master_seed, u.replications)
        for r in range(u.start, u.stop):
            yield u, sc, r, seeds[r]


def replication_costs(torrents: int = 20, runs: int = 5, corpus: Path = CASE) -> dict:
    """Where a corpus's CPU goes, replication by replication: each replication of the slice is run
    as a corpus runs it (``corpus_run.simulate_until_subject_left``, the idle prefix skipped if the
    corpus says so) and timed on its own (process time, after a warm-up), with its simulated time
    before the subject joins and the subject's download time. Reported: the share of the CPU the
    costliest 1 / 10 / 25 % of replications take, the rank correlation of a replication's CPU with
    the subject's download time, and the CPU per simulated second of the subject's download — what a
    faster step for long downloads would have to cut."""
    from forensics.corpus_run import simulate_until_subject_left
    warm_up()
    cpu, download, before = [], [], []
    first = True
    for u, sc, r, seed in slice_replications(torrents, runs, corpus):
        if first:  # this process's first call of each kernel signature, outside the timing
            simulate_until_subject_left(sc, r, seed, u.skip_idle_prefix)
            first = False
        t = time.process_time()
        res = simulate_until_subject_left(sc, r, seed, u.skip_idle_prefix)
        cpu.append(time.process_time() - t)
        download.append(res.headline["subject_download_time_s"])
        before.append(sc.subject.join_s - res.extra["idle_skipped_s"])
    cpu_a, dl = np.array(cpu), np.array(download, dtype=float)
    done = ~np.isnan(dl)
    other = "" if Path(corpus).resolve() == CASE.resolve() else f" --corpus {corpus}"
    rho = spearman(cpu_a[done], dl[done]) if done.sum() > 2 else float("nan")
    return {"command": f"python -m benchmarks.corpus_throughput --torrents {torrents} --runs {runs} --replication-costs"
                       + other,
            "replications": int(len(cpu_a)), "cpu_s_mean": float(cpu_a.mean()), "cpu_s_max": float(cpu_a.max()),
            "cpu_share": tail_shares(cpu_a),
            "spearman_cpu_vs_download_time": float(rho),
            "cpu_ms_per_download_s": 1000 * float(cpu_a[done].sum() / dl[done].sum()) if done.any() else float("nan"),
            "simulated_s_before_join_mean": float(np.mean(before)),
            "download_s_mean": float(np.nanmean(dl)) if done.any() else float("nan"),
            "completed": int(done.sum())}


def stop_against_full(torrents: int = 3, corpus: Path = CASE) -> list[dict]:
    """Replication 0 of the first ``torrents`` torrents, stopped once the subject left (as a corpus runs
    it) and run to the swarm's end (as ``simulate`` does): wall seconds, simulated end, same upload."""
    from forensics.corpus import load_corpus
    from forensics.corpus_run import simulate_until_subject_left
    from sim.engine import SwarmRun
    warm_up()
    c = load_corpus(corpus)
    seeds = c.torrent_seeds()
    rows = []
    for i in range(torrents):
        sc = c.scenario_for(i)
        ss = np.random.SeedSequence(seeds[i]).spawn(c.meta.replications)[0]
        t = time.perf_counter()
        stopped = simulate_until_subject_left(sc, 0, ss)
        a = time.perf_counter() - t
        t = time.perf_counter()
        full = SwarmRun(sc, 0, ss).run()
        b = time.perf_counter() - t
        rows.append({"torrent": i, "stopped_wall_s": a, "stopped_end_s": stopped.headline["end_s"], "full_wall_s": b,
                     "full_end_s": full.headline["end_s"], "same_subject_upload": stopped.headline[
                         "subject_upload_total_bytes"] == full.headline["subject_upload_total_bytes"]})
    return rows


def tick_profile(torrent: int = 3, runs: int = 3, corpus: Path = CASE) -> dict:
    """Where one unit's time goes (cProfile): the fused tick kernel (swarm_tick, swarm_ticks), the
    engine's Python tick loop (``SwarmRun._ticker`` and SimPy around it), and the corpus's own
    reduction of each replication."""
    import cProfile
    import pstats
    from forensics.corpus import load_corpus
    from forensics.corpus_run import Unit, run_unit
    warm_up()
    c = load_corpus(corpus)
    # as a corpus run plans it (forensics.corpus_run.plan_units): the corpus's idle-prefix rule included
    u = Unit(torrent, c.torrents[torrent], c.meta.file_sizes, c.torrent_seeds()[torrent], c.meta.replications, 0, runs,
             c.meta.skip_idle_prefix)
    prof = cProfile.Profile()
    prof.enable()
    run_unit(u, c.base)
    prof.disable()
    st = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)

    def cum(name: str, file_part: str) -> tuple[float, int]:
        # a kernel the engine calls through its compiled entry point (sim.engine.entry_point) is a
        # built-in to cProfile: '<built-in method sim.kernels.tick.swarm_ticks>'
        hits = [(v[3], v[1]) for k, v in st.items()
                if (k[2] == name and file_part in k[0]) or (k[0] == "~" and k[2].endswith(f"{file_part}.{name}>"))]
        return (sum(h[0] for h in hits), sum(h[1] for h in hits)) if hits else (0.0, 0)

    total = cum("run_unit", "corpus_run")[0]
    sim, _ = cum("simulate_until_subject_left", "corpus_run")
    one, one_calls = cum("swarm_tick", "tick")  # one tick per call
    batched, batched_calls = cum("swarm_ticks", "tick")  # the ticks up to the next event in one call
    kernel, calls = one + batched, one_calls + batched_calls
    return {"command": f"python -m benchmarks.corpus_throughput --tick-profile {torrent}", "torrent": torrent,
            "replications": runs, "total_s": total, "kernel_calls": calls,
            "us_per_kernel_call": sim / max(calls, 1) * 1e6,
            "kernel_s": kernel, "engine_python_s": sim - kernel, "corpus_reduction_s": total - sim}


def _positive(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number >= 1")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.corpus_throughput", description=__doc__.split("\n\n")[0])
    ap.add_argument("--torrents", type=_positive, default=20)
    ap.add_argument("--runs", type=_positive, default=5)
    ap.add_argument("--workers", type=_positive, default=2)
    ap.add_argument("--corpus", type=Path, default=CASE,
                    help="another corpus file (e.g. examples/case-study/corpus-session.toml)")
    ap.add_argument("--stop-against-full", type=_positive, metavar="K",
                    help="instead: K torrents' replication 0 stopped when the subject left vs run to the end")
    ap.add_argument("--tick-profile", type=int, metavar="I", help="instead: where torrent I's replications spend time")
    ap.add_argument("--cpu-rounds", type=_positive, metavar="K",
                    help="instead: the slice in this process K times, the least CPU seconds per replication")
    ap.add_argument("--replication-costs", action="store_true",
                    help="instead: each replication's CPU on its own: how much the costliest take, and why")
    a = ap.parse_args(argv)
    try:
        from forensics.corpus import load_corpus
        n = len(load_corpus(a.corpus).torrents)  # a missing or bad corpus file: its error, before any work
        for flag, value in (("--torrents", a.torrents), ("--stop-against-full", a.stop_against_full)):
            if value is not None and value > n:
                raise UserError(f"{a.corpus}: {flag} {value}: the corpus has {n} torrents")
        if a.tick_profile is not None and not 0 <= a.tick_profile < n:
            raise UserError(f"{a.corpus}: --tick-profile {a.tick_profile}: a torrent index from 0 to {n - 1}")
        if a.cpu_rounds:
            print(json.dumps(cpu_per_replication(a.torrents, a.runs, a.cpu_rounds, a.corpus)))
        elif a.replication_costs:
            print(json.dumps(replication_costs(a.torrents, a.runs, a.corpus)))
        elif a.tick_profile is not None:
            print(json.dumps(tick_profile(a.tick_profile, corpus=a.corpus)))
        elif a.stop_against_full:
            for row in stop_against_full(a.stop_against_full, a.corpus):
                print(json.dumps(row))
        else:
            print(json.dumps(corpus_throughput(a.torrents, a.runs, a.workers, a.corpus)))
    except UserError as e:
        print(f"python -m benchmarks.corpus_throughput: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
