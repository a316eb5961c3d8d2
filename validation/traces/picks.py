"""What the model's subject uploads, by the kind of pick it serves: steps the model tick by tick
(sim.engine.SwarmRun) and, at every tick the subject sent a leecher something, reads the piece
the leecher is fetching from it on that connection (after the tick):
- ``run``: a piece the leecher asked the subject for in full (its request queue covers it);
- ``none``: a piece nobody has been asked for in full, shared between the leecher's connections;
- ``busy``: a piece the leecher asked another peer for in full - an end-game pick.
Also the leecher's missing pieces and how many of them nobody has been asked for yet ("free").
A diagnostic of the model only: the lab's equivalent is libtorrent's own log (``--peer-log``:
each REQUEST line ends ``blk: single`` or ``blk: busy``).

Run:  python validation/traces/picks.py validation/v04-late-join.toml [REPLICATIONS]
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sim.engine import SwarmRun  # noqa: E402
from sim.montecarlo import replication_seeds  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SUBJECT = 0


def subject_picks(sc, replication: int, seed) -> list[tuple]:
    run = SwarmRun(sc, replication, seed)
    run.start()
    pa, ea, pc = run.pa, run.ea, run.pc
    rows, prev = [], None
    while not run.finished:
        run.advance_to_next_tick()
        if not pa.active[SUBJECT]:
            if prev is not None:
                break  # the subject has left
            continue
        slots = {int(ea.nbr[SUBJECT, k]): k for k in range(pa.deg[SUBJECT])}
        cur = {v: int(ea.up_conn_total[SUBJECT, k]) for v, k in slots.items()}
        for v, total in cur.items():
            sent = total - (prev or {}).get(v, total)
            if sent <= 0 or pa.is_seed[v]:
                continue
            p = int(ea.cur_piece[v, ea.rev[SUBJECT, slots[v]]])
            owner = int(pc.owner[v, p]) if p >= 0 else 0
            kind = "run" if owner == SUBJECT + 1 else ("none" if owner == 0 else "busy")
            missing = ~pc.have[v]
            free = int(np.sum(missing & (pc.recv[v] == 0) & (pc.owner[v] == 0)))
            rows.append((kind, sent, int(missing.sum()), free))
        prev = cur
    return rows


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit(__doc__)
    sc = load_scenario(argv[0])
    n = int(argv[1]) if len(argv) > 1 else 10
    rows = [r for i, s in enumerate(replication_seeds(sc.simulation.seed, n)) for r in subject_picks(sc, i, s)]
    if not rows:
        print("the subject uploaded nothing")
        return
    ticks, sent = collections.Counter(), collections.Counter()
    for kind, b, _, _ in rows:
        ticks[kind] += 1
        sent[kind] += b
    total = sum(sent.values())
    print(f"{argv[0]}, {n} replications: the subject's upload while it leeches, {total / n / 2**20:.2f} MiB a replication")
    for kind in ("run", "none", "busy"):
        print(f"  {kind:5s} {ticks[kind]:5d} ticks  {sent[kind] / total:6.1%} of the bytes")
    missing = np.array([r[2] for r in rows])
    free = np.array([r[3] for r in rows])
    print(f"  the receiver's missing pieces at those ticks: median {np.median(missing):g}; not yet asked of anyone: "
          f"median {np.median(free):g}, none in {np.mean(free == 0):.0%} of the ticks")


if __name__ == "__main__":
    main()
