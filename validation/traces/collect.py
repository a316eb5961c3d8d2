"""Keep the traced experiments small enough for git and tabulate them (validation/traces/README.md).

    python validation/traces/collect.py NAME:UPLOADER:RATE_WINDOW_S:RUN_DIR [...] --out validation/traces

For each run directory and replication: the uploader's rows of connections.csv (gzip), the
``leechsim trace`` figure and tables, and one row of ``table.csv`` / the Markdown table printed
on stdout (metrics: forensics/connection_metrics.py, ``uploader_headline``).
"""

from __future__ import annotations

import argparse
import gzip
import math
import sys
from pathlib import Path

from forensics import atomic
from forensics import connection_metrics as cm
from forensics.connection_report import load_traced_replication, write_trace_report

COLUMNS = ("experiment", "replication", "uploader", "limit_kBps", "rate_window_s", "first_remote", "first_share", "even_share",
           "later_t50_median_s", "later_t90_median_s", "later_t90_max_s", "later_t50_fair_median_s",
           "later_t90_fair_median_s", "later_reached_90_fair", "later", "episodes", "optimistic_episodes",
           "episode_t50_median_s", "episode_t90_median_s", "utilisation", "window_utilisation", "choked_share")


def uploader_rows_gz(src: Path, dst: Path, uploader: int) -> None:
    with open(src, newline="") as f:
        lines = [next(f)] + [line for line in f if line.split(",", 2)[1] == str(uploader)]
    atomic.write_bytes(dst, gzip.compress("".join(lines).encode(), mtime=0))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="NAME:UPLOADER:RATE_WINDOW_S:RUN_DIR")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    rows = []
    for spec in a.runs:
        name, uploader, rate_window_s, run_dir = spec.split(":", 3)
        uploader, rate_window_s, run_dir = int(uploader), float(rate_window_s), Path(run_dir)
        for rep_dir in sorted((run_dir / "replications").iterdir()):
            rep = int(rep_dir.name)
            out = a.out / name
            write_trace_report(run_dir, rep, uploader, out, rate_window_s=rate_window_s)
            uploader_rows_gz(rep_dir / "connections.csv", out / f"r{rep:04d}-u{uploader:04d}-connections.csv.gz",
                             uploader)
            data = load_traced_replication(run_dir, rep, uploader)
            s = cm.summarize_uploader(data.table, uploader, data.upload_bps[uploader], rate_window_s=rate_window_s)
            h = cm.uploader_headline(s)
            rows.append([name, rep, uploader, s.limit_bps / 1000, rate_window_s] + [h[c] for c in COLUMNS[5:]])
    atomic.write_csv(a.out / "table.csv", COLUMNS, rows)

    def f(x, spec="{:.1f}"):
        return "—" if isinstance(x, float) and math.isnan(x) else spec.format(x)

    print("| experiment | run | uploader (limit kB/s) | first unchoked: share of 60 s (even) "
          "| later conns to 50 % / 90 % of eventual: median s (max t90) "
          "| later conns to 50 % / 90 % of even share: median s (reached 90 %) "
          "| episodes (optimistic) | all episodes t50 / t90 median (s) | utilisation (first 60 s) | to choked |")
    print("|---|---:|---|---|---|---|---|---|---|---:|")
    for r in rows:
        d = dict(zip(COLUMNS, r))
        print(f"| {d['experiment']} | {d['replication']} | {d['uploader']} ({d['limit_kBps']:.0f}) "
              f"| peer {d['first_remote']}: {f(d['first_share'], '{:.0%}')} ({f(d['even_share'], '{:.0%}')}) "
              f"| {f(d['later_t50_median_s'])} / {f(d['later_t90_median_s'])} ({f(d['later_t90_max_s'])}) "
              f"| {f(d['later_t50_fair_median_s'])} / {f(d['later_t90_fair_median_s'])} "
              f"({d['later_reached_90_fair']}/{d['later']}) "
              f"| {d['episodes']} ({d['optimistic_episodes']}) "
              f"| {f(d['episode_t50_median_s'])} / {f(d['episode_t90_median_s'])} "
              f"| {f(d['utilisation'], '{:.0%}')} ({f(d['window_utilisation'], '{:.0%}')}) "
              f"| {f(d['choked_share'], '{:.0%}')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
