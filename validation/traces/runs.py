"""How many whole pieces a leecher's connection asks for at once when it asks for whole pieces
(libtorrent's prefer_contiguous_blocks, whole_pieces_threshold): in the lab from libtorrent's own
log (each ``PIECE_PICKER ... prefer_contiguous: N picked: M`` line with N > 0: M blocks picked, in
whole pieces), in the model from its state stepped tick by tick (each new run of whole pieces a
leecher's connection claims, from its current piece on, and each run it asks for next).

Run:  leechsim lab validation/v04-late-join.toml --runs 1 --peer-log --out runs/v04-log
      python validation/traces/runs.py runs/v04-log validation/v04-late-join.toml [REPLICATIONS]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sim.engine import SwarmRun  # noqa: E402
from sim.montecarlo import replication_seeds  # noqa: E402
from sim.results import ROLE_LEECHER  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

LONG = 10  # runs of this many pieces or more are counted together
_PICK_RE = re.compile(r"prefer_contiguous: (\d+) picked: (\d+)")


def lab_picks(run: Path, blocks_per_piece: int) -> Counter:
    """Whole pieces picked per pick of a leecher in whole-piece mode (0: the pick found less than a
    piece: nothing free at that peer, or the last blocks of a partial piece)."""
    out: Counter = Counter()
    for rep in sorted((run / "replications").iterdir()):
        peers = {int(r["peer"]): r["role"] for r in csv.DictReader(open(rep / "peers.csv"))}
        for i, role in peers.items():
            log = rep / "raw" / f"peer-{i:04d}-peerlog.csv.gz"
            if role != "leecher":
                continue
            if not log.is_file():
                raise SystemExit(f"{log}: missing; record the run with --peer-log")
            with gzip.open(log, "rt") as f:
                for r in csv.DictReader(f):
                    if r["event"] == "PIECE_PICKER":
                        m = _PICK_RE.match(r["detail"])
                        if m and int(m.group(1)) > 0:
                            out[min(int(m.group(2)) // blocks_per_piece, LONG)] += 1
    return out


def model_runs(scenario: Path, replications: int) -> Counter:
    """Pieces in each run a leecher's connection claims (current run from its current piece on, and
    each run asked for next), counted when it first appears."""
    sc = load_scenario(scenario)
    out: Counter = Counter()
    for i, seed in enumerate(replication_seeds(sc.simulation.seed, replications)):
        run = SwarmRun(sc, i, seed)
        run.start()
        pa, ea = run.pa, run.ea
        seen: dict = {}
        while not run.finished:
            run.advance_to_next_tick()
            for v in range(pa.deg.shape[0]):
                if run.pop.role[v] != ROLE_LEECHER or pa.is_seed[v]:
                    continue
                for k in range(pa.deg[v]):
                    key = (v, int(ea.nbr[v, k]))
                    cur = (int(ea.cur_piece[v, k]), int(ea.run_end[v, k]))
                    nxt = (int(ea.next_start[v, k]), int(ea.next_end[v, k]))
                    old_cur, old_nxt = seen.get(key, (None, None))
                    if cur[1] >= 0 and cur[1] != (old_cur or (0, -2))[1]:
                        out[min(cur[1] - cur[0], LONG)] += 1
                    if nxt[1] >= 0 and nxt != old_nxt:
                        out[min(nxt[1] - nxt[0], LONG)] += 1
                    seen[key] = (cur, nxt)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lab_run", type=Path)
    ap.add_argument("scenario", type=Path)
    ap.add_argument("replications", type=int, nargs="?", default=4)
    a = ap.parse_args(argv)
    sc = load_scenario(a.scenario)
    bpp = sc.torrent.piece_size // (16 * 1024)
    lab = lab_picks(a.lab_run, bpp)
    model = model_runs(a.scenario, a.replications)
    print("whole pieces per pick | lab picks (share of those with >= 1) | model runs (share)")
    lab1 = sum(v for k, v in lab.items() if k >= 1)
    mod1 = sum(model.values())
    print(f"0 (nothing whole) | {lab.get(0, 0)} | -")
    for n in range(1, LONG + 1):
        label = f">= {LONG}" if n == LONG else str(n)
        print(f"{label} | {lab.get(n, 0)} ({lab.get(n, 0) / max(lab1, 1):.0%}) | "
              f"{model.get(n, 0)} ({model.get(n, 0) / max(mod1, 1):.0%})")


if __name__ == "__main__":
    main()
