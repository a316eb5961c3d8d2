"""One connection, read from the downloader's end over a time window: how often LOCAL is interested
in REMOTE, how often it is served (interested and unchoked), and — while served — how often it has
no request out to REMOTE (``download_queue_length`` 0) and its mean payload rate from it (kB/s,
1,000 bytes). Means over replications, from connection traces (a recorded lab run, or
``leechsim simulate SCENARIO --runs N --trace-connections --out DIR``).

    python validation/traces/pair_state.py RUN_DIR... --local 0 --remote 2 --from 15 --to 40
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from favourites import for_each_run, trace_of  # this directory's script: run as python validation/traces/pair_state.py

COLUMNS = ("t_s", "local", "remote", "interesting", "remote_choked", "download_queue_length", "payload_down_bps")


def pair_state(run_dir: Path, local: int, remote: int, t0: float, t1: float, runs: int | None = None) -> dict | None:
    """The four figures, each a mean over the replications whose trace has the connection in the
    window; None when the run has no connection traces."""
    rows = []
    traces = [t for t in (trace_of(r) for r in sorted((run_dir / "replications").iterdir())) if t is not None]
    if not traces:
        return None
    for trace in traces[:runs]:
        d = pd.read_csv(trace)
        missing = [c for c in COLUMNS if c not in d.columns]
        if missing:
            raise SystemExit(f"{trace}: no column {', '.join(missing)} (connection traces of 2026-12-01 or later)")
        s = d[(d.local == local) & (d.remote == remote) & (d.t_s >= t0) & (d.t_s < t1)]
        if s.empty:
            continue
        served = (s.interesting == 1) & (s.remote_choked == 0)
        rows.append({"interested": (s.interesting == 1).mean(), "served": served.mean(),
                     "no_request_when_served": (s.download_queue_length[served] == 0).mean() if served.any() else float("nan"),
                     "kB_s_when_served": s.payload_down_bps[served].mean() / 1000 if served.any() else float("nan"),
                     })
    if not rows:
        return {"replications": 0}
    out = pd.DataFrame(rows).mean().to_dict()
    out["replications"] = len(rows)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--local", type=int, required=True)
    ap.add_argument("--remote", type=int, required=True)
    ap.add_argument("--from", dest="t0", type=float, default=0.0)
    ap.add_argument("--to", dest="t1", type=float, default=float("inf"))
    ap.add_argument("--runs", type=int, default=None, help="at most this many replications per run directory")
    a = ap.parse_args(argv)

    def report(run, s):
        if s["replications"] == 0:
            print(f"{run}: the connection {a.local} <- {a.remote} is not in the window")
            return
        print(f"{run} ({s['replications']}): interested {s['interested']:.2f}, served {s['served']:.2f}, "
              f"no request out when served {s['no_request_when_served']:.2f}, "
              f"{s['kB_s_when_served']:.0f} kB/s when served")

    for_each_run(ap, a.run_dirs, lambda run: pair_state(run, a.local, a.remote, a.t0, a.t1, a.runs), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
