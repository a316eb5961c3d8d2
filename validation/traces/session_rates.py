"""A subject session's download, second by second, lab against model; and how often the model's
session split left a torrent with no upload limit while it had a peer to serve.

    python validation/traces/session_rates.py validation/sessions/s02-queue.toml [--runs 40] [--to 45]
    python validation/traces/session_rates.py validation/sessions/s01-shared-slots.toml --starved [--runs 10]

The lab side is the session's recording (validation/sessions/recorded/NAME/): each run's
``torrents/NN/replications/NNNN/timeseries.csv`` summed over torrents (sampled every 0.5 s). The
model side steps ``SessionRun`` tick by tick (as ``SessionRun.run`` does) and sums the subject's
bytes received over its torrents at every tick. Printed: the median over runs of the bytes
received by each whole second, differenced: kB (1,000 bytes) in each second from 0 to ``--to``.

``--upload J SIM_DIR``: what the subject uploaded in torrent J, in 2-s bins from its join there (the
mean over runs of each run's transfer log, kB per second), the lab's recording against a simulated
session run directory (``leechsim validate --sessions ... --out OUT`` writes OUT/sim/NAME).

``--starved``: over the model's replications, the torrent-ticks in which the subject had a peer it
unchoked that was interested in it (it would serve it) and how many of them it entered with a
zero upload limit from the session's split (``SessionRun._couple_channels``): a peer with no limit
has no transfers in the model, so it could serve no one in that torrent that tick.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim.engine import SUBJECT  # noqa: E402
from sim.montecarlo import replication_seeds  # noqa: E402
from sim.session import SessionRun  # noqa: E402
from sim.session_config import load_session  # noqa: E402


def stepped(session, replication: int, seed, on_tick) -> None:
    """One replication stepped as SessionRun.run steps it, ``on_tick(run, now)`` after each coupling.
    (Its loop, not a hook in SessionRun.run: the script then measures older commits' models too, as
    the starved count on d0fef26 in validation/sessions/ANALYSIS.md.)"""
    sr = SessionRun(session, replication, seed)
    for r in sr.runs:
        r.start()
    for r in sr.runs:
        r.advance_to_next_tick()
    while not all(r.finished for r in sr.runs):
        now = max(r.env.now for r in sr.runs if not r.finished)
        sr._auto_manage(now)
        sr._couple(now)
        on_tick(sr, now)
        for r in sr.runs:
            r.advance_to_next_tick()


def model_curve(session, runs: int, times: np.ndarray) -> np.ndarray:
    seeds = replication_seeds(session.simulation.seed, runs)
    curves = []
    for i in range(runs):
        t, got = [], []

        def record(sr, now):
            t.append(now)
            got.append(sum(float(r.pa.total_down[SUBJECT]) for r in sr.runs))
        stepped(session, i, seeds[i], record)
        curves.append(np.interp(times, t, got))
    return np.median(curves, axis=0)


def lab_curve(recording: Path, n_torrents: int, times: np.ndarray) -> tuple[np.ndarray, int]:
    reps = sorted(p.name for p in (recording / "torrents" / "00" / "replications").iterdir())
    curves = []
    for rep in reps:
        total = np.zeros(len(times))
        for j in range(n_torrents):
            with open(recording / "torrents" / f"{j:02d}" / "replications" / rep / "timeseries.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            total += np.interp(times, [float(r["t_s"]) for r in rows],
                               [float(r["subject_downloaded_bytes"]) for r in rows])
        curves.append(total)
    return np.median(curves, axis=0), len(reps)


def upload_bins(run_dir: Path, j: int, bins: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean over runs of the subject's upload in torrent j per bin of time since its join there, B/s."""
    import pandas as pd
    rows = []
    for rep in sorted((run_dir / "torrents" / f"{j:02d}" / "replications").iterdir()):
        log = pd.read_csv(rep / "transfer_log.csv")
        peers = pd.read_csv(rep / "peers.csv")
        join = float(peers.loc[peers.role == "subject", "join_s"].iloc[0])
        rows.append(np.histogram(log.t_s - join, bins=bins, weights=log.bytes)[0] / np.diff(bins))
    return np.mean(rows, axis=0), len(rows)


def starved(session, runs: int) -> tuple[int, int]:
    seeds = replication_seeds(session.simulation.seed, runs)
    counts = [0, 0]

    def check(sr, now):
        for r in sr.runs:
            pa, ea = r.pa, r.ea
            if not pa.active[SUBJECT] or np.isfinite(r.complete_s[SUBJECT]):
                continue
            d = pa.deg[SUBJECT]
            v, kv = ea.nbr[SUBJECT, :d], ea.rev[SUBJECT, :d]
            if (ea.unchoked[SUBJECT, :d] & (ea.wants[v, kv] > 0)).any():
                counts[0] += 1
                counts[1] += int(pa.up_cap[SUBJECT] <= 0.0)
    for i in range(runs):
        stepped(session, i, seeds[i], check)
    return counts[0], counts[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("session", type=Path, help="a session file of validation/sessions/")
    ap.add_argument("--runs", type=int, default=40, help="model replications (default 40)")
    ap.add_argument("--to", type=int, default=45, help="last second printed (default 45)")
    ap.add_argument("--starved", action="store_true", help="count the model's torrent-ticks with no upload limit")
    ap.add_argument("--upload", nargs=2, metavar=("J", "SIM_DIR"),
                    help="the subject's upload in torrent J, lab against the simulated session in SIM_DIR")
    ns = ap.parse_args(argv)
    session = load_session(ns.session)[0]
    if ns.upload:
        j, sim_dir = int(ns.upload[0]), Path(ns.upload[1])
        bins = np.arange(0.0, ns.to + 2.0, 2.0)
        print("from join (s) | " + " ".join(f"{int(b):5d}" for b in bins[:-1]))
        for label, d in (("lab", ns.session.parent / "recorded" / ns.session.stem), ("model", sim_dir)):
            rate, n = upload_bins(d, j, bins)
            print(f"{label} ({n}) | " + " ".join(f"{v / 1e3:5.0f}" for v in rate))
        return 0
    if ns.starved:
        serving, zero = starved(session, ns.runs)
        print(f"{ns.session.stem}: {serving} torrent-ticks with a peer unchoked and interested, "
              f"{zero} of them with no upload limit ({ns.runs} replications)")
        return 0
    recording = ns.session.parent / "recorded" / ns.session.stem
    if not recording.is_dir():
        raise SystemExit(f"{recording}: no recording of {ns.session.stem}")
    times = np.arange(0, ns.to + 1, 1.0)
    lab, n_lab = lab_curve(recording, len(session.scenarios), times)
    model = model_curve(session, ns.runs, times)
    print("second | " + " ".join(f"{int(t):5d}" for t in times[1:]))
    print(f"lab ({n_lab}) | " + " ".join(f"{v / 1e3:5.0f}" for v in np.diff(lab)))
    print(f"model ({ns.runs}) | " + " ".join(f"{v / 1e3:5.0f}" for v in np.diff(model)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
