"""Which pieces the subject brings into the swarm: how many it completes before every leecher (it
got them from the seeds alone), per run, and how long the leechers then take to complete them —
lab against model.

    python validation/traces/origins.py RUN_DIR [RUN_DIR ...]
    python validation/traces/origins.py --model SCENARIO [--runs 20]

RUN_DIR: a lab recording with every peer's block log (``leechsim lab ... --all-blocks``:
replications/NNNN/blocks/*-blocks.csv.gz, read by ``forensics.traces.read_block_log``; each
receiver's address read back to its peer number by ``forensics.lab.plan.peer_index``) and peers.csv. A peer completes a piece when
the last of its blocks not yet received is sent to it (the sender's log time; a block sent twice
counts once). ``--model``: the model stepped one quota tick at a time (sim.engine.SwarmRun, the same
replications as ``leechsim simulate``), a piece complete at the end of the tick it completed in.

Prints, per source: the count per run, their mean, and the median over those pieces of the time
from the subject's completion to the completion of the median leecher (of those that complete it).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the source tree's forensics/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from request_chain import stepped_runs  # noqa: E402  (this directory's script, beside this one)

from forensics.lab.plan import peer_index  # noqa: E402
from forensics.traces import read_block_log  # noqa: E402


def completions(blocks: pd.DataFrame) -> pd.DataFrame:
    """Completion time of each (peer, piece) from block logs (columns t_s, peer, piece, block), a
    piece's blocks being those any log has of it (its highest block number + 1)."""
    n_blocks = blocks.groupby("piece").block.max() + 1
    first = blocks.sort_values("t_s", kind="stable").drop_duplicates(["peer", "piece", "block"])
    g = first.groupby(["peer", "piece"]).agg(n=("block", "size"), t=("t_s", "max")).reset_index()
    g = g[g.n.to_numpy() == n_blocks.reindex(g.piece).to_numpy()]
    return g.pivot(index="piece", columns="peer", values="t")


def origins(comp: pd.DataFrame, subject: int, leechers: list[int], margin: float = 0.0) -> tuple[int, list[float]]:
    """(pieces the subject completed before every leecher - by more than ``margin`` seconds - and for
    each the median leecher's lag)."""
    n = 0
    lags = []
    for p, row in comp.iterrows():
        t0 = row.get(subject, math.nan)
        if math.isnan(t0):
            continue
        others = np.array([row.get(q, math.nan) for q in leechers], float)
        if (others[~np.isnan(others)] <= t0 + margin).any():
            continue
        n += 1
        done = others[~np.isnan(others)]
        if len(done):
            lags.append(float(np.median(done)) - t0)
    return n, lags


def lab_origins(run_dir: Path, margin: float = 0.0) -> tuple[list[int], list[float]]:
    reps = sorted((run_dir / "replications").iterdir()) if (run_dir / "replications").is_dir() else []
    if not reps:
        raise SystemExit(f"{run_dir}: no such run directory (replications/ missing or empty)")
    counts, lags = [], []
    for rep in reps:
        logs = sorted((rep / "blocks").glob("*-blocks.csv*")) if (rep / "blocks").is_dir() else []
        if not logs:
            raise SystemExit(f"{rep}: no block logs; record with `leechsim lab ... --all-blocks`")
        parts = []
        for f in logs:
            try:
                d = pd.DataFrame(read_block_log(f), columns=["t_s", "ip", "piece", "block"])
            except ValueError as e:
                raise SystemExit(str(e)) from None
            parts.append(d.assign(peer=d.ip.map(peer_index))[["t_s", "peer", "piece", "block"]])
        if not (rep / "peers.csv").exists():
            raise SystemExit(f"{rep / 'peers.csv'}: missing (each replication of a lab run has one)")
        peers = pd.read_csv(rep / "peers.csv")
        subject = int(peers.loc[peers.role == "subject", "peer"].iloc[0])
        leechers = [int(p) for p in peers.loc[peers.role == "leecher", "peer"]]
        n, lg = origins(completions(pd.concat(parts, ignore_index=True)), subject, leechers, margin)
        counts.append(n)
        lags += lg
    return counts, lags


def model_origins(scenario: Path, runs: int, margin: float = 0.0) -> tuple[list[int], list[float]]:
    counts, lags = [], []
    for run, ticker, leech in stepped_runs(scenario, runs):
        from sim.engine import SUBJECT  # importable once stepped_runs has put the source tree's sim/ on the path
        leechers = [int(q) for q in leech]
        peers = [SUBJECT] + leechers
        have = run.pc.have
        t_done = np.full((len(peers), have.shape[1]), np.nan)
        k = 1
        while ticker.is_alive:
            run.env.run(until=k * run.dt + run.dt / 2)  # everything of the tick that ends at k * dt
            rows = have[peers]
            t_done[rows & np.isnan(t_done)] = k * run.dt
            k += 1
        comp = pd.DataFrame(t_done.T, columns=peers)
        n, lg = origins(comp, SUBJECT, leechers, margin)
        counts.append(n)
        lags += lg
    return counts, lags


def _line(name: str, counts: list[int], lags: list[float]) -> str:
    med = f"{np.median(lags):.1f} s" if lags else "-"
    return (f"{name} ({len(counts)}): pieces the subject completed before every leecher {counts}, mean "
            f"{np.mean(counts):.1f}; then the median leecher {med} later (median over those pieces)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dirs", nargs="*", type=Path)
    ap.add_argument("--model", type=Path, help="a scenario file: the model instead")
    ap.add_argument("--runs", type=int, default=20, help="replications (--model; default 20)")
    ap.add_argument("--margin", type=float, default=0.0,
                    help="count a piece only if the subject completed it more than this many seconds before "
                         "every leecher (default 0). The model's times are the ends of its 0.5-s quota ticks: "
                         "a piece it completes in the same tick as a leecher is not counted")
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs: at least 1")
    if a.margin < 0:
        ap.error("--margin: not negative")
    if a.model is None and not a.run_dirs:
        ap.error("give RUN_DIR(s) or --model SCENARIO")
    for d in a.run_dirs:
        print(_line(d.name, *lab_origins(d, a.margin)))
    if a.model is not None:
        print(_line(f"{a.model.stem} (model)", *model_origins(a.model, a.runs, a.margin)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
