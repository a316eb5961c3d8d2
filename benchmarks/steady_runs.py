"""How long a connection's transfer stays the same, second after second, in the model; prints one JSON line.

Run:  python -m benchmarks.steady_runs [--corpus-torrents 6] [--runs 2] [--corpus FILE]

The evidence for the corpus speed's next mechanism (docs/case-study.md, "Speed"): a step over several
quota ticks for a connection in steady state pays only where connections stay steady for several
seconds. tick_cycles counts how often a connection's second repeats the one before; this measures
how long such stretches last. The first K torrents of a corpus x N replications are simulated as a
corpus run does (the idle prefix skipped if the corpus says so, stopped when the subject leaves),
with the engine's connection trace on (``corpus_run.simulate_until_subject_left(...,
trace_connections=True)``: every open connection, from each end, every quota tick). From each connection's bytes received in each whole second
(``total_down_bytes`` between two whole-second samples; a connection closed and reopened starts
again), it reports the share of transfer-seconds (seconds with bytes) that lie in runs of at least
2, 4, 8, 16 and 32 seconds in which each second carries exactly the bytes of the second before, or
within one block (16 KiB) of it; and the share of seconds in which every connection with bytes
repeats its second before (a step over the whole swarm would need that).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.corpus_throughput import CASE, _positive, slice_replications

BLOCK_BYTES = 16 * 1024
RUN_MINIMA = (2, 4, 8, 16, 32)


def run_lengths(bytes_per_s, tolerance: int) -> list[int]:
    """Lengths of the maximal runs of consecutive seconds with bytes (> 0) in which each second is
    within ``tolerance`` bytes of the second before; a second unlike both neighbours is a run of 1.
    ``bytes_per_s``: one connection's bytes in consecutive seconds."""
    out: list[int] = []
    n, prev = 0, None
    for x in bytes_per_s:
        x = int(x)
        if x <= 0:
            if n:
                out.append(n)
            n, prev = 0, None
            continue
        if prev is not None and abs(x - prev) <= tolerance:
            n += 1
        else:
            if n:
                out.append(n)
            n = 1
        prev = x
    if n:
        out.append(n)
    return out


def per_second_bytes(t_s, local, remote, total_down) -> dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]]:
    """Per connection (local, remote): its stretches of consecutive whole seconds, each as (second,
    bytes received in the second ending there). From trace rows: ``total_down`` is what ``local``
    has received on the connection; only samples at whole seconds are used; a gap in the seconds
    or a count that drops (the connection closed and reopened) starts a new stretch."""
    t_s, local, remote, total_down = (np.asarray(a) for a in (t_s, local, remote, total_down))
    sec = np.rint(t_s).astype(np.int64)
    whole = np.abs(t_s - sec) < 1e-9
    out: dict = {}
    for key in sorted(set(zip(local[whole].tolist(), remote[whole].tolist()))):
        sel = whole & (local == key[0]) & (remote == key[1])
        order = np.argsort(sec[sel], kind="stable")
        s, d = sec[sel][order], total_down[sel][order].astype(np.int64)
        step = np.diff(s)
        got = np.diff(d)
        ok = (step == 1) & (got >= 0)  # this second follows the last sample, on the same connection
        stretches = []
        start = 0
        for i in range(len(ok) + 1):
            if i == len(ok) or not ok[i]:
                if i > start:
                    stretches.append((s[start + 1:i + 1], got[start:i]))
                start = i + 1
        if stretches:
            out[key] = stretches
    return out


def swarm_seconds(conns: dict, tolerance: int) -> tuple[int, int]:
    """(seconds in which some connection received bytes, those in which every such connection is
    within ``tolerance`` of its own second before, which it had as well)."""
    by_second: dict[int, list[tuple[int, int | None]]] = {}
    for stretches in conns.values():
        for secs, got in stretches:
            for i, (s, x) in enumerate(zip(secs.tolist(), got.tolist())):
                if x > 0:
                    by_second.setdefault(s, []).append((x, int(got[i - 1]) if i > 0 else None))
    steady = sum(all(p is not None and p > 0 and abs(x - p) <= tolerance for x, p in rows)
                 for rows in by_second.values())
    return len(by_second), steady


def shares(lengths: list[int], minima=RUN_MINIMA) -> dict[str, float]:
    """Share of all seconds in the runs (sum of ``lengths``) that lie in runs of at least m seconds."""
    a = np.asarray(lengths, dtype=np.int64)
    total = int(a.sum())
    return {f">={m}s": (float(a[a >= m].sum()) / total if total else 0.0) for m in minima}


def steady_runs(torrents: int = 6, runs: int = 2, corpus: Path = CASE) -> dict:
    from forensics.corpus_run import simulate_until_subject_left

    exact: list[int] = []
    near: list[int] = []
    swarm = np.zeros(3, dtype=np.int64)  # seconds, all exact, all within a block
    reps = 0
    for u, sc, r, seed in slice_replications(torrents, runs, corpus):  # as a corpus run builds them
        reps += 1
        trace = simulate_until_subject_left(sc, r, seed, u.skip_idle_prefix,
                                            trace_connections=True).extra["connections"]
        if not len(trace["t_s"]):
            continue
        conns = per_second_bytes(trace["t_s"], trace["local"], trace["remote"], trace["total_down_bytes"])
        for stretches in conns.values():
            for _, got in stretches:
                exact += run_lengths(got, 0)
                near += run_lengths(got, BLOCK_BYTES)
        n, same = swarm_seconds(conns, 0)
        _, close = swarm_seconds(conns, BLOCK_BYTES)
        swarm += (n, same, close)
    other = "" if Path(corpus).resolve() == CASE.resolve() else f" --corpus {corpus}"
    return {
        "command": f"python -m benchmarks.steady_runs --corpus-torrents {torrents} --runs {runs}{other}",
        "replications": reps,
        "connection_seconds": int(sum(exact)),
        "in_runs_exact": shares(exact), "in_runs_within_block": shares(near),
        "swarm_seconds": int(swarm[0]),
        "swarm_all_exact": float(swarm[1] / swarm[0]) if swarm[0] else 0.0,
        "swarm_all_within_block": float(swarm[2] / swarm[0]) if swarm[0] else 0.0,
    }


def cli(argv: list[str]) -> int:
    from forensics.errors import UserError
    from sim.scenario import ScenarioError
    ap = argparse.ArgumentParser(prog="python -m benchmarks.steady_runs", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus-torrents", type=_positive, default=6, metavar="K", help="the first K torrents (default 6)")
    ap.add_argument("--runs", type=_positive, default=2, help="replications per torrent (default 2)")
    ap.add_argument("--corpus", type=Path, default=CASE, help="corpus file (default: the case study)")
    a = ap.parse_args(argv)
    try:
        from forensics.corpus import load_corpus
        n = len(load_corpus(a.corpus).torrents)
        if a.corpus_torrents > n:
            raise UserError(f"{a.corpus}: --corpus-torrents {a.corpus_torrents}: the corpus has {n} torrents")
        out = steady_runs(a.corpus_torrents, a.runs, a.corpus)
    except (ScenarioError, UserError, OSError) as e:
        print(f"python -m benchmarks.steady_runs: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
