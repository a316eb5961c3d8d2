"""Where the compiled tick's time goes, step by step, in CPU cycles; prints one JSON line.

Run:  python -m benchmarks.tick_cycles SCENARIO
      python -m benchmarks.tick_cycles --corpus-torrents 20 --runs 5   (the case study's first torrents)

The engine runs the ticks between two events in one compiled call (sim/kernels/tick.py:
swarm_ticks), so its steps cannot be timed from Python without changing what is measured: in a
small swarm a tick takes a few microseconds, less than one Python call of a kernel
(benchmarks/scaling.py's ``--breakdown`` times the steps from Python, which suits a large swarm).
Here the same steps, in the same order, are compiled into one function with the CPU's cycle
counter (LLVM's ``readcyclecounter``) read between them, and the engine runs it in place of
swarm_ticks and swarm_tick: the results are the fused tick's, bit for bit
(tests/test_benchmark_tick_cycles.py checks it). Reported: each step's share of the cycles, cycles per
tick and per active transfer (flow), flows per tick, how many ticks had flows, a choke round, a
session's second tick. Cycle counts are the CPU's time-stamp counter (constant rate on this
machine's CPUs); divide by its frequency for seconds. Nothing is cached on disk: the counters'
address is compiled in. The counted ticks are compiled without numba's runtime (``_nrt=False``),
as the model's are: with it, every step compiled into them (grant_sends_into, transfer_blocks and
the small steps LLVM inlines) counted references on the state tuples' arrays, which the model's
tick does not, and the shares and cycles came out far too large (11,474 cycles a tick on the
case-study slice, against 6,614 runtime-free, on the same code).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from sim.kernels.bandwidth import (ask_when_asked, close_download_quota, download_quota_tick, grant_sends_into,
                                   open_download_quota, return_unsendable_quota, second_tick, second_tick_due,
                                   upload_quota_tick)
from sim.protocol import BLOCK_BYTES
from sim.kernels.choke import choke_peers
from sim.kernels.tick import RATIO_MARGIN, any_choker_due, any_second_tick_work
from sim.kernels.transfer import ask_before_sending, collect_flows, serve_order_into, transfer_blocks

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "case-study" / "corpus.toml"

# The tick's steps, in sim/kernels/tick.py's order (_tick_steps); "idle_quota" is the quota ticks of
# a tick without transfers (the other branch of the same step).
STEPS = ("choke_check", "choke", "open_download", "collect_flows", "serve_order", "ask_before_sending",
         "ask_when_asked", "upload_quota", "download_quota", "grant_sends", "transfer_blocks", "return_quota",
         "idle_quota", "close_download", "second_tick")
(CHOKE_CHECK, CHOKE, OPEN_DOWNLOAD, COLLECT_FLOWS, SERVE_ORDER, ASK_BEFORE_SENDING, ASK_WHEN_ASKED, UPLOAD_QUOTA,
 DOWNLOAD_QUOTA, GRANT_SENDS, TRANSFER_BLOCKS, RETURN_QUOTA, IDLE_QUOTA, CLOSE_DOWNLOAD, SECOND_TICK) = range(len(STEPS))
N_STEPS = len(STEPS)
# ... and what happened: ticks, transfers, choke rounds, second ticks; and, at each connection's
# second tick, whether its downloader received bytes in the second just ended ("conn_seconds"),
# exactly as many as in the second before ("conn_seconds_same"), or within one block of it
# ("conn_seconds_within_block"): how often a connection's transfer repeats itself second to second.
EVENTS = ("ticks", "ticks_with_flows", "flows", "choke_ticks", "second_tick_ticks", "conn_seconds",
          "conn_seconds_same", "conn_seconds_within_block")
(TICKS, TICKS_WITH_FLOWS, FLOWS, CHOKE_TICKS, SECOND_TICK_TICKS, CONN_SECONDS, CONN_SECONDS_SAME,
 CONN_SECONDS_WITHIN_BLOCK) = range(len(EVENTS))
N_EVENTS = len(EVENTS)
CYCLES = np.zeros(N_STEPS, np.uint64)
COUNTS = np.zeros(N_EVENTS, np.uint64)
_CYCLES_AT = CYCLES.ctypes.data
_COUNTS_AT = COUNTS.ctypes.data


@intrinsic
def _cycles(typingctx):
    """The CPU's cycle counter (llvm.readcyclecounter: RDTSC on x86-64)."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])
    return types.uint64(), codegen


@intrinsic
def _u64_at(typingctx, address):
    """A uint64 pointer from an address (the counters' arrays, allocated by this module)."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.PointerType(ir.IntType(64)))
    return types.CPointer(types.uint64)(types.intp), codegen


@njit(cache=False, inline="always")
def _lap(cyc, step, t):
    """The cycles since ``t`` to ``step``'s count; returns the counter now."""
    now = _cycles()
    cyc[step] += now - t
    return now


@njit(cache=False, _nrt=False)
def _count_repeats(pa, ea, tick, ticks_per_s, cnt):
    """Before the second tick: the connections of the peers whose second ends now that received
    bytes in it, and how many of those received as many as in the second before (or within a block)."""
    tick_mod = tick % ticks_per_s
    for u in range(pa.deg.shape[0]):
        if not pa.active[u] or not second_tick_due(tick, tick_mod, pa.sec_phase[u], ticks_per_s):
            continue
        for k in range(pa.deg[u]):
            got = ea.dn_sec[u, k]
            if got > 0:
                cnt[CONN_SECONDS] += 1
                if got == ea.dn_last_s[u, k]:
                    cnt[CONN_SECONDS_SAME] += 1
                if abs(got - ea.dn_last_s[u, k]) <= BLOCK_BYTES:
                    cnt[CONN_SECONDS_WITHIN_BLOCK] += 1


@njit(cache=False, inline="always")
def _counted_steps(pa, ea, pc, fb, log_t, log_peer, log_piece, log_first, log_blocks, log_nbytes, now, dt, tick,
                   ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes, subject, cyc, cnt):
    """sim.kernels.tick._tick_steps with the cycle counter read between the steps (into ``cyc``,
    by step, and ``cnt``, by event)."""
    cnt[TICKS] += 1
    t = _cycles()
    due = any_choker_due(pa.active, pa.interest_changed, pa.next_round_t, pa.next_opt_t, now)
    t = _lap(cyc, CHOKE_CHECK, t)
    if due:
        cnt[CHOKE_TICKS] += 1
        choke_peers(pa, ea, now, dt, salt_choke, piece_bytes, total_bytes, fb.choke)
        t = _lap(cyc, CHOKE, t)
    open_download_quota(pa, dt)
    t = _lap(cyc, OPEN_DOWNLOAD, t)
    F = collect_flows(pa, ea, pc, fb.src, fb.dst, fb.slot, dt)
    t = _lap(cyc, COLLECT_FLOWS, t)
    n_log, n_done, overflow = 0, 0, False
    if F > 0:
        cnt[TICKS_WITH_FLOWS] += 1
        cnt[FLOWS] += F
        order = fb.order
        serve_order_into(pa, ea, fb.dst, fb.slot, F, fb.keys, order, fb.stack, fb.sort_tmp, fb.sort_count)
        t = _lap(cyc, SERVE_ORDER, t)
        ask_before_sending(pa, ea, pc, fb.dst, fb.slot, F, order, salt_pick, piece_bytes)
        t = _lap(cyc, ASK_BEFORE_SENDING, t)
        ask_when_asked(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt)
        t = _lap(cyc, ASK_WHEN_ASKED, t)
        upload_quota_tick(pa, ea, dt)
        t = _lap(cyc, UPLOAD_QUOTA, t)
        download_quota_tick(pa, ea, fb.dst, fb.slot, F, dt)
        t = _lap(cyc, DOWNLOAD_QUOTA, t)
        grant_sends_into(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt, fb.rate, fb.want, fb.turns, fb.wanted)
        t = _lap(cyc, GRANT_SENDS, t)
        n_log, n_done, overflow = transfer_blocks(
            pa, ea, pc, fb.dst, fb.slot, fb.rate, F, order, dt, now, salt_pick, subject, piece_bytes,
            log_t, log_peer, log_piece, log_first, log_blocks, log_nbytes, fb.completed)
        t = _lap(cyc, TRANSFER_BLOCKS, t)
        return_unsendable_quota(pa, ea, fb.src, fb.dst, fb.slot, F, fb.wanted)
        t = _lap(cyc, RETURN_QUOTA, t)
    else:
        upload_quota_tick(pa, ea, dt)
        download_quota_tick(pa, ea, fb.dst, fb.slot, 0, dt)
        t = _lap(cyc, IDLE_QUOTA, t)
    close_download_quota(pa, ea)
    t = _lap(cyc, CLOSE_DOWNLOAD, t)
    if any_second_tick_work(pa.active, pa.deg, pa.sec_phase, tick, ticks_per_s):
        cnt[SECOND_TICK_TICKS] += 1
        t_count = _cycles()
        _count_repeats(pa, ea, tick, ticks_per_s, cnt)
        t += _cycles() - t_count  # the counting is no step's
        second_tick(pa, ea, tick, ticks_per_s)
    _lap(cyc, SECOND_TICK, t)
    return F, n_log, n_done, overflow


@njit(cache=False, _nrt=True)
def _counters():
    """The module's CYCLES and COUNTS, as arrays in compiled code (their addresses compiled in)."""
    return carray(_u64_at(_CYCLES_AT), N_STEPS), carray(_u64_at(_COUNTS_AT), N_EVENTS)


@njit(cache=False, _nrt=False)
def counted_swarm_tick(pa, ea, pc, fb, lb, now, dt, tick, ticks_per_s, salt_choke, salt_pick, piece_bytes,
                       total_bytes, subject):
    """sim.kernels.tick.swarm_tick, counted."""
    cyc, cnt = _counters()
    return _counted_steps(pa, ea, pc, fb, lb.t, lb.peer, lb.piece, lb.first, lb.blocks, lb.nbytes, now, dt, tick,
                          ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes, subject, cyc, cnt)


@njit(cache=False, _nrt=False)
def counted_swarm_ticks(pa, ea, pc, fb, lb, sb, now, dt, tick, ticks_per_s, salts, before_s, horizon_s, connect_tick,
                        sample_every, ratio_stop, log_rows_per_tick, piece_bytes, total_bytes, subject):
    """sim.kernels.tick.swarm_ticks, counted (the same loop around _counted_steps)."""
    cyc, cnt = _counters()
    n_max = salts.shape[0] // 2
    cap = lb.t.shape[0]
    n_log = 0
    n_samples = 0
    m = 0
    while True:
        _, n_new, n_done, overflow = _counted_steps(
            pa, ea, pc, fb, lb.t[n_log:], lb.peer[n_log:], lb.piece[n_log:], lb.first[n_log:],
            lb.blocks[n_log:], lb.nbytes[n_log:], now, dt, tick, ticks_per_s, salts[2 * m], salts[2 * m + 1],
            piece_bytes, total_bytes, subject, cyc, cnt)
        n_log += n_new
        m += 1
        stop = (n_done > 0 or overflow or cap - n_log < log_rows_per_tick or tick == connect_tick
                or now >= horizon_s - 1e-9 or not now + dt < before_s
                or (pa.active[subject] and pa.total_down[subject] > 0
                    and pa.total_up[subject] >= ratio_stop * RATIO_MARGIN * pa.total_down[subject]))
        if stop or m >= n_max:
            return m, now, n_log, n_done, n_samples, overflow, not stop
        if tick % sample_every == 0:
            sb.t[n_samples] = now
            sb.up[n_samples] = pa.total_up[subject]
            sb.down[n_samples] = pa.total_down[subject]
            n_samples += 1
        now = now + dt
        tick += 1


class counted_ticks:
    """Within ``with counted_ticks():`` the engine runs the counted ticks (the counters start at zero)."""

    def __enter__(self):
        import sim.engine as engine
        self._engine = engine
        self._saved = engine.swarm_tick, engine.swarm_ticks
        engine.swarm_tick, engine.swarm_ticks = counted_swarm_tick, counted_swarm_ticks
        CYCLES[:] = 0
        COUNTS[:] = 0
        return self

    def __exit__(self, *exc):
        self._engine.swarm_tick, self._engine.swarm_ticks = self._saved
        return False


def summary(label: str, wall_s: float) -> dict:
    """The counters as shares and rates."""
    cycles = CYCLES.astype(np.float64)
    total = float(cycles.sum())
    n = {name: int(COUNTS[i]) for i, name in enumerate(EVENTS)}
    return {"command": label, "wall_s": wall_s, "cycles_total": total, **n,
            "cycles_per_tick": total / max(n["ticks"], 1),
            "flows_per_tick_with_flows": n["flows"] / max(n["ticks_with_flows"], 1),
            "cycles_per_flow": total / max(n["flows"], 1),
            "share": {name: float(cycles[i] / total) if total else 0.0 for i, name in enumerate(STEPS)}}


def _warm_up() -> None:
    """Compile the counted ticks (and load the kernels) outside the measured time."""
    from sim.engine import SwarmRun
    from sim.scenario import parse_scenario
    sc = parse_scenario({"torrent": {"total_size": "1MiB", "piece_size": "64KiB"}, "simulation": {"horizon_s": 60}})
    with counted_ticks():
        SwarmRun(sc, 0, np.random.SeedSequence(0)).run()


def scenario_cycles(path: str) -> dict:
    """One replication of a scenario file (its seed), counted."""
    from sim.engine import SwarmRun
    from sim.scenario import load_scenario
    sc = load_scenario(path)
    _warm_up()
    with counted_ticks():
        t = time.perf_counter()
        SwarmRun(sc, 0, np.random.SeedSequence(sc.simulation.seed)).run()
        wall = time.perf_counter() - t
        return summary(f"python -m benchmarks.tick_cycles {path}", wall)


def corpus_cycles(torrents: int = 20, runs: int = 5, corpus: Path = CASE) -> dict:
    """The first ``torrents`` torrents of a corpus x ``runs`` replications, in this process, counted."""
    from forensics.corpus import load_corpus
    from forensics.corpus_run import simulate_corpus
    c = load_corpus(corpus)
    c.torrents = c.torrents[:torrents]
    _warm_up()
    with counted_ticks():
        t = time.perf_counter()
        simulate_corpus(c, runs, workers=1)
        wall = time.perf_counter() - t
        other = "" if Path(corpus).resolve() == CASE.resolve() else f" --corpus {corpus}"
        return summary(f"python -m benchmarks.tick_cycles --corpus-torrents {torrents} --runs {runs}{other}", wall)


def cli(argv: list[str]) -> int:
    from benchmarks.corpus_throughput import _positive
    from forensics.errors import UserError
    from sim.scenario import ScenarioError
    ap = argparse.ArgumentParser(prog="python -m benchmarks.tick_cycles", description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", help="a scenario file (or --corpus-torrents)")
    ap.add_argument("--corpus-torrents", type=_positive, metavar="K", help="the first K torrents of --corpus")
    ap.add_argument("--runs", type=_positive, help="replications per torrent (with --corpus-torrents; default 5)")
    ap.add_argument("--corpus", help="corpus file (with --corpus-torrents; default: the case study)")
    a = ap.parse_args(argv)
    if (a.scenario is None) == (a.corpus_torrents is None):
        ap.error("give either a scenario file or --corpus-torrents")
    if a.scenario and (a.runs is not None or a.corpus is not None):
        ap.error("--runs and --corpus go with --corpus-torrents, not with a scenario file (one replication, its seed)")
    try:
        out = scenario_cycles(a.scenario) if a.scenario else corpus_cycles(a.corpus_torrents, a.runs or 5, Path(a.corpus or CASE))
    except (ScenarioError, UserError, OSError) as e:
        print(f"python -m benchmarks.tick_cycles: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
