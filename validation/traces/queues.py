"""The leechers' request queues, by whom they ask: of a leecher's connection samples where it is
interested in the remote and the remote unchokes it, how often it has asked for nothing, and how
many blocks it has asked for (``download_queue_length``), split by the remote's role. Read the same
way from a recorded lab run and from a traced model run.

Run:  python validation/traces/queues.py RUN_DIR... [--replications N]
e.g.  leechsim simulate validation/v02-subject-capped.toml --runs 10 --trace-connections --out runs/sim-v02
      python validation/traces/queues.py validation/recorded/v02-subject-capped runs/sim-v02

With ``--in-time EDGE...`` (seconds after the subject's join, e.g. ``0 2 4 6 8 10 14 18 24``): the
same for the leechers' connections to the subject, window by window — the share of samples in
which the leecher is interested in the subject and unchoked by it, the share of those with
something asked, and the mean payload rate from the subject (kB/s, 1,000 bytes).

libtorrent's ``download_queue_length`` counts the requests sent and not yet answered; the model's
counts what it has asked for and not yet received (its runs of whole pieces, or its blocks of a
shared piece). A run without that column (the model before 2026-12-01) is refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from favourites import for_each_run, trace_of  # this directory's script: run as python validation/traces/queues.py

ROLES = ("seed", "leecher", "subject")


def samples(rep: Path) -> pd.DataFrame | None:
    """The leechers' asking samples of one replication: remote role and queue length."""
    trace = trace_of(rep)
    if trace is None:
        return None
    peers = pd.read_csv(rep / "peers.csv")
    role = dict(zip(peers.peer.astype(int), peers.role))
    d = pd.read_csv(trace, usecols=["local", "remote", "interesting", "remote_choked", "download_queue_length"])
    if d.download_queue_length.isna().all():
        raise SystemExit(f"{trace}: no download_queue_length in this trace (a model run before 2026-12-01?)")
    d = d[(d.local.map(role) == "leecher") & (d.interesting == 1) & (d.remote_choked == 0)]
    return pd.DataFrame({"remote_role": d.remote.map(role), "queue": d.download_queue_length.fillna(0).astype(int)})


def asking_in_time(rep: Path, edges: list[float]) -> pd.DataFrame | None:
    """One replication's leecher-to-subject samples, counted per window of time since the
    subject's join: samples, interested and unchoked, of those with something asked, the summed
    payload rate from the subject. None without a trace."""
    trace = trace_of(rep)
    if trace is None:
        return None
    peers = pd.read_csv(rep / "peers.csv")
    role = dict(zip(peers.peer.astype(int), peers.role))
    subject = [p for p, r in role.items() if r == "subject"]
    if not subject:
        return None
    join = float(peers.join_s[peers.peer == subject[0]].iloc[0])
    d = pd.read_csv(trace, usecols=["t_s", "local", "remote", "interesting", "remote_choked",
                                    "download_queue_length", "payload_down_bps"])
    if d.download_queue_length.isna().all():
        raise SystemExit(f"{trace}: no download_queue_length in this trace (a model run before 2026-12-01?)")
    d = d[(d.remote == subject[0]) & (d.local.map(role) == "leecher")]
    window = pd.cut(d.t_s - join, edges, right=True)
    open_ = (d.interesting == 1) & (d.remote_choked == 0)
    asked = open_ & (d.download_queue_length.fillna(0) > 0)
    return pd.DataFrame({"samples": 1, "open": open_.astype(int), "asked": asked.astype(int),
                         "rate": d.payload_down_bps.fillna(0.0)}).groupby(window, observed=False).sum()


def summarise_in_time(run: Path, replications: int | None, edges: list[float]) -> pd.DataFrame | None:
    reps = sorted((run / "replications").iterdir())[:replications]
    parts = [s for rep in reps if (s := asking_in_time(rep, edges)) is not None]
    if not parts:
        return None
    t = sum(parts[1:], parts[0])
    t.index.name = "seconds after the subject's join"
    n = t.samples.where(t.samples > 0)
    return pd.DataFrame({"interested and unchoked": t.open / n,
                         "of those, asked something": t.asked / t.open.where(t.open > 0),
                         "rate from the subject (kB/s)": t.rate / n / 1000.0}).T


def summarise(run: Path, replications: int | None) -> dict[str, dict] | None:
    reps = sorted((run / "replications").iterdir())[:replications]
    parts = [s for rep in reps if (s := samples(rep)) is not None]
    if not parts:
        return None
    d = pd.concat(parts)
    out = {}
    for r in ROLES:
        q = d.queue[d.remote_role == r].to_numpy()
        if len(q):
            out[r] = {"samples": len(q), "empty": float(np.mean(q == 0)),
                      "quartiles": [float(x) for x in np.percentile(q, [25, 50, 75])]}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--replications", type=int, default=None, help="the first N replications only")
    ap.add_argument("--in-time", type=float, nargs="+", metavar="EDGE",
                    help="instead: the leechers' asking of the subject in windows of seconds after its join")
    ns = ap.parse_args(argv)
    if ns.replications is not None and ns.replications < 1:
        ap.error(f"--replications {ns.replications}: must be at least 1")
    if ns.in_time is not None:
        if len(ns.in_time) < 2 or any(b <= a for a, b in zip(ns.in_time, ns.in_time[1:])):
            ap.error("--in-time: at least two window edges, increasing")

        def report_in_time(run: Path, t: pd.DataFrame) -> None:
            print(f"{run}: leechers and the subject, by seconds after its join")
            print(t.round(2).to_string())

        for_each_run(ap, ns.run_dirs, lambda run: summarise_in_time(run, ns.replications, ns.in_time),
                     report_in_time)
        return

    def report(run: Path, s: dict) -> None:
        print(f"{run}: a leecher, interested and unchoked, asking a ...")
        for r, m in s.items():
            q = m["quartiles"]
            print(f"  {r:8s} {m['samples']:8d} samples; nothing asked {m['empty']:5.1%}; "
                  f"blocks asked, quartiles {q[0]:g} / {q[1]:g} / {q[2]:g}")

    for_each_run(ap, ns.run_dirs, lambda run: summarise(run, ns.replications), report)


if __name__ == "__main__":
    main()
