"""The focused experiments' targets: the model's table.csv against the lab's (validation/ANALYSIS.md).

    python validation/traces/compare.py validation/traces/table.csv runs/sim-traces/table.csv

Per experiment and metric, the lab's and the model's median over their runs (min-max beside),
the error and whether it is within ±20 % of the lab median; times both under one quota tick
(0.5 s, the model's resolution) count as met. Prints a Markdown table and the count.
"""

from __future__ import annotations

import csv
import statistics
import sys

METRICS = (  # column of table.csv, what it measures, unit
    ("first_share", "first connection's share of the first 60 s", "%"),
    ("later_t50_fair_median_s", "newcomers: time to 50 % of an even share", "s"),
    ("later_t90_fair_median_s", "newcomers: time to 90 % of an even share", "s"),
    ("utilisation", "utilisation of the upload limit", "%"),
    ("choked_share", "share of upload sent to choked peers", "%"),
)
EXPERIMENTS = ("seniority", "one-slot", "capped-subject")
TOLERANCE = 0.20
TICK_S = 0.5


def compare(lab: list[dict], sim: list[dict]) -> tuple[list[str], int, int]:
    lines = ["| experiment | metric | lab median [min–max] | model median [min–max] | error | target |",
             "|---|---|---|---|---:|---|"]
    met = total = 0
    for exp in EXPERIMENTS:
        for key, label, unit in METRICS:
            if key == "choked_share" and exp != "one-slot":
                continue
            a = [float(r[key]) for r in lab if r["experiment"] == exp]
            b = [float(r[key]) for r in sim if r["experiment"] == exp]
            if not a or not b:
                continue
            la, sb = statistics.median(a), statistics.median(b)
            fmt = (lambda x: f"{x * 100:.1f}%") if unit == "%" else (lambda x: f"{x:.1f} s")
            if unit == "s" and la < TICK_S and sb < TICK_S:
                err, ok = "both < 1 tick", True
            else:
                e = (sb - la) / la if la else float("inf")
                err, ok = f"{e * 100:+.0f}%", abs(e) <= TOLERANCE
            total += 1
            met += ok
            lines.append(f"| {exp} | {label} | {fmt(la)} [{fmt(min(a))}–{fmt(max(a))}] | "
                         f"{fmt(sb)} [{fmt(min(b))}–{fmt(max(b))}] | {err} | {'met' if ok else '**missed**'} |")
    return lines, met, total


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    tables = []
    for path in argv:
        try:
            with open(path, newline="") as f:
                tables.append(list(csv.DictReader(f)))
        except OSError as e:
            print(f"{path}: cannot read ({e.strerror})", file=sys.stderr)
            return 2
    lines, met, total = compare(*tables)
    print("\n".join(lines))
    print(f"\n{met} of {total} within target")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
