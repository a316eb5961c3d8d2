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

``--ramp``: each torrent's start, lab against model: the medians over runs of the seconds from the
subject's join to its first byte and to 1, 2, 4 and 8 MiB received in that torrent (the lab's
recording's ``timeseries.csv``, 0.5-s samples; the model stepped tick by tick, its tick ends).

``--first-block LAB_DIR``: in a lab session run made with ``--all-blocks`` (``leechsim lab SESSION
--runs N --trace-connections --all-blocks --out LAB_DIR``), per torrent and run, the seconds from the
subject's recorded join to the first block another peer sent it (the earliest row for the subject's
address, ``127.B.0.2``, in their ``raw/peer-NNNN-blocks.csv``) and the blocks it got in its first
second.

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


def stepped(session, replication: int, seed, on_tick) -> SessionRun:
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
    return sr


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


def subject_join(rep: Path) -> float:
    """The subject's join_s in one replication's peers.csv."""
    with open(rep / "peers.csv", newline="") as f:
        return next(float(r["join_s"]) for r in csv.DictReader(f) if r["role"] == "subject")


def upload_bins(run_dir: Path, j: int, bins: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean over runs of the subject's upload in torrent j per bin of time since its join there, B/s."""
    import pandas as pd
    rows = []
    for rep in sorted((run_dir / "torrents" / f"{j:02d}" / "replications").iterdir()):
        log = pd.read_csv(rep / "transfer_log.csv")
        rows.append(np.histogram(log.t_s - subject_join(rep), bins=bins, weights=log.bytes)[0] / np.diff(bins))
    return np.mean(rows, axis=0), len(rows)


RAMP_MARKS = (1, 2**20, 2 * 2**20, 4 * 2**20, 8 * 2**20)  # bytes: the first byte, 1, 2, 4, 8 MiB


def first_reached(t: np.ndarray, got: np.ndarray, join: float, marks=RAMP_MARKS) -> list[float]:
    """Seconds from ``join`` to the first time ``got`` (bytes received by time ``t``) reaches each
    mark; nan for a mark never reached."""
    out = []
    for m in marks:
        hit = np.flatnonzero(got >= m)
        out.append(float(t[hit[0]]) - join if len(hit) else float("nan"))
    return out


def lab_ramp(recording: Path, j: int) -> np.ndarray:
    """Torrent j of a session recording: one row of ``first_reached`` per run."""
    import pandas as pd
    rows = []
    for rep in sorted((recording / "torrents" / f"{j:02d}" / "replications").iterdir()):
        ts = pd.read_csv(rep / "timeseries.csv")
        rows.append(first_reached(ts.t_s.to_numpy(), ts.subject_downloaded_bytes.to_numpy(), subject_join(rep)))
    return np.array(rows)


def model_ramp(session, runs: int) -> list[np.ndarray]:
    """Per torrent, one row of ``first_reached`` per replication in which the subject joined it
    (the bytes received read at each session step, the end of a tick)."""
    seeds = replication_seeds(session.simulation.seed, runs)
    out = [[] for _ in session.scenarios]
    for i in range(runs):
        seen = [[] for _ in session.scenarios]
        joins = [float("nan")] * len(session.scenarios)

        def record(sr, now):
            for j, r in enumerate(sr.runs):
                if r.joined[SUBJECT]:
                    joins[j] = float(r.pop.join_s[SUBJECT])
                    seen[j].append((now, float(r.pa.total_down[SUBJECT])))
        sr = stepped(session, i, seeds[i], record)
        record(sr, max(r.env.now for r in sr.runs))  # as the last tick left it
        for j, rows in enumerate(seen):
            if rows:
                t, got = np.array(rows).T
                out[j].append(first_reached(t, got, joins[j]))
    return [np.array(rows) for rows in out]


def first_blocks(lab_dir: Path, j: int) -> list[tuple[float, int]]:
    """Torrent j of a traced lab session run: per run, (seconds from the subject's recorded join to
    the first block another peer sent it, blocks it got in its first second)."""
    out = []
    for rep in sorted((lab_dir / "torrents" / f"{j:02d}" / "replications").iterdir()):
        join = subject_join(rep)
        times = []
        for log in sorted((rep / "raw").glob("peer-*-blocks.csv")):
            with open(log, newline="") as f:
                for row in csv.DictReader(f):
                    if row["peer_ip"].endswith(".0.2"):  # the subject is peer 0, at 127.B.0.2
                        times.append(float(row["t_s"]))
        if times:
            out.append((min(times) - join, sum(1 for t in times if t < join + 1.0)))
    return out


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
    ap.add_argument("--ramp", action="store_true", help="each torrent's start: time to its first byte and 1-8 MiB")
    ap.add_argument("--first-block", type=Path, metavar="LAB_DIR",
                    help="a traced lab session run (--all-blocks): the subject's first block in each torrent")
    ap.add_argument("--upload", nargs=2, metavar=("J", "SIM_DIR"),
                    help="the subject's upload in torrent J, lab against the simulated session in SIM_DIR")
    ns = ap.parse_args(argv)
    session = load_session(ns.session)[0]
    recording = ns.session.parent / "recorded" / ns.session.stem
    if ns.first_block:
        if not (ns.first_block / "torrents").is_dir():
            raise SystemExit(f"{ns.first_block}: not a lab session run directory (leechsim lab SESSION_FILE "
                             "--all-blocks --out DIR writes one)")
        for j in range(len(session.scenarios)):
            rows = first_blocks(ns.first_block, j)
            print(f"torrent {j}: first block after the join (s) "
                  + ", ".join(f"{d:.3f}" for d, _ in rows) + "; blocks in the first second "
                  + ", ".join(str(n) for _, n in rows))
        return 0
    if (ns.ramp or ns.upload or not ns.starved) and not recording.is_dir():
        raise SystemExit(f"{recording}: no recording of {ns.session.stem}")
    if ns.ramp:
        model = model_ramp(session, ns.runs)
        print("torrent | from its join (s) to: first byte, 1, 2, 4, 8 MiB (medians)")
        for j in range(len(session.scenarios)):
            lab = lab_ramp(recording, j)
            for label, a in ((f"lab ({len(lab)})", lab), (f"model ({len(model[j])})", model[j])):
                med = [float(np.nanmedian(c)) if np.isfinite(c).any() else float("nan") for c in a.T]
                print(f"{j} {label} | " + " ".join(f"{m:5.2f}" for m in med))
        return 0
    if ns.upload:
        j, sim_dir = int(ns.upload[0]), Path(ns.upload[1])
        bins = np.arange(0.0, ns.to + 2.0, 2.0)
        print("from join (s) | " + " ".join(f"{int(b):5d}" for b in bins[:-1]))
        for label, d in (("lab", recording), ("model", sim_dir)):
            rate, n = upload_bins(d, j, bins)
            print(f"{label} ({n}) | " + " ".join(f"{v / 1e3:5.0f}" for v in rate))
        return 0
    if ns.starved:
        serving, zero = starved(session, ns.runs)
        print(f"{ns.session.stem}: {serving} torrent-ticks with a peer unchoked and interested, "
              f"{zero} of them with no upload limit ({ns.runs} replications)")
        return 0
    times = np.arange(0, ns.to + 1, 1.0)
    lab, n_lab = lab_curve(recording, len(session.scenarios), times)
    model = model_curve(session, ns.runs, times)
    print("second | " + " ".join(f"{int(t):5d}" for t in times[1:]))
    print(f"lab ({n_lab}) | " + " ".join(f"{v / 1e3:5.0f}" for v in np.diff(lab)))
    print(f"model ({ns.runs}) | " + " ".join(f"{v / 1e3:5.0f}" for v in np.diff(model)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
