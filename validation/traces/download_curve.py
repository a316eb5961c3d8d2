"""The subject's download over time: median MiB received by given times, over a run's
replications (the lab's recordings or the model's, from replications/NNNN/timeseries.csv).

    python validation/traces/download_curve.py RUN_DIR [RUN_DIR ...] --at 32 34 36 40 45 50

Values between a run's samples are interpolated linearly. The lab samples every 0.5 s; the model
every ``[simulation] sample_interval_s`` (5 s unless the scenario says otherwise), so for the
first seconds of a model run set a finer interval in the scenario or read its connection traces
(``--trace-connections``) with ``--traces``: the subject's received payload summed over its
connections (each connection's ``total_down_bytes`` at its last sample by then). A time before a
replication's first sample is known only when that sample is still 0 (downloads only grow);
otherwise the median there is printed as "n/a".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from favourites import trace_of  # this directory's script: run as python validation/traces/download_curve.py


def curve(run_dir: Path, times: list[float], runs: int | None = None) -> np.ndarray:
    """Median over replications of MiB downloaded by each of ``times`` (linear between samples)."""
    files = sorted((run_dir / "replications").glob("*/timeseries.csv"))[:runs]
    if not files:
        raise SystemExit(f"{run_dir}: no replications/NNNN/timeseries.csv")
    rows = []
    for f in files:
        ts = pd.read_csv(f)
        if ts.empty or not {"t_s", "subject_downloaded_bytes"} <= set(ts.columns):
            raise SystemExit(f"{f}: no samples with columns t_s and subject_downloaded_bytes")
        first = float(ts.subject_downloaded_bytes.iloc[0])
        # before the first sample: 0 if that sample is still 0, else unknown
        rows.append(np.interp(times, ts.t_s, ts.subject_downloaded_bytes, left=0.0 if first == 0 else np.nan)
                    / 2**20)
    return np.median(np.array(rows), axis=0)


def curve_from_traces(run_dir: Path, times: list[float], runs: int | None = None, subject: int = 0) -> np.ndarray:
    """Median over replications of MiB the subject had received by each of ``times``, from its
    connection traces: every connection's last ``total_down_bytes`` at or before the time, summed."""
    traces = [t for t in (trace_of(r) for r in sorted((run_dir / "replications").glob("*"))) if t is not None][:runs]
    if not traces:
        raise SystemExit(f"{run_dir}: no replications/NNNN/connections.csv(.gz/.xz) (run with --trace-connections)")
    rows = []
    for trace in traces:
        d = pd.read_csv(trace, usecols=["t_s", "local", "remote", "total_down_bytes"])
        mine = d[d.local == subject]
        rows.append([mine[mine.t_s <= t + 1e-6].groupby("remote").total_down_bytes.max().sum() / 2**20
                     for t in times])
    return np.median(np.array(rows, dtype=float), axis=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--at", nargs="+", type=float, required=True)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--traces", action="store_true", help="read the connection traces, not timeseries.csv")
    a = ap.parse_args(argv)
    read = curve_from_traces if a.traces else curve
    print("run | " + " | ".join(f"{t:g} s" for t in a.at))
    for d in a.run_dirs:
        print(f"{d} | " + " | ".join("n/a" if np.isnan(v) else f"{v:.1f}" for v in read(d, a.at, a.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
