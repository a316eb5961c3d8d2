"""The subject's download over time: median MiB received by given times, over a run's
replications (the lab's recordings or the model's, from replications/NNNN/timeseries.csv).

    python validation/traces/download_curve.py RUN_DIR [RUN_DIR ...] --at 32 34 36 40 45 50

Values between a run's samples are interpolated linearly. The lab samples every 0.5 s; the model
every ``[simulation] sample_interval_s`` (5 s unless the scenario says otherwise), so for the
first seconds of a model run set a finer interval in the scenario or read its connection traces
(``--trace-connections``). A time before a replication's first sample is known only when that
sample is still 0 (downloads only grow); otherwise the median there is printed as "n/a".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def curve(run_dir: Path, times: list[float], runs: int | None = None) -> np.ndarray:
    """Median over replications of MiB downloaded by each of ``times`` (linear between samples)."""
    files = sorted((run_dir / "replications").glob("*/timeseries.csv"))[:runs]
    if not files:
        raise SystemExit(f"{run_dir}: no replications/NNNN/timeseries.csv")
    rows = []
    for f in files:
        ts = pd.read_csv(f)
        first = float(ts.subject_downloaded_bytes.iloc[0])
        # before the first sample: 0 if that sample is still 0, else unknown
        rows.append(np.interp(times, ts.t_s, ts.subject_downloaded_bytes, left=0.0 if first == 0 else np.nan)
                    / 2**20)
    return np.median(np.array(rows), axis=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--at", nargs="+", type=float, required=True)
    ap.add_argument("--runs", type=int, default=None)
    a = ap.parse_args(argv)
    print("run | " + " | ".join(f"{t:g} s" for t in a.at))
    for d in a.run_dirs:
        print(f"{d} | " + " | ".join("n/a" if np.isnan(v) else f"{v:.1f}" for v in curve(d, a.at, a.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
