"""The swarm's own pace, lab against model: each matrix scenario's median over runs of the swarm's
median leecher download time (results.csv ``swarm_median_download_time_s``), from the recordings and
from a ``leechsim validate --matrix`` output directory (one or more, side by side: model variants).

Run:  leechsim validate --matrix validation/ --out runs/validation
      python validation/traces/swarm_pace.py runs/validation [OTHER_VALIDATE_OUT ...]
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIELD = "swarm_median_download_time_s"


def median_of(results: Path) -> float:
    if not results.is_file():
        raise SystemExit(f"{results}: missing; run leechsim validate --matrix first")
    return statistics.median(float(r[FIELD]) for r in csv.DictReader(open(results)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("validate_out", type=Path, nargs="+")
    ap.add_argument("--recorded", type=Path, default=ROOT / "validation" / "recorded")
    a = ap.parse_args(argv)
    names = sorted(p.name for p in a.validate_out[0].joinpath("sim").iterdir() if p.is_dir())
    print("scenario | lab (s) | " + " | ".join(f"{d.name}: model (s), error" for d in a.validate_out))
    errors: dict[Path, list[float]] = {d: [] for d in a.validate_out}
    for n in names:
        lab = median_of(a.recorded / n / "results.csv")
        cells = []
        for d in a.validate_out:
            sim = median_of(d / "sim" / n / "results.csv")
            errors[d].append(sim / lab - 1)
            cells.append(f"{sim:.1f}, {sim / lab - 1:+.1%}")
        print(f"{n} | {lab:.1f} | " + " | ".join(cells))
    for d, e in errors.items():
        print(f"{d.name}: median error {statistics.median(e):+.1%}; model faster in {sum(x < 0 for x in e)} of {len(e)}")


if __name__ == "__main__":
    main()
