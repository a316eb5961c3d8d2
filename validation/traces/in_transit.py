"""How long a leecher's REQUESTs take to reach the peer it asks, in the lab: from libtorrent's own
peer log (each REQUEST matched by piece and offset between the writer's ``==>`` line and the
reader's ``<==`` line), split by whom it asks; and, from connection traces, the share of a
leecher's outstanding requests to the subject that have not reached it yet (the leecher's
``download_queue_length`` less the subject's ``upload_queue_length`` for it, in the 100-ms samples
where the leecher has requests out).

Run:  leechsim lab validation/v03-subject-fast.toml --runs 1 --peer-log --trace-connections --out DIR
      python validation/traces/in_transit.py --peer-log DIR [--to 25] [--have] [--windows 0,10,30]
      python validation/traces/in_transit.py --traces validation/recorded/v03-subject-fast [--to 25]
      python validation/traces/in_transit.py --queue-time validation/recorded/v03-subject-fast SIM_DIR [--to 25]
      python validation/traces/in_transit.py --unread validation/holdout/recorded/h04-subject-download-400k [--from 10] [--to 60]

``--have`` (with ``--peer-log``): for each piece the subject announced (HAVE) to a leecher that the
leecher then asked it for, the seconds from the HAVE to the leecher's first REQUEST for it, to that
REQUEST's arrival at the subject, and to the piece's last block at the leecher; and how long after
the piece's last block reached the subject its first HAVE left.

``--windows A,B,C...`` (with ``--peer-log``): the leechers' REQUESTs to the subject split by when
they were written, [A, B), [B, C), ...: how many, and their transit's median and 90th percentile.

``--unread DIR...`` (lab run directories with connection traces): the bytes a leecher has written
into its connection to the subject, or to another leecher, that the other end has not read yet —
the writer's ``total_up_bytes`` on the connection less the reader's ``total_down_bytes`` on it, in
the same 100-ms sample (the two ends are sampled by different processes within the same sampling
round, so a sample may be off by what moved in between) — between ``--from`` and ``--to``: mean,
median, 90th percentile, and the share of samples with none. (The model's traces count a byte as
sent when it is read, so there it is always 0.)

``--queue-time DIR...`` (lab or model run directories with connection traces): for the leechers'
connections to the subject, the mean of the leecher's ``download_queue_length`` there over time,
the blocks a second it received from the subject, and their ratio, the mean time a block spends
asked for and not yet received (Little's law). The model's traces are sampled at the end of each
quota tick, after its transfers: a block asked for and received within one tick is never seen in
its queue, so the model's figure is a lower bound.

Peer numbers as in peers.csv: 0 the subject, 1 the first seed; a scenario with one seed has the
leechers from 2 on. Findings: validation/ANALYSIS.md, "What feeds a fast subject's upload".
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from download_grants import read_log  # noqa: E402
from pair_rates import replications  # noqa: E402

UNREAD = frozenset({"t_s", "local", "remote", "total_up_bytes", "total_down_bytes"})
QUEUE_TIME = frozenset({"t_s", "local", "remote", "download_queue_length", "total_down_bytes"})
SHARE = frozenset({"t_s", "local", "remote", "download_queue_length", "upload_queue_length"})

KINDS = (("leecher -> subject", lambda w, r: (w >= 2) & (r == 0)), ("leecher -> seed", lambda w, r: (w >= 2) & (r == 1)),
         ("leecher -> leecher", lambda w, r: (w >= 2) & (r >= 2)), ("subject -> any", lambda w, r: w == 0))


def request_transit(peer_log: pd.DataFrame, to_s: float) -> pd.DataFrame:
    """Each REQUEST written before ``to_s`` that was read: writer, reader, seconds in transit."""
    rq = peer_log[peer_log.event == "REQUEST"].copy()
    rq["piece"] = rq.detail.str.extract(r"^piece: (\d+)", expand=False).astype(float)
    rq["s"] = rq.detail.str.extract(r" s: (\d+)", expand=False).astype(float)
    out = rq[(rq.direction == "==>") & (rq.t_s < to_s)][["t_s", "local", "remote", "piece", "s"]]
    read = rq[rq.direction == "<=="][["t_s", "local", "remote", "piece", "s"]].rename(
        columns={"local": "remote", "remote": "local", "t_s": "t_read"})
    read = read.sort_values("t_read").drop_duplicates(["local", "remote", "piece", "s"])
    m = out.sort_values("t_s").drop_duplicates(["local", "remote", "piece", "s"]).merge(
        read, on=["local", "remote", "piece", "s"], how="inner")
    return pd.DataFrame({"writer": m.local, "reader": m.remote, "written_s": m.t_s, "transit_s": m.t_read - m.t_s})


def by_window(transit: pd.DataFrame, edges: list[float]) -> list[tuple[float, float, int, float, float]]:
    """The leechers' REQUESTs to the subject by the window [a, b) they were written in: (a, b, count,
    median transit, 90th percentile); nan where a window has none."""
    x = transit[(transit.writer >= 2) & (transit.reader == 0)]
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        t = x[(x.written_s >= a) & (x.written_s < b)].transit_s.to_numpy()
        med, p90 = np.percentile(t, [50, 90]) if len(t) else (np.nan, np.nan)
        out.append((a, b, len(t), float(med), float(p90)))
    return out


def have_to_block(peer_log: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """(per announced-then-asked piece and leecher: request_s, arrive_s, last_block_s after the
    subject's HAVE; per piece: the subject's first HAVE after its last block arrived, in s)."""
    pl = peer_log.assign(piece=peer_log.detail.str.extract(r"^piece: (\d+)", expand=False).astype(float))
    rows = []
    for v in sorted(set(pl[(pl.local == 0) & (pl.remote >= 2)].remote)):
        def first(local, remote, direction, event, how="min"):
            x = pl[(pl.local == local) & (pl.remote == remote) & (pl.direction == direction) & (pl.event == event)]
            return x.groupby("piece").t_s.agg(how)
        have = first(0, v, "==>", "HAVE")
        asked = pl[(pl.local == v) & (pl.remote == 0) & (pl.direction == "==>") & (pl.event == "REQUEST")]
        arrived = first(0, v, "<==", "REQUEST")
        last = first(v, 0, "<==", "PIECE", "max")
        for p, t in have.items():
            later = asked[(asked.piece == p) & (asked.t_s >= t)].t_s
            if len(later):
                rows.append({"leecher": v, "piece": p, "request_s": later.min() - t,
                             "arrive_s": arrived.get(p, np.nan) - later.min(), "last_block_s": last.get(p, np.nan) - t})
    got = pl[(pl.local == 0) & (pl.direction == "<==") & (pl.event == "PIECE")].groupby("piece").t_s.max()
    sent = pl[(pl.local == 0) & (pl.direction == "==>") & (pl.event == "HAVE")].groupby("piece").t_s.min()
    return pd.DataFrame(rows), (sent - got).dropna()


def queue_time(trace: pd.DataFrame, to_s: float) -> tuple[float, float, float]:
    """(queue-block-seconds, seconds, blocks received) over the leechers' connections to the subject
    before ``to_s``: each sample's queue length held until the next sample."""
    c = trace[(trace.local >= 2) & (trace.remote == 0) & (trace.t_s <= to_s)].sort_values("t_s")
    area = span = blocks = 0.0
    for _, g in c.groupby("local"):
        if len(g) < 2:
            continue
        t = g.t_s.to_numpy()
        q = g.download_queue_length.fillna(0).to_numpy()
        area += float((q[:-1] * np.diff(t)).sum())
        span += float(t[-1] - t[0])
        blocks += float(g.total_down_bytes.iloc[-1] - g.total_down_bytes.iloc[0]) / 16384
    return area, span, blocks


def unread_bytes(trace: pd.DataFrame, t0: float, t1: float) -> pd.DataFrame:
    """Per sample between ``t0`` and ``t1`` of each connection from a leecher (peer 2 and up): the
    reader, and the bytes written and not yet read (writer's total_up_bytes less the reader's
    total_down_bytes in the same 100-ms sample)."""
    t = trace.assign(tk=(trace.t_s * 10).round().astype(int))
    w = t[["tk", "local", "remote", "total_up_bytes"]].rename(columns={"local": "writer", "remote": "reader"})
    r = t[["tk", "local", "remote", "total_down_bytes"]].rename(columns={"local": "reader", "remote": "writer"})
    m = w.merge(r, on=["tk", "writer", "reader"])
    m = m[(m.tk >= round(t0 * 10)) & (m.tk < round(t1 * 10)) & (m.writer >= 2)]
    return pd.DataFrame({"reader": m.reader.to_numpy(), "unread": (m.total_up_bytes - m.total_down_bytes).to_numpy()})


def in_transit_share(trace: pd.DataFrame, to_s: float) -> tuple[int, float, float]:
    """(samples, mean outstanding requests, mean not yet at the subject) over the samples before
    ``to_s`` in which a leecher has requests out to the subject."""
    t = trace[trace.t_s < to_s]
    lee = t[(t.remote == 0) & (t.local >= 2)][["t_s", "local", "download_queue_length"]].rename(columns={"local": "peer"})
    sub = t[(t.local == 0) & (t.remote >= 2)][["t_s", "remote", "upload_queue_length"]].rename(columns={"remote": "peer"})
    lee = lee.assign(tk=(lee.t_s * 10).round().astype(int))
    sub = sub.assign(tk=(sub.t_s * 10).round().astype(int))
    m = lee.merge(sub, on=["peer", "tk"])
    m = m[m.download_queue_length > 0]
    if m.empty:
        return 0, 0.0, 0.0
    transit = (m.download_queue_length - m.upload_queue_length).clip(lower=0)
    return len(m), float(m.download_queue_length.mean()), float(transit.mean())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer-log", type=Path, help="a lab run directory recorded with --peer-log")
    ap.add_argument("--traces", type=Path, help="a lab run directory with connection traces")
    ap.add_argument("--to", type=float, default=25.0, help="only the first seconds (default 25)")
    ap.add_argument("--queue-time", type=Path, nargs="+", metavar="DIR",
                    help="the mean time a block is asked for and not yet received, by Little's law")
    ap.add_argument("--unread", type=Path, nargs="+", metavar="DIR",
                    help="bytes a leecher wrote into a connection and the other end has not read")
    ap.add_argument("--from", dest="t0", type=float, default=0.0, help="with --unread: from this second (default 0)")
    ap.add_argument("--have", action="store_true", help="with --peer-log: from the subject's HAVE to the block")
    ap.add_argument("--windows", help="with --peer-log: the leechers' REQUESTs to the subject by when they "
                                      "were written, window edges in seconds, e.g. 0,10,30,60")
    a = ap.parse_args(argv)
    if not (a.peer_log or a.traces or a.queue_time or a.unread):
        ap.error("give --peer-log DIR, --traces DIR, --queue-time DIR... or --unread DIR...")
    if a.unread and a.to <= a.t0:
        ap.error(f"--to {a.to:g} must be after --from {a.t0:g}")
    edges = None
    if a.windows is not None:
        if not a.peer_log:
            ap.error("--windows reads a peer log: give --peer-log DIR")
        try:
            edges = [float(x) for x in a.windows.split(",")]
        except ValueError:
            ap.error(f"--windows {a.windows}: give increasing seconds separated by commas, e.g. 0,10,30")
        if len(edges) < 2 or any(b <= e for e, b in zip(edges, edges[1:])) or edges[0] < 0:
            ap.error(f"--windows {a.windows}: give at least two increasing seconds from 0 on, e.g. 0,10,30")
        if edges[-1] > a.to:
            ap.error(f"--windows {a.windows}: the last edge is after --to {a.to:g}; raise --to")
    for d in a.unread or []:
        tables = replications(d, None, UNREAD)
        x = pd.concat([unread_bytes(t, a.t0, a.to) for t, _ in tables])
        if x.empty:
            sys.exit(f"{d}: no leecher's connection sampled at both ends between {a.t0:g} and {a.to:g} s")
        for name, sel in (("leecher -> subject", x.reader == 0), ("leecher -> leecher", x.reader >= 2)):
            u = x[sel].unread.astype(float)
            if len(u):
                print(f"{d.name} {name}: unread {u.mean() / 1e3:.1f} kB mean, {u.median() / 1e3:.1f} median, "
                      f"{np.percentile(u, 90) / 1e3:.1f} 90th percentile; none in {np.mean(u <= 0):.0%} of "
                      f"{len(u)} samples ({len(tables)} runs, {a.t0:g}-{a.to:g} s)")
    for d in a.queue_time or []:
        parts = [queue_time(t, a.to) for t, _ in replications(d, None, QUEUE_TIME)]
        area, span, blocks = (sum(x) for x in zip(*parts)) if parts else (0.0, 0.0, 0.0)
        if not span or not blocks:
            sys.exit(f"{d}: no leecher connection to the subject with blocks in its traces")
        print(f"{d}: a leecher's queue at the subject {area / span:.2f} blocks, {blocks / span:.2f} blocks/s "
              f"from it, {area / blocks:.2f} s a block asked and not yet received ({len(parts)} runs)")
    if a.peer_log:
        files = sorted(glob.glob(str(a.peer_log / "replications" / "*" / "peer_log.csv")))
        if not files:
            sys.exit(f"{a.peer_log}: no replications/NNNN/peer_log.csv (record with --peer-log)")
        d = pd.concat([request_transit(read_log(f), a.to) for f in files])
        for name, sel in KINDS:
            x = d[sel(d.writer, d.reader)].transit_s
            if len(x):
                q = np.percentile(x, [50, 75, 90])
                print(f"{name:20s} {len(x):6d} requests: median {q[0]:.3f} s, 75th {q[1]:.3f}, 90th {q[2]:.3f}, "
                      f"max {x.max():.3f}")
        if edges:
            print("leecher -> subject, by when written:")
            for lo, hi, n, med, p90 in by_window(d, edges):
                print(f"  {lo:g}-{hi:g} s: {n:5d} requests" + (f", median {med:.2f} s, 90th {p90:.2f} s" if n else ""))
    if a.peer_log and a.have:
        chains, have_after = zip(*(have_to_block(read_log(f)) for f in files))
        d = pd.concat(chains)
        if d.empty:
            sys.exit(f"{a.peer_log}: no piece the subject announced and a leecher then asked it for")
        for col, what in (("request_s", "the leecher's REQUEST after the HAVE"),
                          ("arrive_s", "that REQUEST at the subject after it was written"),
                          ("last_block_s", "the piece's last block at the leecher after the HAVE")):
            x = d[col].dropna()
            print(f"{what}: median {x.median():.3f} s, mean {x.mean():.3f} s ({len(x)} pieces)")
        h = pd.concat(have_after)
        print(f"the subject's HAVE after the piece's last block reached it: median {h.median():.3f} s, "
              f"max {h.max():.3f} s ({len(h)} pieces)")
    if a.traces:
        parts = [in_transit_share(t, a.to) for t, _ in replications(a.traces, None, SHARE)]
        n = sum(p[0] for p in parts)
        if not n:
            sys.exit(f"{a.traces}: no samples with a leecher's requests out to the subject")
        out = sum(p[0] * p[1] for p in parts) / n
        transit = sum(p[0] * p[2] for p in parts) / n
        print(f"{len(parts)} runs, {n} samples: a leecher's requests out to the subject {out:.1f} blocks, "
              f"not yet at the subject {transit:.1f} ({transit / out:.0%})")


if __name__ == "__main__":
    main()
