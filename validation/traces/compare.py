"""The focused experiments' targets: the model's table.csv against the lab's (validation/ANALYSIS.md).

    python validation/traces/compare.py validation/traces/table.csv runs/sim-traces/table.csv

Per experiment and metric, the lab's and the model's median over their runs (min-max beside),
the error and whether it is within ±20 % of the lab median; times both under one quota tick
(0.5 s, the model's resolution) count as met. Prints a Markdown table and the count.

"Exact model": how often a model whose runs spread exactly as the lab's would meet the same rule
with as many lab and model runs as the tables hold — the rule applied to two resamples (with
replacement, 20,000 times, fixed seed), one the size of the lab's runs, one the size of the
model's, drawn from the model's runs (the model's spread stands in for the lab's, as in the
matrix's "an exact model would meet", docs/validation.md) and, second, from the lab's own runs
(three values: a coarse picture of the lab's spread). A metric an exact model meets with low
probability is decided by the lab's run-to-run noise, not by the model.
"""

from __future__ import annotations

import csv
import math
import statistics
import sys

import numpy as np

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
RESAMPLES = 20_000


def _value(cell: str) -> float:
    """A table cell; empty where no newcomer got there during its episode (collect.py writes nan
    as empty): never, so later than any time that was reached."""
    return float(cell) if cell.strip() else math.inf


def _met(la: float, sb: float, unit: str) -> bool:
    """The target: within ±20 % of the lab median; times both under one quota tick count as met;
    never (inf) meets only never."""
    if unit == "s" and la < TICK_S and sb < TICK_S:
        return True
    if math.isinf(la) or math.isinf(sb) or not la:
        return sb == la
    return abs((sb - la) / la) <= TOLERANCE


def exact_model_chance(values: list[float], n_lab: int, unit: str, seed: int = 0,
                       n_model: int | None = None) -> float:
    """P(rule met) when the lab's n_lab runs and the model's n_model runs (default: as many as
    ``values``) are both drawn from the distribution of ``values`` (resampled with replacement)."""
    rng = np.random.default_rng(seed)
    v = np.asarray(values, dtype=float)
    lab = np.median(rng.choice(v, (RESAMPLES, n_lab)), axis=1)
    sim = np.median(rng.choice(v, (RESAMPLES, n_model or len(v))), axis=1)
    return float(np.mean([_met(a, b, unit) for a, b in zip(lab, sim)]))


def compare(lab: list[dict], sim: list[dict]) -> tuple[list[str], int, int, dict[str, list[float]]]:
    """The table's lines, targets met, targets, and per target the exact model's chance to meet
    it with the model's spread ("model") and with the lab's (its runs resampled, "lab")."""
    lines = ["| experiment | metric | lab median [min–max] | model median [min–max] | error | target "
             "| exact model meets (model's / lab's spread) |",
             "|---|---|---|---|---:|---|---:|"]
    met = total = 0
    chances: dict[str, list[float]] = {"model": [], "lab": []}
    for exp in EXPERIMENTS:
        for key, label, unit in METRICS:
            if key == "choked_share" and exp != "one-slot":
                continue
            a = [_value(r[key]) for r in lab if r["experiment"] == exp]
            b = [_value(r[key]) for r in sim if r["experiment"] == exp]
            if not a or not b:
                continue
            la, sb = statistics.median(a), statistics.median(b)
            fmt = (lambda x: f"{x * 100:.1f}%") if unit == "%" else (lambda x: f"{x:.1f} s")
            ok = _met(la, sb, unit)
            if unit == "s" and la < TICK_S and sb < TICK_S:
                err = "both < 1 tick"
            else:
                err = f"{(sb - la) / la * 100:+.0f}%" if la and math.isfinite(la) and math.isfinite(sb) else "—"
            chances["model"].append(exact_model_chance(b, len(a), unit))
            chances["lab"].append(exact_model_chance(a, len(a), unit, n_model=len(b)))
            total += 1
            met += ok
            lines.append(f"| {exp} | {label} | {fmt(la)} [{fmt(min(a))}–{fmt(max(a))}] | "
                         f"{fmt(sb)} [{fmt(min(b))}–{fmt(max(b))}] | {err} | {'met' if ok else '**missed**'} "
                         f"| {chances['model'][-1]:.2f} / {chances['lab'][-1]:.2f} |")
    return lines, met, total, chances


def _unreadable(table: list[dict]) -> str | None:
    """What in a table.csv compare cannot read (a missing column, a cell that is not a number),
    or None."""
    for i, row in enumerate(table, start=2):  # line 1 is the header
        for key in ("experiment",) + tuple(k for k, _, _ in METRICS):
            if row.get(key) is None:
                return f"no column {key!r} (collect.py writes it)"
            if key == "experiment":
                continue
            try:
                _value(row[key])
            except ValueError:
                return f"line {i}, column {key!r}: {row[key]!r} is not a number (a number, or empty for never)"
    return None


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
    for path, table in zip(argv, tables):
        problem = _unreadable(table)
        if problem:
            print(f"{path}: {problem}", file=sys.stderr)
            return 2
    lines, met, total, chances = compare(*tables)
    print("\n".join(lines))
    print(f"\n{met} of {total} within target")
    for spread, c in chances.items():
        print(f"an exact model ({spread}'s spread) would meet {sum(c):.1f} of {total} on average, "
              f"all {total} with probability {float(np.prod(c)):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
