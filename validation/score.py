"""Score model variants against every recorded lab run, not only the lab medians: the continuous
ranked probability score (CRPS) of each lab run under the model's replications, a proper scoring
rule (lower is better; it rewards a distribution that is both centred and as narrow as the lab's
spread allows; computed by forensics.analysis.sim_vs_lab with each comparison). Counting medians within a tolerance uses three to seven lab runs a scenario and
flips on noise (validation/exact_model.py); the CRPS uses all of them.

Run after the matrix command for each variant (each writes DIR/validation.json, whose rows carry
each comparison's ``crps_scaled``):
    python validation/score.py runs/validation [OTHER_DIR ...]
    python validation/score.py runs/holdout OTHER_DIR --only h18 --only h19 --only h20

``--only PREFIX`` (repeatable) keeps the scenarios whose name starts with one of them. Printed per
quantity: for each run directory the median (and the mean) over scenarios of the mean CRPS of the
scenario's lab runs, divided by the lab median (by 1 % of the torrent for a byte quantity whose
lab median is smaller); and, for every directory after the first, per scenario how its CRPS
compares with the first's, and in how many scenarios it is more than 5 % better or worse.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

QUANTITIES = ("subject_upload_leech_bytes", "subject_download_time_s", "subject_upload_seed_bytes")
ZERO = 1e-12  # a scaled CRPS at or below this is 0
CHANGE = 0.05


def scenario_scores(run_dir: Path, quantity: str, only: tuple[str, ...] = ()) -> dict[str, float]:
    """Each scenario's scaled mean CRPS of its lab runs, as the run's validation.json states it
    (forensics.analysis.sim_vs_lab computes it with the comparison); with ``only``, the scenarios
    whose name starts with one of those prefixes."""
    rows = json.loads((run_dir / "validation.json").read_text())["rows"]
    return {r["scenario"]: float(r["crps_scaled"]) for r in rows
            if r["quantity"] == quantity and r.get("crps_scaled") is not None and np.isfinite(r["crps_scaled"])
            and (not only or r["scenario"].startswith(only))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--only", action="append", default=[], metavar="PREFIX",
                    help="only the scenarios whose name starts with PREFIX (repeatable)")
    ns = ap.parse_args(argv)
    only = tuple(ns.only)
    for d in ns.run_dirs:
        try:
            rows = json.loads((d / "validation.json").read_text())["rows"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"score: {d / 'validation.json'}: cannot read ({e}); run leechsim validate --matrix validation/ "
                  f"--out {d}", file=sys.stderr)
            return 2
        if not any("crps_scaled" in r for r in rows):
            print(f"score: {d / 'validation.json'}: no crps_scaled (written by an older leechsim validate: run it "
                  "again)", file=sys.stderr)
            return 2
    if only and not any(scenario_scores(ns.run_dirs[0], q, only) for q in QUANTITIES):
        print(f"score: no scenario in {ns.run_dirs[0] / 'validation.json'} starts with {' or '.join(only)}",
              file=sys.stderr)
        return 2
    for q in QUANTITIES:
        scores = [scenario_scores(d, q, only) for d in ns.run_dirs]
        if not scores[0]:
            continue  # no scored comparison of this quantity (in these scenarios)
        print(q)
        for d, s in zip(ns.run_dirs, scores):
            v = list(s.values())
            print(f"  {d}: median scaled CRPS {np.median(v):.4f} (mean {np.mean(v):.4f}) over {len(s)} scenarios")
        base = scores[0]
        for d, s in zip(ns.run_dirs[1:], scores[1:]):
            common = [k for k in base if k in s]
            # a relative change from a score of 0 (lab and model both all zero) means nothing: shown as
            # "0 → new" and counted worse if the new score is not 0
            rel = {k: (s[k] - base[k]) / base[k] if base[k] > ZERO else (np.inf if s[k] > ZERO else 0.0)
                   for k in common}
            better = sum(r < -CHANGE for r in rel.values())
            worse = sum(r > CHANGE for r in rel.values())
            print(f"  {d} against {ns.run_dirs[0]}: better in {better}, worse in {worse} of {len(common)} "
                  f"(by more than {CHANGE:.0%}): " + ", ".join(
                      f"{k.split('-')[0]} " + (f"{r:+.0%}" if np.isfinite(r) else f"0 → {s[k]:.4f}")
                      for k, r in rel.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
