"""Upload after completion, second by second: how many leechers are still downloading each second
after the subject completed, and what the subject sends then — lab against model.

    python validation/traces/after_completion.py validation/recorded/v06-seed-after SIM_DIR [--seconds 12]

SIM_DIR: ``leechsim simulate validation/v06-seed-after.toml --runs 60 --out SIM_DIR`` (or the
matrix command's ``runs/validation/sim/v06-seed-after``). From each replication's ``peers.csv``
(the subject's and the leechers' ``complete_s``) and ``transfer_log.csv`` (the subject's uploads):
for each second s = 0, 1, ... after the subject's completion, the mean over replications of the
leechers still incomplete at its start and of the kB (1,000 bytes) the subject sent in it, and
their ratio (kB a second per leecher still downloading). Then, per leecher in join order, the
median over replications of its completion less the subject's. A replication whose subject did
not complete is left out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def after_completion(run_dir: Path, seconds: int) -> dict:
    left, sent, order = [], [], []
    for rep in sorted((Path(run_dir) / "replications").iterdir()):
        peers = pd.read_csv(rep / "peers.csv")
        subject = peers[peers.role == "subject"].iloc[0]
        if pd.isna(subject.complete_s):
            continue
        done = float(subject.complete_s)
        leechers = peers[peers.role == "leecher"].sort_values("join_s")
        complete = leechers.complete_s.astype(float).to_numpy()
        log = pd.read_csv(rep / "transfer_log.csv")
        log = log[log.t_s >= done]
        edges = np.arange(seconds + 1, dtype=float)
        sent.append(np.histogram(log.t_s - done, bins=edges, weights=log.bytes)[0])
        left.append([int(np.sum(~(complete <= done + s))) for s in range(seconds)])  # NaN: never completed
        order.append(complete - done)
    if not left:
        raise SystemExit(f"{run_dir}: no replication in which the subject completed")
    width = max(len(o) for o in order)
    padded = np.full((len(order), width), np.nan)
    for i, o in enumerate(order):
        padded[i, :len(o)] = o
    return {"runs": len(left), "left": np.mean(left, axis=0), "sent_kB": np.mean(sent, axis=0) / 1e3,
            "done_after_subject_s": np.nanmedian(padded, axis=0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run directories (a recording, a simulate run)")
    ap.add_argument("--seconds", type=int, default=12, help="seconds after the completion (default 12)")
    ns = ap.parse_args(argv)
    for d in ns.runs:
        r = after_completion(d, ns.seconds)
        per = np.divide(r["sent_kB"], r["left"], out=np.full(ns.seconds, np.nan), where=r["left"] > 0)
        print(f"{d} ({r['runs']} runs)")
        print("  second after completion    " + " ".join(f"{s:6d}" for s in range(ns.seconds)))
        print("  leechers still downloading " + " ".join(f"{v:6.2f}" for v in r["left"]))
        print("  subject sends, kB          " + " ".join(f"{v:6.0f}" for v in r["sent_kB"]))
        print("  kB per leecher downloading " + " ".join(f"{v:6.0f}" for v in per))
        print("  leechers in join order, completion less the subject's (s, median): "
              + " ".join(f"{v:+.2f}" for v in r["done_after_subject_s"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
