"""A late joiner's first pieces, and the pace of the swarm around it, lab against model, piece by
piece: every peer's piece completions are rebuilt from the lab recording's block logs
(``replications/NNNN/blocks/*-blocks.csv.gz``: the blocks each peer uploaded, to whom, when; peer i
at 127.B.0.(i+2)) and from the model stepped tick by tick (sim.engine.SwarmRun).

- ``first``: the subject's first pieces (a first block arrived before it held
  ``initial_picker_threshold`` = 4 pieces, between --from and --to), and the share of them some
  leecher still lacked at that moment. For the lab also what a uniform pick among the pieces each
  uploader held would have given, and what libtorrent's walk from a random start gives (both
  computed on the same logs, averaged over every start).
- ``pace``: the leechers' completion times (first, median, last in a run; medians over runs).
- ``stalls``: how the leechers' uploads stall between --from and --to, from connection traces (a
  recording, or ``leechsim simulate SCENARIO --trace-connections`` output): half-seconds in which
  a leecher sends nothing; its upload over five-second windows against its limit (10th and 90th
  percentile); samples in which none of its connections waits for bandwidth (``write_state``);
  the request queue (``download_queue_length``) of a leecher to a leecher and to a seed that
  unchokes it while it is interested.
- ``trade``: at each time of --at, the pieces each downloader (the subject and the leechers) holds,
  and how many of them another downloader still lacks: what it has to trade (means over
  downloaders and runs). With large pieces a peer uploads only whole pieces it holds, so this is
  what paces the swarm (hold-out h05, 16 MiB pieces).

Run:  python validation/traces/late_joiner.py first validation/holdout/recorded/h03-subject-join-30
      python validation/traces/late_joiner.py first validation/holdout/h03-subject-join-30.toml --runs 15
      python validation/traces/late_joiner.py pace validation/recorded/v04-late-join
      leechsim simulate validation/v04-late-join.toml --runs 15 --trace-connections --out runs/trace-v04
      python validation/traces/late_joiner.py stalls runs/trace-v04 --from 10 --to 25
      python validation/traces/late_joiner.py trade validation/holdout/recorded/h05-big-pieces --at 40 60 80
      python validation/traces/late_joiner.py trade validation/holdout/h05-big-pieces.toml --runs 5 --at 40 60 80
(for first, pace and trade a recording directory is the lab and a scenario file the model, ``--runs``
replications; for stalls the directory holds either.)
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sim.engine import SwarmRun, layout_of  # noqa: E402
from sim.kernels.picker import INITIAL_PICKER_THRESHOLD  # noqa: E402
from sim.montecarlo import replication_seeds  # noqa: E402
from sim.population import ROLE_LEECHER  # noqa: E402
from sim.scenario import ScenarioError, load_scenario  # noqa: E402

NEVER = 1e18


class Log:
    """One run: comp[i, p] / first[i, p] (the time peer i completed piece p / got its first
    block; NEVER if not), src[(i, p)] (who sent that first block), leechers, done[i] (completion)."""

    def __init__(self, comp, first, src, leechers, done):
        self.comp, self.first, self.src, self.leechers, self.done = comp, first, src, leechers, done

    def lacking(self, t: float) -> np.ndarray:
        """Pieces some leecher still in the swarm lacks at time t."""
        out = np.zeros(self.comp.shape[1], bool)
        for i in self.leechers:
            if self.done[i] > t:
                out |= self.comp[i] > t
        return out


def lab_logs(rec: Path):
    blocks = layout_of(load_scenario(rec / "scenario.toml")).piece_blocks()  # the recording's own torrent
    for rep in sorted(p for p in (rec / "replications").iterdir() if p.is_dir()):
        peers = list(csv.DictReader(open(rep / "peers.csv")))
        received = collections.defaultdict(list)
        base = None
        for f in (rep / "blocks").glob("*-blocks.csv.gz"):
            name = f.name.split("-blocks")[0]
            sender = 0 if name == "subject" else int(name.split("-")[1])
            with gzip.open(f, "rt") as fh:
                next(fh)  # the header names four columns; the rows carry a fifth, the port
                for line in fh:
                    t, ip, piece, _block = line.split(",")[:4]
                    received[ip].append((float(t), int(piece), sender))
                    base = base or ".".join(ip.split(".")[:2])
        n = len(peers)
        pieces = len(blocks)
        comp = np.full((n, pieces), NEVER)
        first = np.full((n, pieces), NEVER)
        src = {}
        for i in range(n):
            count = collections.Counter()
            for t, p, s in sorted(received.get(f"{base}.0.{i + 2}", [])):
                count[p] += 1
                if first[i, p] == NEVER:
                    first[i, p], src[(i, p)] = t, s
                if count[p] == blocks[p]:
                    comp[i, p] = t
        leechers = [i for i in range(n) if peers[i]["role"] == "leecher"]
        done = np.array([float(x["complete_s"]) if x["complete_s"] not in ("", "nan") else NEVER for x in peers])
        yield Log(comp, first, src, leechers, done)


def model_logs(path: Path, runs: int, until: float):
    sc = load_scenario(path)
    for r, seed in enumerate(replication_seeds(sc.simulation.seed, runs)):
        run = SwarmRun(sc, r, seed, max_batch_ticks=1)
        run.start()
        n, pieces = run.pc.have.shape
        comp = np.full((n, pieces), NEVER)
        first = np.full((n, pieces), NEVER)
        src = {}
        have, recv = run.pc.have.copy(), run.pc.recv.copy()
        while not run.finished and run.env.now < until:
            asking = [{run.ea.cur_piece[v, k]: run.ea.nbr[v, k] for k in range(run.pa.deg[v])} for v in range(n)]
            owner = run.pc.owner.copy()
            run.advance_to_next_tick()
            t = run.env.now
            comp[run.pc.have & ~have] = t
            started = (run.pc.recv > 0) & (recv == 0) & (first == NEVER)
            first[started] = t
            for v, p in zip(*np.nonzero(started)):
                src[(v, p)] = asking[v].get(p, owner[v, p] - 1 if owner[v, p] > 0 else -1)
            have, recv = run.pc.have.copy(), run.pc.recv.copy()
        leechers = [i for i in range(n) if run.pop.role[i] == ROLE_LEECHER]
        done = np.array([c.max() if (c < NEVER).all() else NEVER for c in comp])
        yield Log(comp, first, src, leechers, done)


def first_pieces(logs, t0: float, t1: float, lab: bool) -> tuple[int, float, list[float], list[float]]:
    """(picks, share lacked by some leecher, per pick the share a uniform pick would have lacked,
    per pick the share libtorrent's walk would have lacked; the last two for the lab only)."""
    picks = lacked = 0
    uniform, walk = [], []
    for log in logs:
        for p in np.nonzero((log.first[0] >= t0) & (log.first[0] < t1))[0]:
            t = log.first[0, p]
            if int((log.comp[0] <= t).sum()) >= INITIAL_PICKER_THRESHOLD:
                continue
            lack = log.lacking(t)
            picks += 1
            lacked += bool(lack[p])
            u = log.src.get((0, p), -1)
            if not lab or u < 0:
                continue
            # what the uploader held half a second before, that the subject had not started
            held = np.ones(len(lack), bool) if u not in log.leechers else log.comp[u] <= t - 0.5
            free = held & (log.first[0] > t - 0.5)
            if not free.any():
                continue
            uniform.append(float(lack[free].mean()))
            idx = np.nonzero(free)[0]
            walk.append(float(np.mean([lack[idx[np.searchsorted(idx, s) % len(idx)]] for s in range(len(lack))])))
    return picks, lacked / max(picks, 1), uniform, walk


def pace(logs) -> tuple[float, float, float, int]:
    """Medians over runs of the first, median and last leecher completion; runs counted."""
    firsts, medians, lasts = [], [], []
    for log in logs:
        times = sorted(log.done[i] for i in log.leechers if log.done[i] < NEVER)
        if times:
            firsts.append(times[0])
            medians.append(statistics.median(times))
            lasts.append(times[-1])
    if not medians:
        raise SystemExit("no leecher completed in any run")
    return statistics.median(firsts), statistics.median(medians), statistics.median(lasts), len(medians)


def trade(logs, times) -> dict[float, tuple[float, float]]:
    """For each time t: (mean pieces a downloader holds, mean of those another downloader lacks),
    over the subject and the leechers of every run."""
    held = {t: [] for t in times}
    lacked = {t: [] for t in times}
    for log in logs:
        downloaders = [0] + [i for i in log.leechers if i != 0]
        for t in times:
            for i in downloaders:
                mine = log.comp[i] <= t
                others = np.zeros(len(mine), bool)
                for j in downloaders:
                    if j != i:
                        others |= log.comp[j] > t
                held[t].append(int(mine.sum()))
                lacked[t].append(int((mine & others).sum()))
    if not any(held.values()):
        raise SystemExit("no run to read")
    return {t: (float(np.mean(held[t])), float(np.mean(lacked[t]))) for t in times}


def stalls(run_dir: Path, t0: float, t1: float, runs: int) -> None:
    import pandas as pd  # only this subcommand reads the (large) connection traces
    from favourites import trace_of  # this directory's: run as python validation/traces/late_joiner.py

    zero, low, high, idle, to_leecher, to_seed = [], [], [], [], [], []
    reps = sorted(p for p in (run_dir / "replications").glob("*") if p.is_dir())[:runs]
    if not reps:
        raise SystemExit(f"{run_dir}: no replications/ with runs in it")
    for rep in reps:
        trace = trace_of(rep)
        if trace is None:
            raise SystemExit(f"{rep}: no connections.csv; record or simulate with --trace-connections")
        d = pd.read_csv(trace)
        peers = pd.read_csv(rep / "peers.csv")
        leechers = set(peers.peer[peers.role == "leecher"])
        seeds = set(peers.peer[peers.role == "seed"])
        cap = dict(zip(peers.peer, peers.upload_bps))
        w = d[(d.t_s >= t0) & (d.t_s < t1) & d.local.isin(leechers)]
        waits = w.write_state.astype(str).str.contains("limit")
        idle.extend(1 - waits.groupby([w.t_s, w.local]).any())
        asks = w[(w.interesting == 1) & (w.remote_choked == 0)]
        to_leecher.extend(asks.download_queue_length[asks.remote.isin(leechers)])
        to_seed.extend(asks.download_queue_length[asks.remote.isin(seeds)])
        for step, out in ((0.5, None), (5.0, (low, high))):
            edges = np.arange(t0, t1 + 1e-9, step)
            for u in leechers:
                sent = np.zeros(len(edges))
                for _, g in d[d.local == u].groupby("remote"):
                    sent += np.interp(edges, g.t_s, g.total_up_bytes, left=0, right=g.total_up_bytes.iloc[-1])
                per = np.diff(sent)
                if out is None:
                    zero.extend(per == 0)
                else:
                    out[0].extend(per / (cap[u] * step))
    print(f"leechers' uploads {t0:g}-{t1:g} s, {len(reps)} runs: half-seconds with nothing sent {np.mean(zero):.1%}; "
          f"five-second windows: 10th percentile {np.percentile(low, 10):.0%} of the limit, "
          f"90th {np.percentile(low, 90):.0%}")
    print(f"  samples with no connection waiting for bandwidth (write_state): {np.mean(idle):.0%}; request queue "
          f"(median blocks) to a leecher {np.median(to_leecher):.0f}, to a seed {np.median(to_seed):.0f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["first", "pace", "stalls", "trade"])
    ap.add_argument("source", type=Path, help="a recording directory (lab) or a scenario file (model)")
    ap.add_argument("--runs", type=int, default=15, help="model replications; for stalls, runs read (default 15)")
    ap.add_argument("--from", dest="t0", type=float, default=30.0, help="first pieces from (s; default 30)")
    ap.add_argument("--to", dest="t1", type=float, default=50.0, help="first pieces until (s; default 50)")
    ap.add_argument("--at", type=float, nargs="+", default=[40.0, 60.0, 80.0], help="trade: times (s; default 40 60 80)")
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    if a.what == "stalls":
        if not a.source.is_dir():
            ap.error(f"{a.source}: stalls reads a directory (a recording, or simulate --trace-connections output)")
        stalls(a.source, a.t0, a.t1, a.runs)
        return
    lab = a.source.is_dir()
    if not lab and not a.source.is_file():
        ap.error(f"{a.source}: neither a recording directory nor a scenario file")
    if lab and not ((a.source / "replications").is_dir() and (a.source / "scenario.toml").is_file()):
        ap.error(f"{a.source}: a recording holds scenario.toml and replications/ (with each run's blocks/ logs)")
    if not lab:
        try:
            load_scenario(a.source)
        except ScenarioError as e:
            ap.error(str(e))
    until = a.t1 if a.what == "first" else max(a.at) if a.what == "trade" else 1e9
    logs = lab_logs(a.source) if lab else model_logs(a.source, a.runs, until=until)
    if a.what == "first":
        picks, share, uniform, walk = first_pieces(logs, a.t0, a.t1, lab)
        print(f"subject's first pieces (first block in {a.t0:g}-{a.t1:g} s, before it held "
              f"{INITIAL_PICKER_THRESHOLD}): {picks}, lacked by some leecher: {share:.0%}")
        if uniform:
            print(f"  a uniform pick among each uploader's pieces would give {np.mean(uniform):.0%}, "
                  f"libtorrent's walk from a random start {np.mean(walk):.0%} ({len(uniform)} picks with a known sender)")
    elif a.what == "trade":
        for t, (held, lacked) in trade(logs, a.at).items():
            print(f"at {t:g} s: a downloader holds {held:.1f} pieces, {lacked:.1f} of them lacked by another downloader")
    else:
        first, median, last, n = pace(logs)
        print(f"leechers' completion (median over {n} runs): first {first:.1f} s, median {median:.1f} s, "
              f"last {last:.1f} s")


if __name__ == "__main__":
    main()
