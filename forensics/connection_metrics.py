"""How one uploader's connections get going: metrics over a connections table.

The table is ``replications/NNNN/connections.csv`` as ``leechsim lab --trace-connections`` writes
it (one row per sample and connection; columns in ``forensics/lab/trace.py``); the functions here
need only ``t_s``, ``local``, ``remote``, ``total_up_bytes``, ``choked``, ``optimistic_unchoke``
and ``remote_interested``, so a simulated table with the same columns gives the same metrics.
Everything but ``read_connections`` is a pure function of arrays.

Definitions (docs/lab.md, "Connection traces"):
- **sent bytes**: a connection's payload bytes from differences of ``total_up_bytes``; a total
  that drops means a new connection to the same peer, whose total counts from zero.
- **rate**: sent bytes over a centred window (default 1 s, cut to the sampled span) around each sample, by linear
  interpolation of the cumulative bytes: smooths libtorrent's 500 ms quota rounds without the
  half-window lag of a trailing window.
- **episode**: a run of consecutive samples in which the uploader has the remote unchoked
  (``choked`` = 0) and the remote is interested; it ends at the first sample where either stops,
  or at the connection's last sample. ``optimistic`` if any of its samples has the flag.
- **eventual rate**: the median rate over the samples in the last third of an episode's duration;
  **t50 / t90**: seconds from the episode's first sample to the first sample whose rate reaches
  50 % / 90 % of it. An episode's bytes are those of the intervals ending at its 2nd..last sample.
- **even-share ramp** (t50_fair / t90_fair): the same from the episode's first sample, against
  limit / (number of remotes in an episode at that sample) instead of the eventual rate; nan if
  the connection never gets there during the episode.
- **share**: a remote's part of the uploader's sent bytes in ``[start, start + window)``, where
  start is by default the first sample at which the uploader had sent anything.
- **utilisation**: bytes sent / (limit x time), counting only sample intervals that end with at
  least one interested remote (demand); intervals longer than 1 s (a gap) are skipped.
- **choked bytes**: bytes of intervals that begin and end with the remote choked (allowed-fast
  pieces, or a request already under way when the choke came).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .traces import open_by_suffix

NEEDED = ("t_s", "local", "remote", "total_up_bytes", "choked", "optimistic_unchoke", "remote_interested")
MAX_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Connection:
    """One uploader's view of one remote, sample by sample (times ascending)."""

    remote: int
    t_s: np.ndarray
    sent_bytes: np.ndarray  # bytes sent since the previous sample (the first: since the connection began)
    choked: np.ndarray  # bool: the uploader chokes the remote
    optimistic: np.ndarray  # bool
    remote_interested: np.ndarray  # bool

    @property
    def cumulative_bytes(self) -> np.ndarray:
        return np.cumsum(self.sent_bytes)

    def choked_bytes(self) -> int:
        """Bytes of the intervals at both ends of which the remote was choked: served while choked
        (allowed-fast pieces; a piece already under way when the choke came)."""
        both = self.choked & np.concatenate(([False], self.choked[:-1]))
        return int(self.sent_bytes[both].sum())


@dataclass(frozen=True)
class Episode:
    remote: int
    start_s: float
    end_s: float
    optimistic: bool
    bytes: int
    eventual_bps: float
    t50_s: float
    t90_s: float


def read_connections(path: str | Path, local: int | None = None) -> dict[str, np.ndarray]:
    """The columns this module needs, as arrays; only rows sampled by ``local`` if given."""
    cols: dict[str, list] = {c: [] for c in NEEDED}
    with open_by_suffix(path) as f:  # recorded matrix traces are compressed (.gz, or .xz)
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or any(c not in header for c in NEEDED):
            raise ValueError(f"{path}: not a connections table (needs columns {', '.join(NEEDED)})")
        idx = [header.index(c) for c in NEEDED]
        want = None if local is None else str(local)
        li = header.index("local")
        for row in reader:
            if want is not None and row[li] != want:
                continue
            for c, i in zip(NEEDED, idx):
                cols[c].append(row[i])
    out = {"t_s": np.asarray(cols["t_s"], dtype=np.float64)}
    for c in NEEDED[1:]:
        out[c] = np.asarray(cols[c], dtype=np.int64)
    return out


def sent_increments(total_bytes: np.ndarray) -> np.ndarray:
    """Bytes sent between consecutive samples of one connection's running total; a total that
    drops is a new connection counting from zero, so its increment is the new total."""
    total = np.asarray(total_bytes, dtype=np.int64)
    if len(total) == 0:
        return total.copy()
    inc = np.diff(total, prepend=0)
    restarted = inc < 0
    inc[restarted] = total[restarted]
    return inc


def connections_of(table: dict[str, np.ndarray], uploader: int) -> dict[int, Connection]:
    """The uploader's connections, one per remote peer (-1, unknown, left out)."""
    sel = table["local"] == uploader
    t, remote = table["t_s"][sel], table["remote"][sel]
    out = {}
    for r in sorted(set(remote.tolist()) - {-1}):
        m = remote == r
        order = np.argsort(t[m], kind="stable")
        pick = lambda name: table[name][sel][m][order]  # noqa: E731
        out[r] = Connection(remote=r, t_s=t[m][order], sent_bytes=sent_increments(pick("total_up_bytes")),
                            choked=pick("choked") != 0, optimistic=pick("optimistic_unchoke") != 0,
                            remote_interested=pick("remote_interested") != 0)
    return out


def centred_rate_bps(t_s: np.ndarray, cumulative_bytes: np.ndarray, window_s: float = 1.0) -> np.ndarray:
    """Rate at each sample: (C(b) - C(a)) / (b - a) over [a, b] = [t - w/2, t + w/2] cut to the
    sampled span, with C the cumulative bytes interpolated linearly between samples (bytes a
    connection had sent before its first sample are in no window). 0 for a lone sample."""
    if len(t_s) == 0:
        return np.zeros(0)
    c = np.asarray(cumulative_bytes, dtype=np.float64)
    a = np.maximum(t_s - window_s / 2, t_s[0])
    b = np.minimum(t_s + window_s / 2, t_s[-1])
    span = b - a
    diff = np.interp(b, t_s, c) - np.interp(a, t_s, c)
    return np.divide(diff, span, out=np.zeros_like(diff), where=span > 0)


def episode_spans(serving: np.ndarray) -> list[tuple[int, int]]:
    """[first, last] sample indices of each run of True in ``serving``."""
    s = np.asarray(serving, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], s.astype(np.int8), [0]))))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def ramp(t_s: np.ndarray, rate_bps: np.ndarray, fractions=(0.5, 0.9)) -> tuple[float, list[float]]:
    """(eventual rate, seconds to reach each fraction of it) within one episode's samples."""
    if len(t_s) == 0:
        return math.nan, [math.nan for _ in fractions]
    start, end = float(t_s[0]), float(t_s[-1])
    last_third = t_s >= start + (end - start) * 2 / 3
    eventual = float(np.median(rate_bps[last_third]))
    times = []
    for f in fractions:
        hit = np.flatnonzero(rate_bps >= f * eventual) if eventual > 0 else []
        times.append(float(t_s[hit[0]]) - start if len(hit) else math.nan)
    return eventual, times


def episodes(conn: Connection, window_s: float = 1.0) -> list[Episode]:
    rate = centred_rate_bps(conn.t_s, conn.cumulative_bytes, window_s)
    out = []
    for a, b in episode_spans(~conn.choked & conn.remote_interested):
        eventual, (t50, t90) = ramp(conn.t_s[a:b + 1], rate[a:b + 1])
        out.append(Episode(remote=conn.remote, start_s=float(conn.t_s[a]), end_s=float(conn.t_s[b]),
                           optimistic=bool(conn.optimistic[a:b + 1].any()),
                           bytes=int(conn.sent_bytes[a + 1:b + 1].sum()), eventual_bps=eventual,
                           t50_s=t50, t90_s=t90))
    return out


def served_count(t_s: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """How many episodes (start_s, end_s), ends included, cover each time."""
    n = np.zeros(len(t_s), dtype=np.int64)
    for a, b in spans:
        n += (t_s >= a) & (t_s <= b)
    return n


def fair_ramp(t_s: np.ndarray, rate_bps: np.ndarray, fair_bps: np.ndarray, fractions=(0.5, 0.9)) -> list[float]:
    """Seconds from the first sample until the rate first reaches each fraction of the even
    share ``fair_bps`` (per sample); nan if it never does."""
    out = []
    for f in fractions:
        hit = np.flatnonzero(rate_bps >= f * fair_bps)
        out.append(float(t_s[hit[0]] - t_s[0]) if len(hit) else math.nan)
    return out


def first_upload_s(conns: dict[int, Connection]) -> float:
    """Time of the first sample at which the uploader had sent anything (nan: never)."""
    ts = [float(c.t_s[np.flatnonzero(c.sent_bytes > 0)[0]]) for c in conns.values() if (c.sent_bytes > 0).any()]
    return min(ts) if ts else math.nan


def bytes_in_window(conns: dict[int, Connection], start_s: float, window_s: float) -> dict[int, int]:
    """Each remote's bytes sent at samples in [start, start + window)."""
    return {r: int(c.sent_bytes[(c.t_s >= start_s) & (c.t_s < start_s + window_s)].sum()) for r, c in conns.items()}


def shares(bytes_by_remote: dict[int, int]) -> dict[int, float]:
    total = sum(bytes_by_remote.values())
    return {r: (b / total if total else math.nan) for r, b in bytes_by_remote.items()}


def utilisation(conns: dict[int, Connection], limit_bps: float, start_s: float = -math.inf,
                end_s: float = math.inf) -> tuple[float, float, int]:
    """(utilisation, seconds with demand, bytes sent in them) over sample intervals ending in
    [start, end) with at least one interested remote; nan utilisation if unlimited or no demand."""
    times = np.unique(np.concatenate([c.t_s for c in conns.values()])) if conns else np.zeros(0)
    demand = np.zeros(len(times), dtype=bool)
    sent = np.zeros(len(times), dtype=np.int64)
    for c in conns.values():
        k = np.searchsorted(times, c.t_s)
        demand[k] |= c.remote_interested
        np.add.at(sent, k, c.sent_bytes)
    dt = np.diff(times, prepend=np.nan)
    use = demand & (dt <= MAX_INTERVAL_S) & (times >= start_s) & (times < end_s)
    seconds, nbytes = float(dt[use].sum()), int(sent[use].sum())
    if not limit_bps or limit_bps <= 0 or seconds <= 0:
        return math.nan, seconds, nbytes
    return nbytes / (limit_bps * seconds), seconds, nbytes


@dataclass(frozen=True)
class ConnectionSummary:
    remote: int
    first_seen_s: float
    first_unchoke_s: float  # first episode's start (nan: never served)
    first_optimistic: bool
    eventual_bps: float  # of the first episode
    t50_s: float
    t90_s: float
    t50_fair_s: float  # first episode: to 50 % / 90 % of the even share, limit / remotes being served
    t90_fair_s: float
    episodes: int
    optimistic_episodes: int
    window_bytes: int
    window_share: float
    total_bytes: int
    choked_bytes: int


@dataclass(frozen=True)
class UploaderSummary:
    uploader: int
    limit_bps: float
    window_start_s: float
    window_s: float
    utilisation: float  # over every interval with demand
    demand_s: float
    window_utilisation: float  # the same, within the share window
    choked_share: float  # of all bytes sent, those sent to choked remotes (Connection.choked_bytes)
    connections: tuple[ConnectionSummary, ...]
    episodes: tuple[Episode, ...]


def summarize_uploader(table: dict[str, np.ndarray], uploader: int, limit_bps: float, window_s: float = 60.0,
                       rate_window_s: float = 1.0, start_s: float | None = None) -> UploaderSummary:
    """Everything above for one uploader: per connection, per episode, and its utilisation."""
    conns = connections_of(table, uploader)
    start = first_upload_s(conns) if start_s is None else start_s
    window = bytes_in_window(conns, start, window_s) if math.isfinite(start) else {r: 0 for r in conns}
    share = shares(window)
    eps = {r: episodes(c, rate_window_s) for r, c in conns.items()}
    spans = [(e.start_s, e.end_s) for es in eps.values() for e in es]
    rows = []
    for r, c in conns.items():
        first = eps[r][0] if eps[r] else None
        fair50 = fair90 = math.nan
        if first and limit_bps and limit_bps > 0:
            k = (c.t_s >= first.start_s) & (c.t_s <= first.end_s)
            rate = centred_rate_bps(c.t_s, c.cumulative_bytes, rate_window_s)[k]
            fair50, fair90 = fair_ramp(c.t_s[k], rate, limit_bps / served_count(c.t_s[k], spans))
        rows.append(ConnectionSummary(
            remote=r, first_seen_s=float(c.t_s[0]),
            first_unchoke_s=first.start_s if first else math.nan,
            first_optimistic=bool(first and first.optimistic),
            eventual_bps=first.eventual_bps if first else math.nan,
            t50_s=first.t50_s if first else math.nan, t90_s=first.t90_s if first else math.nan,
            t50_fair_s=fair50, t90_fair_s=fair90,
            episodes=len(eps[r]), optimistic_episodes=sum(e.optimistic for e in eps[r]),
            window_bytes=window[r], window_share=share[r], total_bytes=int(c.sent_bytes.sum()),
            choked_bytes=c.choked_bytes()))
    util, demand_s, _ = utilisation(conns, limit_bps)
    wutil = utilisation(conns, limit_bps, start, start + window_s)[0] if math.isfinite(start) else math.nan
    total = sum(r.total_bytes for r in rows)
    all_eps = sorted((e for es in eps.values() for e in es), key=lambda e: (e.start_s, e.remote))
    return UploaderSummary(uploader=uploader, limit_bps=float(limit_bps), window_start_s=start, window_s=window_s,
                           utilisation=util, demand_s=demand_s, window_utilisation=wutil,
                           choked_share=sum(r.choked_bytes for r in rows) / total if total else math.nan,
                           connections=tuple(sorted(rows, key=lambda s: s.first_seen_s)), episodes=tuple(all_eps))


def uploader_headline(s: UploaderSummary) -> dict[str, float]:
    """The few numbers an experiment table shows for one uploader: the first connection to be
    unchoked (ties: first seen, then lowest index) and its share of the window; the median and
    worst t50/t90 of the later connections' first episodes; the same over every episode; and
    the utilisation of the limit."""
    served = sorted((c for c in s.connections if math.isfinite(c.first_unchoke_s)),
                    key=lambda c: (c.first_unchoke_s, c.first_seen_s, c.remote))
    later = served[1:]

    def med(xs) -> float:
        xs = [x for x in xs if math.isfinite(x)]
        return float(np.median(xs)) if xs else math.nan

    def worst(xs) -> float:
        xs = [x for x in xs if math.isfinite(x)]
        return float(max(xs)) if xs else math.nan

    return {
        "first_remote": served[0].remote if served else -1,
        "first_share": served[0].window_share if served else math.nan,
        "even_share": 1 / len(served) if served else math.nan,
        "later_t50_median_s": med(c.t50_s for c in later), "later_t90_median_s": med(c.t90_s for c in later),
        "later_t90_max_s": worst(c.t90_s for c in later),
        "later_t50_fair_median_s": med(c.t50_fair_s for c in later),
        "later_t90_fair_median_s": med(c.t90_fair_s for c in later),
        "later_reached_90_fair": sum(math.isfinite(c.t90_fair_s) for c in later), "later": len(later),
        "episodes": len(s.episodes), "optimistic_episodes": sum(e.optimistic for e in s.episodes),
        "episode_t50_median_s": med(e.t50_s for e in s.episodes),
        "episode_t90_median_s": med(e.t90_s for e in s.episodes),
        "utilisation": s.utilisation, "window_utilisation": s.window_utilisation,
        "choked_share": s.choked_share,
    }
