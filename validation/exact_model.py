"""What an exact model would score on the matrix's targets, given how few lab runs each scenario has.

If the model were exact, each lab run would be a draw from the model's own distribution of the
quantity. Then the median of a scenario's n lab runs is itself random, and the model's median lies
within the tolerance of it only with some probability. This script estimates that probability per
scenario (drawing n of the model's replications, many times over) and the distribution of how many
scenarios meet the target, for each compared quantity. The model's spread stands in for the lab's:
fair while the model's 90 % interval holds about 90 % of the lab runs (docs/validation.md).

Run after the matrix (which writes DIR/validation.json and DIR/sim/NAME/results.csv):
    leechsim validate --matrix validation/ --out runs/validation
    python validation/exact_model.py runs/validation [--draws 20000] [--lab-runs N]

The probabilities come from forensics.analysis.sim_vs_lab.exact_pass_probability (seeded per
scenario and quantity), here for the tolerance alone; ``leechsim validate`` reports the same for
each target as stated (for upload while leeching: also every lab run inside the 90 % interval).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout: the project's packages
from forensics.analysis.sim_vs_lab import (EXACT_DRAWS, ZERO_FRACTION, exact_pass_probability,  # noqa: E402
                                           met_count_distribution)

# quantity -> (tolerance, the target's count of scenarios) as docs/validation.md states them
TARGETS = {
    "subject_upload_leech_bytes": (0.10, 12),
    "subject_download_time_s": (0.15, None),  # None: every scenario
    "subject_upload_seed_bytes": (0.15, None),
}


def torrent_bytes(sim_dir: Path) -> int:
    """The torrent's size as the comparison takes it (the simulated run's layout)."""
    from sim.engine import layout_of
    from sim.scenario import load_scenario
    return int(layout_of(load_scenario(sim_dir / "scenario.toml")).total_bytes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path, help="the matrix's output directory (leechsim validate --matrix ... --out DIR)")
    ap.add_argument("--draws", type=int, default=EXACT_DRAWS)
    ap.add_argument("--lab-runs", type=int, default=None,
                    help="as if every scenario had this many lab runs (default: the runs each has)")
    ns = ap.parse_args(argv)
    try:
        report = json.loads((ns.run_dir / "validation.json").read_text())
    except (OSError, ValueError) as e:
        print(f"exact_model: {ns.run_dir / 'validation.json'}: cannot read ({e})", file=sys.stderr)
        return 2
    for quantity, (tol, need) in TARGETS.items():
        rows = [r for r in report["rows"] if r["quantity"] == quantity]
        probs = []
        for r in rows:
            res = ns.run_dir / "sim" / r["scenario"] / "results.csv"
            try:
                sim = pd.read_csv(res)[quantity].to_numpy(dtype=float)
            except (OSError, KeyError, ValueError) as e:
                print(f"exact_model: {res}: cannot read {quantity} ({e})", file=sys.stderr)
                return 2
            sim = sim[~np.isnan(sim)]
            zero = ZERO_FRACTION * torrent_bytes(ns.run_dir / "sim" / r["scenario"]) if quantity.endswith("_bytes") else None
            n_lab = int(r["lab_runs"]) if ns.lab_runs is None else ns.lab_runs
            # within the tolerance only: the count targets (the every-run-inside test is a target of its own)
            probs.append(exact_pass_probability(sim, n_lab, tol, False, zero, f"{r['scenario']}|{quantity}", ns.draws))
        dist = met_count_distribution(probs)
        k = len(probs) if need is None else need
        print(f"{quantity} within ±{tol:.0%}: an exact model meets it in {sum(probs):.1f} of {len(probs)} scenarios "
              f"on average; {k} or more with probability {dist[k:].sum():.2f}")
        print("  per scenario: " + ", ".join(f"{r['scenario'].split('-')[0]} {p:.2f}" for r, p in zip(rows, probs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
