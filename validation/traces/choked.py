"""What an uploader sent peers it had choked, and when: before the peer was first unchoked, in the
first seconds after a choke, or later (validation/ANALYSIS.md, the one-slot experiment).

    python validation/traces/choked.py UPLOADER SOURCE [SOURCE ...] [--after 2]

SOURCE: a connections file (e.g. validation/traces/one-slot/r0000-u0000-connections.csv.gz) or a
run directory (its replications/NNNN/connections.csv[.gz|.xz], from ``leechsim lab`` or ``leechsim
simulate`` with ``--trace-connections``). Choked bytes are the connection metrics' own
(forensics/connection_metrics.py, ``Connection.choked_bytes``: intervals that begin and end with
the peer choked); each such interval is put in one of three classes by the time of its end:

- **before first unchoke**: the peer had not been unchoked yet (allowed-fast pieces, BEP 6);
- **after a choke**: within ``--after`` seconds (default 2) of the sample at which the choke began
  (what was under way when it came, and allowed-fast pieces asked for at once);
- **later**: the rest (allowed-fast pieces asked for later).

Prints per source (replication): the uploader's payload bytes, each class in bytes and as a share
of them, and the choked share (the experiment table's ``choked_share``); then the median of each
column over the sources.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from forensics.connection_metrics import connections_of, read_connections
from forensics.traces import connections_file

CLASSES = ("before_first_unchoke", "after_choke", "later")


def classify(t_s: np.ndarray, sent: np.ndarray, choked: np.ndarray, after_s: float) -> dict[str, int]:
    """One connection's choked bytes by class (``sent[i]``: bytes of the interval ending at sample i)."""
    out = dict.fromkeys(CLASSES, 0)
    unchoked_yet = False
    choke_began = -np.inf
    for i in range(len(t_s)):
        if i > 0 and not choked[i - 1]:
            unchoked_yet = True
        if choked[i] and (i == 0 or not choked[i - 1]):
            choke_began = t_s[i]
        if i == 0 or not (choked[i] and choked[i - 1]):
            continue
        if not unchoked_yet:
            out["before_first_unchoke"] += int(sent[i])
        elif t_s[i] - choke_began <= after_s:
            out["after_choke"] += int(sent[i])
        else:
            out["later"] += int(sent[i])
    return out


def measure(path: Path, uploader: int, after_s: float) -> dict[str, int]:
    """Totals over the uploader's connections in one connections file."""
    conns = connections_of(read_connections(path, uploader), uploader)
    total = dict.fromkeys(CLASSES, 0)
    total["sent"] = 0
    for c in conns.values():
        for k, v in classify(c.t_s, c.sent_bytes, c.choked, after_s).items():
            total[k] += v
        total["sent"] += int(c.sent_bytes.sum())
    return total


def sources(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        if p.is_dir():
            files = [f for f in (connections_file(rep) for rep in sorted((p / "replications").glob("*")))
                     if f is not None]
            if not files:
                raise SystemExit(f"{p}: no replications/*/connections.csv (run it with --trace-connections)")
            out += files
        elif p.is_file():
            out.append(p)
        else:
            raise SystemExit(f"{p}: no such file or run directory")
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python validation/traces/choked.py", description=__doc__.splitlines()[0])
    ap.add_argument("uploader", type=int)
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--after", type=float, default=2.0, help="seconds after a choke counted as 'after a choke'")
    a = ap.parse_args(argv)
    print("| source | sent | before first unchoke | after a choke | later | choked share |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    for path in sources(a.sources):
        try:
            m = measure(path, a.uploader, a.after)
        except ValueError as e:  # a missing column (named with the file) or a cell that is not a number
            raise SystemExit(str(e) if str(path) in str(e) else f"{path}: {e}")
        rows.append(m)
        print(_row(str(path), {k: float(v) for k, v in m.items()}))
    if len(rows) > 1:
        med = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
        med["share"] = float(np.median([_share(r) for r in rows]))
        print(_row(f"median of {len(rows)}", med))
    return 0


def _share(m: dict) -> float:
    return sum(m[k] for k in CLASSES) / m["sent"] if m["sent"] else 0.0


def _row(label: str, m: dict) -> str:
    sent = m["sent"] or 1.0
    cells = [f"{m[k] / 1e6:.2f} MB ({m[k] / sent:.1%})" for k in CLASSES]
    share = m.get("share", _share(m))
    return f"| {label} | {m['sent'] / 1e6:.2f} MB | " + " | ".join(cells) + f" | {share:.1%} |"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
