"""What a subject has to offer the leechers it is connected to, second by second, in the lab and in
the model: the pieces it has that each connected leecher lacks (and the reverse), how often those
leechers are interested in it and unchoked by it, and what it sends them before and after a time.

Run:  leechsim simulate SCENARIO --runs 40 --trace-connections --out SIM_DIR
      python validation/traces/subject_offer.py LAB_DIR SIM_DIR SCENARIO [--replications 40] [--split 60]
e.g.  python validation/traces/subject_offer.py validation/holdout/recorded/h08-subject-4-connections
          SIM_DIR validation/holdout/h08-subject-4-connections.toml

LAB_DIR: a lab run recorded with ``--all-blocks --trace-connections`` (each peer's
``blocks/*-blocks.csv.gz``: the blocks it sent, to which address; a peer's pieces are those of
which every block has reached it; peer N's address ends in N + 2, as the lab plans them). The
model's pieces come from its state (sim.engine.SwarmRun stepped tick by tick, replications
0..N-1 of the scenario's seed, as ``leechsim simulate`` draws them). Interest and unchoke: the
state of each subject-to-leecher connection at each whole second's start, from connections.csv
(lab and SIM_DIR), pooled over connections and runs, in 5-s bins. Upload: the subject's
transfer_log.csv before and after ``--split`` seconds, mean and median over runs, MiB.
"""

from __future__ import annotations

import argparse
import collections
import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from forensics.lab.plan import peer_index  # noqa: E402
from forensics.traces import connections_file, read_block_log  # noqa: E402
from origins import completions  # noqa: E402  (this directory's script, beside this one)

SECONDS = list(range(0, 70, 5))


def _connections(run: str) -> pd.DataFrame:
    trace = connections_file(run)  # connections.csv, .gz or .xz
    if trace is None:
        sys.exit(f"{run}: no connections.csv (.gz/.xz); record or simulate with --trace-connections")
    return pd.read_csv(trace)


def _has(run: str, name: str) -> bool:
    """Whether the replication directory has ``name`` (a glob; the connections table in any of its forms)."""
    return connections_file(run) is not None if name == "connections.csv*" else bool(glob.glob(run + "/" + name))


def lab_pieces(lab_dir: str) -> dict[int, list]:
    out: dict[int, list] = collections.defaultdict(list)
    for run in sorted(glob.glob(lab_dir + "/replications/*")):
        blocks = pd.concat([pd.DataFrame(read_block_log(f), columns=["t_s", "ip", "piece", "block"])
                            for f in glob.glob(run + "/blocks/*-blocks.csv.gz")])
        blocks["peer"] = blocks.ip.map(peer_index)
        comp = completions(blocks)  # each peer's completion time of each piece (origins.py)
        done: dict[int, dict[int, float]] = {int(peer): comp[peer].dropna().to_dict() for peer in comp.columns}
        c = _connections(run)
        c = c[(c.local == 0) & (c.remote >= 2)]
        for s in SECONDS:
            have = {p for p, t in done.get(0, {}).items() if t < s}
            for v in set(c[(c.t_s >= s) & (c.t_s < s + 1)].remote):
                other = {p for p, t in done.get(v, {}).items() if t < s}
                out[s].append((len(have - other), len(other - have), len(have)))
    return out


def model_pieces(scenario: str, n: int) -> dict[int, list]:
    from sim.engine import SwarmRun
    from sim.montecarlo import replication_seeds
    from sim.scenario import load_scenario
    sc = load_scenario(scenario)
    out: dict[int, list] = collections.defaultdict(list)
    for i, seed in enumerate(replication_seeds(sc.simulation.seed, n)):
        run = SwarmRun(sc, i, seed)
        run.start()
        pa, ea, pc = run.pa, run.ea, run.pc
        todo = list(SECONDS)
        while not run.finished and todo:
            run.advance_to_next_tick()
            while todo and run.env.now >= todo[0]:
                s = todo.pop(0)
                if not pa.active[0]:
                    continue
                have = pc.have[0]
                for k in range(pa.deg[0]):
                    v = int(ea.nbr[0, k])
                    if v >= 2 and pa.active[v]:
                        other = pc.have[v]
                        out[s].append((int((have & ~other).sum()), int((other & ~have).sum()), int(have.sum())))
    return out


def interest(run_dir: str) -> pd.DataFrame:
    frames = []
    for run in sorted(glob.glob(run_dir + "/replications/*")):
        c = _connections(run)
        c = c[(c.local == 0) & (c.remote >= 2) & (c.t_s < SECONDS[-1] + 5)]
        c = c.assign(sec=np.floor(c.t_s).astype(int))
        frames.append(c.groupby(["remote", "sec"]).first().reset_index())
    g = pd.concat(frames)
    g["bin"] = g.sec // 5 * 5
    return g.groupby("bin").agg(interested=("remote_interested", "mean"),
                                unchoked=("choked", lambda x: 1 - x.mean())).round(2).T


def upload(run_dir: str, split: float) -> str:
    before, after = [], []
    for run in sorted(glob.glob(run_dir + "/replications/*")):
        tl = pd.read_csv(run + "/transfer_log.csv")
        before.append(tl[tl.t_s < split].bytes.sum() / 2**20)
        after.append(tl[tl.t_s >= split].bytes.sum() / 2**20)
    return (f"before {split:g} s: mean {np.mean(before):.2f}, median {np.median(before):.2f} MiB; "
            f"after: mean {np.mean(after):.2f}, median {np.median(after):.2f} MiB ({len(before)} runs)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lab_dir")
    ap.add_argument("sim_dir")
    ap.add_argument("scenario")
    ap.add_argument("--replications", type=int, default=40)
    ap.add_argument("--split", type=float, default=60.0)
    a = ap.parse_args(argv)
    for d, needs in ((a.lab_dir, ("connections.csv*", "transfer_log.csv", "blocks/*-blocks.csv.gz")),
                     (a.sim_dir, ("connections.csv*", "transfer_log.csv"))):
        runs = sorted(glob.glob(d + "/replications/*"))
        missing = [n for n in needs if not runs or not _has(runs[0], n)]
        if missing:
            sys.exit(f"{d}: no replications/NNNN/ with {', '.join(missing)} (the lab: --all-blocks "
                     "--trace-connections; the model: leechsim simulate --trace-connections)")
    if not Path(a.scenario).is_file():
        sys.exit(f"{a.scenario}: no such scenario file")
    for name, d in (("lab", a.lab_dir), ("model", a.sim_dir)):
        print(f"{name}: the subject's upload to leechers, {upload(d, a.split)}")
        print(f"{name}: leechers interested in / unchoked by the subject, share of connection-seconds by 5-s bin")
        print(interest(d).to_string())
    lab, model = lab_pieces(a.lab_dir), model_pieces(a.scenario, a.replications)
    print("second | lab: subject has & leecher lacks, leecher has & subject lacks, subject's pieces (n) | model: the same")
    for s in SECONDS:
        x = np.mean(lab[s], axis=0) if lab[s] else np.zeros(3)
        y = np.mean(model[s], axis=0) if model[s] else np.zeros(3)
        print(f"{s:4d} | {x[0]:5.1f} {x[1]:5.1f} {x[2]:6.1f} ({len(lab[s])}) | {y[0]:5.1f} {y[1]:5.1f} {y[2]:6.1f} ({len(model[s])})")


if __name__ == "__main__":
    main()
