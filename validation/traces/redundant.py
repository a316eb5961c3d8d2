"""Blocks that come twice, lab against model: libtorrent's redundant bytes. In end-game a downloader
asks several uploaders for the same blocks and cancels the copies still to come once one has
arrived, but an uploader sends anyway what it had already read into its send buffer
(``peer_connection::incoming_cancel``). So a peer that completed downloaded a little more than the
torrent, and some of the subject's upload went to peers that already had those blocks.

For each directory (a lab recording, or a ``leechsim simulate`` / ``leechsim validate`` output:
``replications/NNNN/peers.csv``, the same columns on both sides):
- ``leechers``: each completed leecher's downloaded bytes over the torrent's size, less one
  (median and mean over leechers and runs);
- ``subject``: the same for the subject, where it completed;
- with the lab's block logs (``replications/NNNN/blocks/*-blocks.csv.gz``, recorded with
  ``--all-blocks``): of the blocks the subject sent, the share another peer also sent the same
  receiver, and the share it sent after the other copy had been sent.

``--copies`` (lab recordings with block logs): when copies happen. Of every block a receiver got,
the share sent it more than once; for those, the seconds between the first two copies and how long
before the receiver completed the first copy was sent (quartiles); and, from connections.csv, the
receiver's download queue on each copy's connection when it was sent: "short" (at most 2 blocks,
an end-game request of libtorrent's one busy block at a time) or "long" (an owner of the block in
a run), counted as (first copy, second copy) pairs.

Run:  python validation/traces/redundant.py validation/recorded/v13-late-join-linger
      leechsim simulate validation/v13-late-join-linger.toml --runs 200 --out runs/sim-v13
      python validation/traces/redundant.py runs/sim-v13
      leechsim validate --matrix validation/ --out runs/validation
      python validation/traces/redundant.py validation/recorded/* --model-from runs/validation
      python validation/traces/redundant.py validation/recorded/v08-linger --copies
"""

from __future__ import annotations

import argparse
import bisect
import csv
import gzip
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sim.engine import layout_of  # noqa: E402
from sim.scenario import ScenarioError, load_scenario  # noqa: E402
from forensics.lab.plan import peer_index  # noqa: E402
from forensics.traces import connections_file, open_by_suffix  # noqa: E402


PEER_COLUMNS = ("role", "complete_s", "downloaded_bytes")


def torrent_bytes(run_dir: Path) -> int:
    path = run_dir / "scenario.toml"
    if not path.is_file():
        raise SystemExit(f"{path}: missing; give a lab recording or a simulate/validate output directory")
    try:
        return int(layout_of(load_scenario(path)).total_bytes)
    except ScenarioError as e:
        raise SystemExit(str(e))


def completed(x: str) -> bool:
    return x not in ("", "nan") and not math.isnan(float(x))


def redundant_shares(run_dir: Path) -> tuple[list[float], list[float]]:
    """(each completed leecher's share, the subject's share where it completed) over all runs."""
    size = torrent_bytes(run_dir)
    reps = sorted((run_dir / "replications").glob("*/peers.csv"))
    if not reps:
        raise SystemExit(f"{run_dir}: no replications/NNNN/peers.csv")
    leechers, subject = [], []
    for peers in reps:
        with open(peers, newline="") as fh:
            rd = csv.DictReader(fh)
            missing = [c for c in PEER_COLUMNS if c not in (rd.fieldnames or [])]
            if missing:
                raise SystemExit(f"{peers}: missing column(s) {', '.join(missing)}; "
                                 f"needs {', '.join(PEER_COLUMNS)} (a lab recording's or leechsim's peers.csv)")
            for line, r in enumerate(rd, start=2):
                try:
                    if not completed(r["complete_s"]):
                        continue
                    share = int(float(r["downloaded_bytes"])) / size - 1
                except ValueError:
                    raise SystemExit(f"{peers}, line {line}: complete_s and downloaded_bytes must be numbers "
                                     f"(complete_s may be empty), not {r['complete_s']!r}, {r['downloaded_bytes']!r}")
                if r["role"] == "leecher":
                    leechers.append(share)
                elif r["role"] == "subject":
                    subject.append(share)
    return leechers, subject


def _rows(path: Path):
    with gzip.open(path, "rt") as fh:
        rd = csv.reader(fh)
        next(rd)
        for x in rd:
            yield float(x[0]), x[1], int(x[2]), int(x[3])


def subject_copies(run_dir: Path) -> tuple[int, int, int] | None:
    """(blocks the subject sent, of them also sent the same receiver by another peer, of those
    sent after the other copy) over all runs; None without block logs."""
    sent = copies = later = 0
    found = False
    for rep in sorted((run_dir / "replications").iterdir()):
        logs = sorted((rep / "blocks").glob("*-blocks.csv.gz")) if (rep / "blocks").is_dir() else []
        if not logs:
            continue
        found = True
        first_other: dict[tuple[str, int, int], float] = {}
        subj = []
        for f in logs:
            if f.name.startswith("subject-"):
                subj = list(_rows(f))
                continue
            for t, ip, p, b in _rows(f):
                key = (ip, p, b)
                if t < first_other.get(key, math.inf):
                    first_other[key] = t
        for t, ip, p, b in subj:
            sent += 1
            other = first_other.get((ip, p, b))
            if other is not None:
                copies += 1
                later += t > other
    return (sent, copies, later) if found else None


def _sender(name: str) -> int:
    """Peer number of a block log's sender: subject-blocks -> 0, peer-NNNN-blocks -> NNNN."""
    return 0 if name.startswith("subject-") else int(name.split("-")[1])


def _queues(path: Path) -> dict[tuple[int, int], tuple[list[float], list[float]]]:
    """(receiver, sender) -> (sample times, receiver's download_queue_length), from connections.csv."""
    out: dict[tuple[int, int], tuple[list[float], list[float]]] = {}
    with open_by_suffix(path) as fh:  # .csv, .gz or .xz
        rd = csv.DictReader(fh)
        for r in rd:
            if r.get("download_queue_length", "") == "":
                continue
            t, q = out.setdefault((int(r["local"]), int(r["remote"])), ([], []))
            t.append(float(r["t_s"]))
            q.append(float(r["download_queue_length"]))
    return out


def _queue_at(queues, receiver: int, sender: int, t: float) -> float | None:
    series = queues.get((receiver, sender))
    if series is None:
        return None
    times, values = series
    i = bisect.bisect_right(times, t) - 1
    return values[i] if i >= 0 else None


def copy_timing(run_dir: Path) -> dict:
    """The --copies figures over every replication with block logs (see the module's docstring)."""
    blocks = copies = 0
    gaps: list[float] = []
    before: list[float] = []
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for rep in sorted((run_dir / "replications").iterdir()):
        logs = sorted((rep / "blocks").glob("*-blocks.csv.gz")) if (rep / "blocks").is_dir() else []
        if not logs:
            continue
        complete = {}
        with open(rep / "peers.csv") as fh:
            for r in csv.DictReader(fh):
                if completed(r.get("complete_s", "")):
                    complete[int(r["peer"])] = float(r["complete_s"])
        sent: dict[tuple[int, int, int], list[tuple[float, int]]] = defaultdict(list)
        for f in logs:
            who = _sender(f.name)
            for t, ip, p, b in _rows(f):
                sent[(peer_index(ip), p, b)].append((t, who))
        conns = connections_file(rep)
        queues = _queues(conns) if conns is not None else {}
        for (receiver, _p, _b), c in sent.items():
            blocks += 1
            if len(c) < 2:
                continue
            copies += 1
            c.sort()
            gaps.append(c[1][0] - c[0][0])
            if receiver in complete:
                before.append(complete[receiver] - c[0][0])
            q1 = _queue_at(queues, receiver, c[0][1], c[0][0])
            q2 = _queue_at(queues, receiver, c[1][1], c[1][0])
            if q1 is not None and q2 is not None:
                pairs[("short" if q1 <= 2 else "long", "short" if q2 <= 2 else "long")] += 1
    return {"blocks": blocks, "copies": copies, "gaps": gaps, "before": before, "pairs": dict(pairs)}


def _quartiles(x: list[float]) -> str:
    if len(x) < 2:
        return "-"
    q = statistics.quantiles(x, n=4)
    return f"{q[0]:.2f} / {statistics.median(x):.2f} / {q[2]:.2f} s"


def table(recordings: list[Path], validate_out: Path) -> None:
    """Lab against model, a row per recording: its completed leechers' median share, the model's
    (``validate_out/sim/NAME``, a ``leechsim validate --matrix`` output), and the lab subject's
    blocks also sent by another peer."""
    print("scenario | lab leechers (median) | model leechers (median) | lab subject: copies, sent after the other")
    for d in recordings:
        model = validate_out / "sim" / d.name
        if not model.is_dir():
            raise SystemExit(f"{model}: missing; run leechsim validate --matrix ... --out {validate_out} first")
        lab, _ = redundant_shares(d)
        sim, _ = redundant_shares(model)
        c = subject_copies(d)
        copies = f"{c[1] / c[0]:.1%}, {c[2] / c[0]:.1%}" if c and c[0] else "-"
        print(f"{d.name} | {statistics.median(lab):.2%} | {statistics.median(sim):.2%} | {copies}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", type=Path, nargs="+")
    ap.add_argument("--model-from", type=Path, metavar="VALIDATE_OUT",
                    help="a table: each recording against its scenario in this leechsim validate output")
    ap.add_argument("--copies", action="store_true",
                    help="when copies happen (lab recordings with block logs): gaps, time before completion, queues")
    a = ap.parse_args(argv)
    if a.copies:
        for d in a.dirs:
            c = copy_timing(d)
            if not c["blocks"]:
                raise SystemExit(f"{d}: no replications/NNNN/blocks/*-blocks.csv.gz (record with --all-blocks)")
            n = sum(c["pairs"].values())
            split = ", ".join(f"{a_}-{b_} {k / n:.0%}" for (a_, b_), k in sorted(c["pairs"].items())) if n else "-"
            print(f"{d}: {c['copies'] / c['blocks']:.2%} of blocks sent twice or more ({c['copies']} of "
                  f"{c['blocks']}); between the first two copies {_quartiles(c['gaps'])}; first copy before the "
                  f"receiver completed {_quartiles(c['before'])}; queues (first-second copy) {split} (of {n})")
        return
    if a.model_from is not None:
        table(a.dirs, a.model_from)
        return
    for d in a.dirs:
        leechers, subject = redundant_shares(d)
        line = f"{d}: leechers {statistics.median(leechers):.2%} median, {statistics.mean(leechers):.2%} mean " \
            f"({len(leechers)})" if leechers else f"{d}: no completed leecher"
        if subject:
            line += f"; subject {statistics.median(subject):.2%} median, {statistics.mean(subject):.2%} mean " \
                f"({len(subject)})"
        c = subject_copies(d)
        if c is not None and c[0]:
            line += f"; subject's blocks also sent by another peer {c[1] / c[0]:.1%}, after the other copy " \
                f"{c[2] / c[0]:.1%} (of {c[0]})"
        print(line)


if __name__ == "__main__":
    main()
