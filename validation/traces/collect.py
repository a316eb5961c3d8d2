"""Keep the traced experiments small enough for git and tabulate them (validation/traces/README.md).

    python validation/traces/collect.py NAME:UPLOADER:RATE_WINDOW_S:RUN_DIR [...] --out validation/traces
        [--first-run K] [--append]

For each run directory and replication: the uploader's rows of connections.csv (gzip), the
``leechsim trace`` figure and tables, and one row of ``table.csv`` / the Markdown table printed
on stdout (metrics: forensics/connection_metrics.py, ``uploader_headline``).

To add runs to a recording: ``--first-run K`` numbers the run directory's replications from K in
the files' names and the table's ``replication`` column (the figures' and summaries' text still
names the run directory and its own replication), and ``--append`` keeps the rows already in
OUT/table.csv (a row of the same experiment and run is replaced). The Markdown table printed
holds the rows collected in this call.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
import sys
from pathlib import Path

from forensics import atomic
from forensics import connection_metrics as cm
from forensics.connection_report import load_traced_replication, write_trace_report
from forensics.traces import connections_file, open_by_suffix

COLUMNS = ("experiment", "replication", "uploader", "limit_kBps", "rate_window_s", "first_remote", "first_share", "even_share",
           "later_t50_median_s", "later_t90_median_s", "later_t90_max_s", "later_t50_fair_median_s",
           "later_t90_fair_median_s", "later_reached_90_fair", "later", "episodes", "optimistic_episodes",
           "episode_t50_median_s", "episode_t90_median_s", "utilisation", "window_utilisation", "choked_share")


EXPERIMENT_ORDER = {"seniority": 0, "one-slot": 1, "capped-subject": 2}  # the table's order (compare.py)


def uploader_rows_gz(src: Path, dst: Path, uploader: int) -> None:
    with open_by_suffix(src) as f:  # .csv, .gz or .xz
        lines = [next(f)] + [line for line in f if line.split(",", 2)[1] == str(uploader)]
    atomic.write_bytes(dst, gzip.compress("".join(lines).encode(), mtime=0))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="NAME:UPLOADER:RATE_WINDOW_S:RUN_DIR")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--first-run", type=int, default=0, metavar="K",
                    help="number the replications from K in the files and the table (default 0)")
    ap.add_argument("--append", action="store_true", help="keep the rows of OUT/table.csv")
    a = ap.parse_args(argv)
    if a.first_run < 0:
        ap.error(f"--first-run must be >= 0, got {a.first_run}")
    rows = []
    for spec in a.runs:
        name, uploader, rate_window_s, run_dir = spec.split(":", 3)
        uploader, rate_window_s, run_dir = int(uploader), float(rate_window_s), Path(run_dir)
        for rep_dir in sorted((run_dir / "replications").iterdir()):
            rep = int(rep_dir.name)
            run = rep + a.first_run
            out = a.out / name
            write_trace_report(run_dir, rep, uploader, out, rate_window_s=rate_window_s, label=run)
            src = connections_file(rep_dir) or rep_dir / "connections.csv"  # found: write_trace_report read it
            uploader_rows_gz(src, out / f"r{run:04d}-u{uploader:04d}-connections.csv.gz", uploader)
            data = load_traced_replication(run_dir, rep, uploader)
            s = cm.summarize_uploader(data.table, uploader, data.upload_bps[uploader], rate_window_s=rate_window_s)
            h = cm.uploader_headline(s)
            rows.append([name, run, uploader, s.limit_bps / 1000, rate_window_s] + [h[c] for c in COLUMNS[5:]])
    collected = rows
    if a.append and (a.out / "table.csv").exists():
        with open(a.out / "table.csv", newline="") as f:
            kept = [list(r.values()) for r in csv.DictReader(f)]
        new = {(str(r[0]), str(r[1])) for r in rows}
        rows = [r for r in kept if (r[0], r[1]) not in new] + collected  # kept cells as read: written back as they were
        rows.sort(key=lambda r: (EXPERIMENT_ORDER.get(str(r[0]), len(EXPERIMENT_ORDER)), str(r[0]), int(r[1])))
    atomic.write_csv(a.out / "table.csv", COLUMNS, rows)

    def f(x, spec="{:.1f}"):
        return "—" if isinstance(x, float) and math.isnan(x) else spec.format(x)

    print("| experiment | run | uploader (limit kB/s) | first unchoked: share of 60 s (even) "
          "| later conns to 50 % / 90 % of eventual: median s (max t90) "
          "| later conns to 50 % / 90 % of even share: median s (reached 90 %) "
          "| episodes (optimistic) | all episodes t50 / t90 median (s) | utilisation (first 60 s) | to choked |")
    print("|---|---:|---|---|---|---|---|---|---|---:|")
    for r in collected:
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
