"""Who served whom in a lab run recorded with ``leechsim lab --all-blocks``.

Every peer's ``raw/peer-NNNN-blocks.csv`` (and the subject's ``subject-blocks.csv``) lists the
blocks it uploaded, one row per libtorrent ``block_uploaded_alert``. This module turns them into
an uploader x receiver matrix of bytes, and into one uploader's rate to each receiver over time
windows — the view that shows how an uploader divides its bandwidth (docs/model.md).

    python -m forensics.lab.shares RUN_DIR [--replication 0] [--uploader 1] [--window-s 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.layout import BLOCK_BYTES
from sim.results import ROLE_NAMES, ROLE_SEED, ROLE_SUBJECT

from ..errors import UserError


@dataclass(frozen=True)
class Uploads:
    """Blocks uploaded in one lab replication: parallel arrays, one entry per block."""

    t_s: np.ndarray
    src: np.ndarray  # uploader's peer index
    dst: np.ndarray  # receiver's peer index
    peers: dict[int, dict]  # peer index -> its raw peer-NNNN.json

    def matrix_bytes(self) -> np.ndarray:
        """[uploader, receiver] payload bytes (whole blocks)."""
        n = max(self.peers) + 1
        m = np.zeros((n, n), dtype=np.int64)
        np.add.at(m, (self.src, self.dst), BLOCK_BYTES)
        return m

    def rates(self, uploader: int, window_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(window starts, [window, receiver] bytes/s) of one uploader."""
        sel = self.src == uploader
        t, dst = self.t_s[sel], self.dst[sel]
        n_win = int(np.floor(t.max() / window_s)) + 1 if len(t) else 0
        r = np.zeros((n_win, max(self.peers) + 1))
        np.add.at(r, (np.floor(t / window_s).astype(np.int64), dst), BLOCK_BYTES / window_s)
        return np.arange(n_win) * window_s, r


def load_uploads(raw_dir: Path) -> Uploads:
    """Read every peer's block log in one replication's raw/ directory."""
    metas = sorted(raw_dir.glob("peer-[0-9][0-9][0-9][0-9].json"))
    if not metas:
        raise UserError(f"{raw_dir}: no peer-NNNN.json files (a lab replication's raw/ directory is needed)")
    peers = {}
    for m in metas:
        try:
            d = json.loads(m.read_text())
            peers[int(d["index"])] = d
            d["ip"], d["role"], d["join_s"]
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(f"{m}: not a lab peer record ({type(e).__name__}: {e})") from None
    by_ip = {d["ip"]: i for i, d in peers.items()}
    by_ip.update({d.get("out_ip"): i for i, d in peers.items() if d.get("out_ip")})
    t, src, dst = [], [], []
    for i, d in peers.items():
        path = raw_dir / ("subject-blocks.csv" if d["role"] == ROLE_SUBJECT else f"peer-{i:04d}-blocks.csv")
        if not path.is_file():
            if d["role"] == ROLE_SUBJECT:
                raise UserError(f"{path}: missing (the subject always logs its blocks)")
            raise UserError(f"{path}: missing — record the run with 'leechsim lab --all-blocks'")
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if not {"t_s", "peer_ip"} <= set(reader.fieldnames or ()):
                raise UserError(f"{path}: expected a header with columns t_s and peer_ip, got {reader.fieldnames}")
            for line, row in enumerate(reader, start=2):
                try:
                    ip, when = row["peer_ip"], float(row["t_s"])
                except (KeyError, TypeError, ValueError):
                    raise UserError(f"{path}, line {line}: expected columns t_s (seconds) and peer_ip") from None
                if ip not in by_ip:
                    raise UserError(f"{path}, line {line}: block sent to {ip}, which is no peer of this run")
                t.append(when)
                src.append(i)
                dst.append(by_ip[ip])
    return Uploads(np.array(t, dtype=np.float64), np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), peers)


def _raw_dir(run_dir: Path, replication: int) -> Path:
    raw = run_dir / "replications" / f"{replication:04d}" / "raw"
    if not raw.is_dir():
        raise UserError(f"{raw}: not found (a run directory written by 'leechsim lab --all-blocks' is needed; "
                        "recordings under validation/recorded/ keep no raw files)")
    return raw


def main(argv: list[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    p = argparse.ArgumentParser(prog="python -m forensics.lab.shares", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--replication", type=int, default=0)
    p.add_argument("--uploader", type=int, help="peer index (default: every initial seed)")
    p.add_argument("--window-s", type=float, default=5.0, help="window length in seconds (> 0)")
    ns = p.parse_args(argv)
    if not ns.window_s > 0:
        p.error(f"--window-s: expected a number of seconds > 0, got {ns.window_s!r}")
    try:
        up = load_uploads(_raw_dir(ns.run_dir, ns.replication))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    uploaders = [ns.uploader] if ns.uploader is not None else [i for i, d in up.peers.items() if d["role"] == ROLE_SEED]
    receivers = [i for i, d in sorted(up.peers.items()) if d["role"] != ROLE_SEED]
    for u in uploaders:
        if u not in up.peers:
            print(f"error: --uploader {u}: no such peer (0..{max(up.peers)})", file=sys.stderr)
            return 2
        starts, rates = up.rates(u, ns.window_s)
        role = ROLE_NAMES.get(up.peers[u]["role"], "peer")
        print(f"peer {u} ({role}): upload to each receiver, kB/s per {ns.window_s:g} s window", file=out)
        print("receiver:      " + " ".join(f"{i:>7d}" for i in receivers), file=out)
        print("joined at (s): " + " ".join(f"{up.peers[i]['join_s']:7.1f}" for i in receivers), file=out)
        for s, row in zip(starts, rates):
            print(f"{s:13.0f}  " + " ".join(f"{row[i] / 1000:7.0f}" for i in receivers), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
