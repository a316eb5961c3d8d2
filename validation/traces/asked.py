"""What a late-joining subject could offer the leechers: second by second after it joins, per leecher,
the pieces it lacks, those it has not asked anyone for yet (no block requested or received), and of
the pieces the subject has and the leecher lacks, how many are still unasked. In the lab from
libtorrent's own log (every REQUEST the leecher sent, every PIECE it received, every HAVE the subject
sent it); in the model from its state, stepped tick by tick (a piece is asked for once a connection
has claimed it or a block of it has arrived).

Run:  leechsim lab validation/v04-late-join.toml --runs 1 --peer-log --out runs/v04-log
      python validation/traces/asked.py runs/v04-log validation/v04-late-join.toml [REPLICATIONS] [SECONDS]

The lab side needs a run with ``--peer-log`` (its ``raw/`` files: peer logs and ``lab.json``).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sim.engine import SwarmRun  # noqa: E402
from sim.layout import Layout  # noqa: E402
from sim.montecarlo import replication_seeds  # noqa: E402
from sim.results import ROLE_LEECHER  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SUBJECT = 0
BLOCK = 16 * 1024
_BLOCK_RE = re.compile(r"piece: (\d+) s: ([0-9a-f]+)")


def lab_rows(run: Path, pieces: int, blocks_per_piece: np.ndarray, seconds: int,
             asked_again: list[int] | None = None) -> dict[int, list[tuple]]:
    """second after the subject joined -> one (lacks, unasked, subject has and it lacks, of those
    unasked) per leecher and replication. ``asked_again`` gets, per leecher, the blocks it asked
    for more than once over the whole run."""
    out: dict[int, list[tuple]] = defaultdict(list)
    for rep in sorted((run / "replications").iterdir()):
        raw = rep / "raw"
        if not (raw / "lab.json").is_file():
            raise SystemExit(f"{raw / 'lab.json'}: missing; the lab side needs a run's raw/ files (leechsim lab ... --peer-log)")
        plan = json.loads((raw / "lab.json").read_text())["peers"]
        subject_ip = plan[SUBJECT]["ip"]
        peers = {int(r["peer"]): r for r in csv.DictReader(open(rep / "peers.csv"))}
        join = float(peers[SUBJECT]["join_s"])
        for p in plan:
            i = int(p["index"])
            if peers[i]["role"] != "leecher":
                continue
            log = raw / f"peer-{i:04d}-peerlog.csv.gz"
            if not log.is_file():
                raise SystemExit(f"{log}: missing; record the run with --peer-log")
            events = []
            with gzip.open(log, "rt") as f:
                for r in csv.DictReader(f):
                    e, d = r["event"], r["direction"]
                    if (e == "REQUEST" and d == "==>") or (e == "PIECE" and d == "<=="):
                        m = _BLOCK_RE.match(r["detail"])
                        events.append((float(r["t_s"]), e, (int(m.group(1)), int(m.group(2), 16) // BLOCK)))
                    elif e == "HAVE" and d == "<==" and r["remote_ip"] == subject_ip:
                        events.append((float(r["t_s"]), "HAVE", int(r["detail"].split(":")[1])))
            events.sort(key=lambda x: x[0])
            if asked_again is not None:
                requests = Counter(what for _, e, what in events if e == "REQUEST")
                asked_again.append(sum(1 for n in requests.values() if n > 1))
            asked, got, subject_has = set(), defaultdict(set), set()
            j = 0
            for s in range(1, seconds + 1):
                while j < len(events) and events[j][0] <= join + s:
                    _, e, what = events[j]
                    j += 1
                    if e == "REQUEST":
                        asked.add(what[0])
                    elif e == "PIECE":
                        got[what[0]].add(what[1])
                    else:
                        subject_has.add(what)
                have = {q for q, b in got.items() if len(b) >= blocks_per_piece[q]}
                lacks = [q for q in range(pieces) if q not in have]
                unasked = {q for q in lacks if q not in asked and q not in got}
                offered = [q for q in subject_has if q not in have]
                out[s].append((len(lacks), len(unasked), len(offered), sum(q in unasked for q in offered)))
    return out


def model_rows(scenario: Path, replications: int, seconds: int) -> dict[int, list[tuple]]:
    sc = load_scenario(scenario)
    out: dict[int, list[tuple]] = defaultdict(list)
    for i, seed in enumerate(replication_seeds(sc.simulation.seed, replications)):
        run = SwarmRun(sc, i, seed)
        run.start()
        pa, pc = run.pa, run.pc
        join = float(run.pop.join_s[SUBJECT])
        s = 1
        while not run.finished and s <= seconds:
            run.advance_to_next_tick()
            if run.env.now < join + s:
                continue
            for v in range(1, pc.have.shape[0]):
                if run.pop.role[v] != ROLE_LEECHER or pa.is_seed[v] or not pa.active[v]:
                    continue  # leechers, while they leech
                lacks = ~pc.have[v]
                unasked = lacks & (pc.recv[v] == 0) & (pc.owner[v] == 0)
                offered = pc.have[SUBJECT] & lacks
                out[s].append((int(lacks.sum()), int(unasked.sum()), int(offered.sum()), int((offered & unasked).sum())))
            s += 1
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lab_run", type=Path)
    ap.add_argument("scenario", type=Path)
    ap.add_argument("replications", type=int, nargs="?", default=10)
    ap.add_argument("seconds", type=int, nargs="?", default=22)
    a = ap.parse_args(argv)
    sc = load_scenario(a.scenario)
    t = sc.torrent
    layout = Layout.of(t.piece_size, t.file_sizes, t.file_paths)
    blocks = layout.piece_blocks()
    again: list[int] = []
    lab = lab_rows(a.lab_run, layout.num_pieces, blocks, a.seconds, again)
    model = model_rows(a.scenario, a.replications, a.seconds)
    print("mean per leecher still leeching: pieces it lacks / not yet asked of anyone | "
          "the subject has and it lacks / of those not yet asked")
    print("s after the subject joined | lab | model")
    for s in range(1, a.seconds + 1):
        cells = []
        for rows in (lab.get(s, []), model.get(s, [])):
            cells.append(" / ".join(f"{np.mean([r[k] for r in rows]):.1f}" for k in range(4)) if rows else "-")
        print(f"{s:3d} | {cells[0]} | {cells[1]}")
    print(f"lab: blocks a leecher asked for more than once: {', '.join(map(str, again))}")


if __name__ == "__main__":
    main()
