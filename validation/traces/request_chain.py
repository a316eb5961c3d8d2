"""How soon a leecher is sent a piece the subject has just completed: the chain from the subject's
completion to its first block of that piece reaching each leecher, in a peer-logged lab run, and
the same lag in the model.

    python validation/traces/request_chain.py RUN_DIR [RUN_DIR ...]
    python validation/traces/request_chain.py --model SCENARIO [--runs 20]

RUN_DIR: a lab run with libtorrent's peer log (``leechsim lab SCENARIO --peer-log --out RUN_DIR``:
replications/NNNN/peer_log.csv and peers.csv). Only the pieces the subject completes before every
other leecher count (it is their first source apart from the seeds), and, for each, the leechers
that did not have it. Lags are seconds after the subject's ``RECEIVED`` (its hash check passed):

- ``have_out``: the subject writes HAVE to the leecher;
- ``have_in``: the leecher reads it;
- ``request_out``: the leecher writes its first REQUEST for a block of the piece to the subject
  (its picker chose the piece; the message enters its send buffer);
- ``request_in``: the subject reads that REQUEST;
- ``piece_out``: the subject writes its first block of the piece to the leecher;
- ``in_buffer``: not a lag but ``request_in - request_out``, how long that REQUEST took from the
  leecher's send buffer to the subject, with the share of them read within ``TICK_S / 5`` (0.1 s:
  out at once, the leecher's rate limiter granting its channel's messages without a quota tick).

Each is given as its 10th, 50th and 90th percentile over the (piece, leecher) pairs that reached
that step. And what made the leecher write that REQUEST (``trigger``): libtorrent picks blocks for a
connection (``request_a_block``) when a block arrives on it, when the peer completes a piece of its
own (``we_have`` re-checks every connection's interest: ``UPDATE_INTEREST``), when it is unchoked,
or when a HAVE makes the other end interesting — not on a HAVE from an end it is already interested
in (``peer_connection::incoming_have``). The trigger is the nearest of those lines on the connection
at most 10 ms before the REQUEST (``other`` if none); ``idle``: the leecher had asked the subject for
nothing (its last ``PIECE_PICKER`` line on the connection before the HAVE: ``dlq: 0 rqq: 0``). ``--model``: the model stepped one quota tick at a time (sim.engine.SwarmRun, the same
replications as ``leechsim simulate``), the lag from the tick in which the subject completed the
piece to the tick of its first block of it to each leecher (the engine's time of each tick, its
end, as the transfer log has it): 0.5 s is the next tick, 0 the same tick (a transfer served after
the one that completed the piece).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

STEPS = ("have_out", "have_in", "request_out", "request_in", "piece_out")
# what makes libtorrent's leecher pick blocks for a connection, as its peer log shows it
TRIGGERS = {("<==", "PIECE"): "a block from the subject", ("***", "UPDATE_INTEREST"): "its own piece completed",
            ("<==", "UNCHOKE"): "unchoked", ("<==", "HAVE"): "the HAVE"}
TRIGGER_WINDOW_S = 0.01
TICK_S = 0.5  # libtorrent's tick_interval: the rate limiter's quota tick
NEEDED = ("t_s", "local", "remote", "direction", "event", "detail")


def _first(log: pd.DataFrame, local: int, remote: int, direction: str, event: str, piece: int) -> float:
    s = log[(log.local == local) & (log.remote == remote) & (log.direction == direction) & (log.event == event)
            & (log.piece == piece)]
    return float(s.t_s.min()) if len(s) else math.nan


def chains(log: pd.DataFrame, peers: pd.DataFrame) -> pd.DataFrame:
    """One row per (piece the subject completed before every other leecher, leecher lacking it
    then): each step's lag after the subject's completion (NaN: never)."""
    log = log.assign(piece=pd.to_numeric(log.detail.astype(str).str.extract(r"piece: (\d+)")[0], errors="coerce"))
    subject = int(peers.loc[peers.role == "subject", "peer"].iloc[0])
    leechers = [int(p) for p in peers.loc[peers.role == "leecher", "peer"]]
    got = log[log.event == "RECEIVED"].groupby(["local", "piece"]).t_s.min()
    conn = {key: g for key, g in log.groupby(["local", "remote"]) if key[1] == subject}
    rows = []
    for (peer, piece), t0 in got.items():
        if peer != subject:
            continue
        others = {q: got.get((q, piece), math.inf) for q in leechers}
        if any(t <= t0 for t in others.values()):
            continue  # another leecher had it first
        for q in leechers:
            row = {"piece": int(piece), "leecher": q}
            row["have_out"] = _first(log, subject, q, "==>", "HAVE", piece) - t0
            row["have_in"] = _first(log, q, subject, "<==", "HAVE", piece) - t0
            row["request_out"] = _first(log, q, subject, "==>", "REQUEST", piece) - t0
            row["request_in"] = _first(log, subject, q, "<==", "REQUEST", piece) - t0
            row["piece_out"] = _first(log, subject, q, "==>", "PIECE", piece) - t0
            row["trigger"], row["idle"] = _trigger(conn.get((q, subject)), piece, t0 + row["have_in"],
                                                   t0 + row["request_out"])
            rows.append(row)
    out = pd.DataFrame(rows, columns=["piece", "leecher", *STEPS, "trigger", "idle"])
    out["in_buffer"] = out.request_in - out.request_out
    return out


def _trigger(c: pd.DataFrame | None, piece: int, t_have: float, t_req: float) -> tuple[object, object]:
    """(what made the leecher pick the piece's first REQUEST, whether it had asked the subject for
    nothing before the HAVE) from its log lines on its connection to the subject."""
    if c is None:
        return None, None
    idle = None
    if not math.isnan(t_have):
        pk = c[(c.event == "PIECE_PICKER") & (c.t_s <= t_have) & c.detail.astype(str).str.startswith("dlq:")]
        if len(pk):
            f = str(pk.detail.iloc[-1]).split()
            idle = int(f[1]) + int(f[3]) == 0  # "dlq: N rqq: M ..."
    if math.isnan(t_req):
        return None, idle
    before = c[(c.t_s <= t_req) & (c.t_s >= t_req - TRIGGER_WINDOW_S)]
    for d, e in zip(before.direction.iloc[::-1], before.event.iloc[::-1]):
        if (d, e) in TRIGGERS:
            return TRIGGERS[(d, e)], idle
    return "other", idle


def lab_chains(run_dir: Path) -> pd.DataFrame:
    if not (run_dir / "replications").is_dir():
        raise SystemExit(f"{run_dir}: no such run directory (replications/ missing)")
    parts = []
    for rep in sorted((run_dir / "replications").iterdir()):
        path = rep / "peer_log.csv"
        if not path.exists():
            raise SystemExit(f"{path}: no peer log; record the run with `leechsim lab SCENARIO --peer-log`")
        log = pd.read_csv(path)
        missing = [c for c in NEEDED if c not in log.columns]
        if missing:
            raise SystemExit(f"{path}: no column {', '.join(missing)}")
        if not (rep / "peers.csv").exists():
            raise SystemExit(f"{rep / 'peers.csv'}: missing (each replication of a lab run has one)")
        parts.append(chains(log, pd.read_csv(rep / "peers.csv")))
    if not parts:
        raise SystemExit(f"{run_dir}: no replications")
    return pd.concat(parts, ignore_index=True)


def _load(scenario: Path):
    """The scenario, loaded by this source tree's sim/ (put first on the path, as the other scripts
    here do: a scenario is measured on the model beside the script, not on whichever copy of the
    project is installed)."""
    root = str(Path(__file__).resolve().parents[2])
    if sys.path[0] != root:
        sys.path.insert(0, root)
    from sim.scenario import ScenarioError, load_scenario
    try:
        return load_scenario(scenario)
    except ScenarioError as e:
        raise SystemExit(str(e)) from None


def model_tick_s(scenario: Path) -> float:
    """The model's quota tick for the scenario (``simulation.tick_s``; the lab's libtorrent keeps
    its default ``tick_interval``, TICK_S)."""
    return float(_load(scenario).simulation.tick_s)


def stepped_runs(scenario: Path, runs: int):
    """Yield (SwarmRun, its ticker, the leechers' peer numbers) for each of the scenario's first
    ``runs`` replications, set up to be stepped one quota tick at a time (the same replications as
    ``leechsim simulate``)."""
    sc = _load(scenario)
    from sim.engine import SwarmRun
    from sim.montecarlo import replication_seeds
    from sim.results import ROLE_LEECHER
    seeds = replication_seeds(sc.simulation.seed, runs)
    for rep in range(runs):
        run = SwarmRun(sc, rep, seeds[rep], max_batch_ticks=1)
        ticker = run.start()
        yield run, ticker, np.flatnonzero(run.pop.role == ROLE_LEECHER)


def model_lags(scenario: Path, runs: int) -> np.ndarray:
    """The model's lags, seconds: subject's completion tick's end to the tick of its first block of
    the piece to each leecher that lacked it (pieces the subject completed before every leecher)."""
    lags = []
    for run, ticker, leech in stepped_runs(scenario, runs):
        from sim.engine import SUBJECT  # importable once stepped_runs has put the source tree's sim/ on the path
        pc = run.pc
        firsts = {}  # piece -> (time, leechers lacking it)
        before = pc.have[SUBJECT].copy()
        k = 1
        while ticker.is_alive and (k == 1 or run.pa.active[SUBJECT]):
            run.env.run(until=k * run.dt + run.dt / 2)  # everything of the tick that ends at k * dt
            now_have = pc.have[SUBJECT]
            for p in np.flatnonzero(now_have & ~before):
                if not pc.have[leech, p].any():
                    firsts[int(p)] = (k * run.dt, [int(q) for q in leech if not pc.have[q, p]])
            before = now_have.copy()
            k += 1
        if run._log_parts:
            t, peer, piece = (np.concatenate([part[i] for part in run._log_parts]) for i in range(3))
            sent = pd.DataFrame({"t": t, "peer": peer, "piece": piece}).groupby(["piece", "peer"]).t.min()
            for p, (t0, lacking) in firsts.items():
                for q in lacking:
                    if (p, q) in sent.index:
                        lags.append(float(sent[(p, q)]) - t0)  # both times: the end of their ticks
    return np.array(lags)


def _pct(x) -> str:
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    if not len(x):
        return "never"
    a, b, c = np.percentile(x, [10, 50, 90])
    return f"{a:.2f} / {b:.2f} / {c:.2f} s (n={len(x)})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dirs", nargs="*", type=Path)
    ap.add_argument("--model", type=Path, help="a scenario file: the model's lag instead")
    ap.add_argument("--runs", type=int, default=20, help="replications (--model; default 20)")
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs: at least 1")
    if a.model is None and not a.run_dirs:
        ap.error("give RUN_DIR(s) or --model SCENARIO")
    for d in a.run_dirs:
        c = lab_chains(d)
        print(f"{d.name}: {c.piece.nunique()} pieces the subject completed first, {len(c)} (piece, leecher) pairs;"
              " after the subject's completion (10th / 50th / 90th percentile):")
        for s in STEPS:
            print(f"  {s}: {_pct(c[s])}")
        sent = c.piece_out.dropna()
        if len(sent):
            print(f"  piece_out within one quota tick ({TICK_S} s): {(sent <= TICK_S).mean():.0%}")
        asked = c.dropna(subset=["request_out"])
        if len(asked):
            parts = []
            for name, g in sorted(asked.groupby("trigger"), key=lambda kv: -len(kv[1])):
                parts.append(f"{name} {len(g) / len(asked):.0%} (median {g.request_out.median():.2f} s)")
            idle = asked.idle.dropna().astype(bool)
            print(f"  request_out trigger: {'; '.join(parts)}; nothing asked of the subject before the HAVE: "
                  f"{idle.mean():.0%} of {len(idle)}" if len(idle) else f"  request_out trigger: {'; '.join(parts)}")
        at_once = c.in_buffer.dropna() < TICK_S / 5
        print(f"  in_buffer (request_in - request_out): {_pct(c.in_buffer)}; read within {TICK_S / 5:.1f} s: "
              f"{at_once.mean():.0%} of {len(at_once)}" if len(at_once) else "  in_buffer: never")
    if a.model is not None:
        lags = model_lags(a.model, a.runs)
        tick = model_tick_s(a.model)
        print(f"{a.model.stem} (model, {a.runs} replications): first block of the piece to a leecher after the "
              f"subject's completion: {_pct(lags)}; within one quota tick ({tick} s): "
              f"{(lags <= tick + 1e-9).mean():.0%}" if len(lags) else f"{a.model.stem}: no such piece")
    return 0


if __name__ == "__main__":
    sys.exit(main())
