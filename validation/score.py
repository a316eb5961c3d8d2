"""Score model variants against every recorded lab run, not only the lab medians: the continuous
ranked probability score (CRPS) of each lab run under the model's replications, a proper scoring
rule (lower is better; it rewards a distribution that is both centred and as narrow as the lab's
spread allows; forensics.analysis.sim_vs_lab.crps, which ``leechsim validate`` reports too). Counting medians within a tolerance uses three to seven lab runs a scenario and
flips on noise (validation/exact_model.py); the CRPS uses all of them.

Run after the matrix command for each variant (each writes DIR/sim/NAME/results.csv):
    python validation/score.py runs/validation [OTHER_DIR ...]

Printed per quantity: for each run directory the median over scenarios of the mean CRPS of the
scenario's lab runs, divided by the lab median (by 1 % of the torrent for a byte quantity whose
lab median is smaller); and, for every directory after the first, per scenario how its CRPS
compares with the first's, and in how many scenarios it is more than 5 % better or worse.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout: the project's packages
from forensics.analysis.sim_vs_lab import crps  # noqa: E402

QUANTITIES = ("subject_upload_leech_bytes", "subject_download_time_s", "subject_upload_seed_bytes")
CHANGE = 0.05


def scenario_scores(run_dir: Path, recorded: Path, quantity: str) -> dict[str, float]:
    """Scaled mean CRPS of each recorded scenario's lab runs under the run's replications."""
    from sim.engine import layout_of
    from sim.scenario import load_scenario

    out = {}
    for rec in sorted(p for p in recorded.iterdir() if (p / "results.csv").exists()):
        sim_csv = run_dir / "sim" / rec.name / "results.csv"
        if not sim_csv.exists():
            continue
        lab = pd.read_csv(rec / "results.csv")[quantity].dropna().to_numpy(dtype=float)
        sim = pd.read_csv(sim_csv)[quantity].dropna().to_numpy(dtype=float)
        if len(lab) == 0 or len(sim) == 0:
            continue
        floor = 0.0
        if quantity.endswith("_bytes"):
            floor = 0.01 * layout_of(load_scenario(run_dir / "sim" / rec.name / "scenario.toml")).total_bytes
        scale = max(float(np.median(lab)), floor, 1e-9)
        out[rec.name] = float(np.mean([crps(sim, x) for x in lab])) / scale
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--recorded", type=Path, default=ROOT / "validation" / "recorded")
    ns = ap.parse_args(argv)
    for d in ns.run_dirs:
        if not (d / "sim").is_dir():
            print(f"score: {d}: no sim/ in it (run leechsim validate --matrix validation/ --out {d})", file=sys.stderr)
            return 2
    for q in QUANTITIES:
        scores = [scenario_scores(d, ns.recorded, q) for d in ns.run_dirs]
        print(q)
        for d, s in zip(ns.run_dirs, scores):
            print(f"  {d}: median scaled CRPS {np.median(list(s.values())):.4f} over {len(s)} scenarios")
        base = scores[0]
        for d, s in zip(ns.run_dirs[1:], scores[1:]):
            common = [k for k in base if k in s]
            rel = {k: (s[k] - base[k]) / max(base[k], 1e-12) for k in common}
            better = sum(r < -CHANGE for r in rel.values())
            worse = sum(r > CHANGE for r in rel.values())
            print(f"  {d} against {ns.run_dirs[0]}: better in {better}, worse in {worse} of {len(common)} "
                  f"(by more than {CHANGE:.0%}): " + ", ".join(f"{k.split('-')[0]} {r:+.0%}" for k, r in rel.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
