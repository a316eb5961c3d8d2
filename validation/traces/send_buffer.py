"""An uploader's send buffers against its rates: the samples of LOCAL's connections (to REMOTE, or
to every peer) over a time window in which the remote has at least MIN_ASKED of its requests
waiting at LOCAL (``upload_queue_length``), and, of those, the 10th / 50th / 90th percentiles of
the bytes in the send buffer (``used_send_buffer``), of libtorrent's rate estimate
(``payload_up_bps``), and of their ratio (samples above 50 kB/s). libtorrent reads blocks into the
send buffer up to ``send_buffer_watermark_factor`` (50 %) of the connection's last second of upload
(peer_connection::fill_send_buffer), so a busy connection's ratio is about 0.5 s. From connection
traces (a recorded lab run, or ``leechsim simulate SCENARIO --runs N --trace-connections --out DIR``,
whose send buffer is the one its writes take: docs/lab.md).

    python validation/traces/send_buffer.py RUN_DIR... --local 1 [--remote 0] --from 15 --to 40
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from favourites import for_each_run, trace_of  # this directory's script: run as python validation/traces/send_buffer.py

COLUMNS = ("t_s", "local", "remote", "used_send_buffer", "upload_queue_length", "payload_up_bps")
RATE_FLOOR_BPS = 50_000  # the ratio is read only where the rate is this large: a slow connection's buffer is the low watermark


def samples(run_dir: Path, local: int, remote: int | None, t0: float, t1: float, min_asked: int,
            runs: int | None = None) -> pd.DataFrame | None:
    """The window's samples with at least ``min_asked`` requests waiting, over the replications
    (at most ``runs``); None when the run has no connection traces."""
    traces = [t for t in (trace_of(r) for r in sorted((run_dir / "replications").iterdir())) if t is not None]
    if not traces:
        return None
    parts = []
    for trace in traces[:runs]:
        d = pd.read_csv(trace, usecols=lambda c: c in COLUMNS)
        missing = [c for c in COLUMNS if c not in d.columns]
        if missing:
            raise SystemExit(f"{trace}: no column {', '.join(missing)}")
        s = d[(d.local == local) & (d.remote >= 0) & (d.t_s >= t0) & (d.t_s < t1)
              & (d.upload_queue_length >= min_asked) & d.used_send_buffer.notna()]
        if remote is not None:
            s = s[s.remote == remote]
        parts.append(s)
    return pd.concat(parts) if parts else pd.DataFrame(columns=COLUMNS)


def summary(s: pd.DataFrame) -> dict:
    """Sample count and the percentiles (10, 50, 90) of the buffer, the rate and their ratio."""
    out = {"samples": len(s)}
    if s.empty:
        return out
    fast = s[s.payload_up_bps > RATE_FLOOR_BPS]
    for name, values in (("send_buffer_bytes", s.used_send_buffer), ("rate_bps", s.payload_up_bps),
                         ("buffer_s", fast.used_send_buffer / fast.payload_up_bps)):
        out[name] = np.percentile(values.to_numpy(dtype=float), [10, 50, 90]) if len(values) else None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--local", type=int, required=True)
    ap.add_argument("--remote", type=int, default=None)
    ap.add_argument("--from", dest="t0", type=float, default=0.0)
    ap.add_argument("--to", dest="t1", type=float, default=float("inf"))
    ap.add_argument("--min-asked", type=int, default=8, help="requests waiting at LOCAL (default 8)")
    ap.add_argument("--runs", type=int, default=None, help="at most this many replications per run directory")
    a = ap.parse_args(argv)

    def report(run, s):
        s = summary(s)
        if s["samples"] == 0:
            print(f"{run}: no samples in the window")
            return
        b, r, q = s["send_buffer_bytes"], s["rate_bps"], s["buffer_s"]
        ratio = "no sample above 50 kB/s" if q is None else "buffer / rate " + " / ".join(f"{x:.3f}" for x in q) + " s"
        print(f"{run} ({s['samples']} samples): send buffer {b[0]:,.0f} / {b[1]:,.0f} / {b[2]:,.0f} B, "
              f"rate {r[0]:,.0f} / {r[1]:,.0f} / {r[2]:,.0f} B/s, {ratio} (10th / 50th / 90th percentiles)")

    for_each_run(ap, a.run_dirs, lambda run: samples(run, a.local, a.remote, a.t0, a.t1, a.min_asked, a.runs), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
