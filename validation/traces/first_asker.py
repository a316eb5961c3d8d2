"""Who a seed serves first: in how many replications the subject is the first peer the seed sends
payload to, and the subject's share of what the seed sent in its first two seconds of sending,
lab and model side by side.

    python validation/traces/first_asker.py SOURCE [SOURCE ...] [--seed 1] [--peer 0] [--window 2] [--runs 30]
    python validation/traces/first_asker.py SOURCE [SOURCE ...] --first-data [--seed 1] [--peer 0]

SOURCE: a run directory with replications/NNNN/connections.csv[.gz|.xz] (``leechsim lab`` or
``leechsim simulate`` with ``--trace-connections``; a validation recording). ``--seed``: the seed's
peer number (1: the first seed); ``--peer``: the peer whose place is counted (0: the subject).

A seed's connections keep the shares they start with (validation/ANALYSIS.md, items 2 and 23), so
who gets a seed's first grants - its banked quota goes to the first connection that asks (item 12)
- shapes the whole download. The first peer served: of the peers with payload from the seed at the
seed's first sample that has any, the one with the most (ties share the count). Prints, per source: the fraction of
replications in which it is ``--peer``, and the mean over replications of ``--peer``'s share of the
seed's payload from that first sample's time to ``--window`` seconds after it.

``--first-data``: instead, how long after it joined (``join_s`` in the replication's peers.csv)
``--peer`` is first interested in the seed, first unchoked by it (its own trace of the connection)
and first has payload from it (the seed's trace): each the time of the first sample in that state,
less the join time; the 10th, 50th and 90th percentiles over replications. The lab samples every 100 ms, the model
at the end of each quota tick (500 ms), so a model's time is the end of the tick the first bytes
moved in.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pair_rates import replications  # noqa: E402  (the traces' reader, beside this script)

NEEDED = frozenset({"t_s", "local", "remote", "total_up_bytes"})
FIRST_DATA = NEEDED | {"interesting", "remote_choked"}


def tables(source: Path, runs: int | None) -> list[pd.DataFrame]:
    """The connections table of each replication of a run directory (at most ``runs``)."""
    return [t for t, _ in replications(source, runs, NEEDED)]


def first_served(conns: pd.DataFrame, seed: int, peer: int, window: float) -> tuple[float, float] | None:
    """(1 if ``peer`` is the first peer ``seed`` served - 1/n if it ties with n - 1 others - else 0;
    its share of the seed's payload in the first ``window`` seconds of sending); None if the seed
    sent nothing. Ties are common in the model, which samples once a quota tick."""
    mine = conns[conns.local == seed]
    sent = mine[mine.total_up_bytes > 0]
    if sent.empty:
        return None
    t0 = sent.t_s.min()
    at_t0 = sent[sent.t_s == t0].groupby("remote").total_up_bytes.max()
    top = at_t0[at_t0 == at_t0.max()]
    first = 1.0 / len(top) if peer in top.index else 0.0
    by = mine[mine.t_s <= t0 + window].groupby("remote").total_up_bytes.max()
    total = float(by.sum())
    return first, float(by.get(peer, 0)) / total


def first_data(conns: pd.DataFrame, peers_csv: Path, seed: int, peer: int) -> tuple[float, float, float] | None:
    """Seconds from ``peer``'s join to the first sample in which (its own trace of the connection)
    it is interested in ``seed`` and ``seed`` unchokes it, and (the seed's trace) ``seed`` has sent
    it payload; NaN for a state never sampled; None if the seed never sent it payload (or the peer
    is not in peers.csv)."""
    got = conns[(conns.local == seed) & (conns.remote == peer) & (conns.total_up_bytes > 0)]
    if got.empty:
        return None
    if not peers_csv.is_file():
        raise SystemExit(f"{peers_csv}: missing (--first-data needs each replication's peers.csv)")
    peers = pd.read_csv(peers_csv)
    if not {"peer", "join_s"} <= set(peers.columns):
        raise SystemExit(f"{peers_csv}: needs the columns peer and join_s")
    join = peers.loc[peers.peer == peer, "join_s"]
    if join.empty:
        return None
    mine = conns[(conns.local == peer) & (conns.remote == seed)]
    interested = mine[mine.interesting == 1].t_s.min()
    unchoked = mine[mine.remote_choked == 0].t_s.min()
    j = join.iloc[0]
    return float(interested - j), float(unchoked - j), float(got.t_s.min() - j)


def first_data_line(src: Path, runs: int | None, seed: int, peer: int) -> str:
    """--first-data's line for one run directory: first_data's three times, 10th / 50th / 90th
    percentiles over the replications in which the seed served ``peer``."""
    rows = [x for x in (first_data(t, p, seed, peer) for t, p in replications(src, runs, FIRST_DATA)) if x is not None]
    if not rows:
        return f"{src.name}: the seed sent peer {peer} nothing"
    with warnings.catch_warnings():  # a state never sampled in any replication: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanpercentile(np.array(rows), [10, 50, 90], axis=0)
    what = ("interested", "unchoked", "first payload")
    return (f"{src.name} ({len(rows)}): peer {peer} after its join, from peer {seed} (10th / 50th / 90th percentile): "
            + "; ".join(f"{w} {q[0, i]:.2f} / {q[1, i]:.2f} / {q[2, i]:.2f} s" for i, w in enumerate(what)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--peer", type=int, default=0)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=None, help="at most this many replications per source")
    ap.add_argument("--first-data", action="store_true",
                    help="instead: how long after its join --peer is first interested in, unchoked by and "
                         "served payload by the seed (percentiles; needs each replication's peers.csv)")
    a = ap.parse_args(argv)
    if a.window <= 0:
        ap.error(f"--window {a.window}: must be positive")
    if a.runs is not None and a.runs < 1:
        ap.error(f"--runs {a.runs}: must be at least 1")
    for src in a.sources:
        if a.first_data:
            print(first_data_line(src, a.runs, a.seed, a.peer))
            continue
        got = [r for r in (first_served(t, a.seed, a.peer, a.window) for t in tables(src, a.runs)) if r is not None]
        if not got:
            print(f"{src.name}: the seed sent nothing")
            continue
        first = np.mean([f for f, _ in got])
        share = np.mean([s for _, s in got])
        print(f"{src.name} ({len(got)}): peer {a.peer} first {first:.2f}, its share of the seed's first "
              f"{a.window:g} s {share:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
