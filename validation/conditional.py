"""One quantity of the lab against the model, given another: how much of a miss comes from the model
getting the other one (e.g. the subject's download time) a little wrong.

    python validation/conditional.py validation/recorded/v06-seed-after runs/validation/sim/v06-seed-after \
        --of subject_upload_seed_bytes --given subject_download_time_s --within 0.5

Both directories hold a results.csv (a lab recording, a simulation run's output). For each lab run,
the model's replications whose ``--given`` lies within ``--within`` of that run's are taken, and
their median of ``--of`` is that run's conditional model value. Printed: the lab's median of
``--of``, the model's, the median of the conditional values (and how many lab runs had
replications that close), and both medians' errors against the lab's; then the ``--given``
quantity's median and 90th percentile in both, and the correlation of the two quantities in both.
Where the conditional error is much smaller than the plain one, the miss is mostly the ``--given``
quantity's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def conditional(lab: pd.DataFrame, sim: pd.DataFrame, of: str, given: str, within: float) -> dict:
    """The lab's and the model's medians of ``of``, and the median over lab runs of the model's
    median of ``of`` among replications whose ``given`` is within ``within`` of that run's."""
    per_run = []
    for g in lab[given].to_numpy(dtype=float):
        close = sim[(sim[given].astype(float) - g).abs() <= within][of].astype(float)
        if len(close):
            per_run.append(float(close.median()))
    lab_med = float(lab[of].astype(float).median())
    sim_med = float(sim[of].astype(float).median())
    cond = float(np.median(per_run)) if per_run else float("nan")
    err = (lambda x: (x - lab_med) / lab_med if lab_med else float("nan"))
    out = {"lab_median": lab_med, "model_median": sim_med, "model_error": err(sim_med),
           "conditional_median": cond, "conditional_error": err(cond),
           "lab_runs_matched": len(per_run), "lab_runs": len(lab)}
    for name, df in (("lab", lab), ("model", sim)):
        both = df[[given, of]].astype(float).dropna()
        out[f"{name}_given_median"] = float(both[given].median())
        out[f"{name}_given_p90"] = float(both[given].quantile(0.9))
        out[f"{name}_correlation"] = float(np.corrcoef(both[given], both[of])[0, 1]) if len(both) > 1 else float("nan")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lab_dir", type=Path, help="a lab recording (results.csv)")
    ap.add_argument("sim_dir", type=Path, help="the model's run of the same scenario (results.csv)")
    ap.add_argument("--of", required=True, help="the quantity compared (a results.csv column)")
    ap.add_argument("--given", required=True, help="the quantity held to the lab run's value")
    ap.add_argument("--within", type=float, required=True, help="how close, in the given quantity's unit")
    ns = ap.parse_args(argv)
    frames = []
    for d in (ns.lab_dir, ns.sim_dir):
        path = d / "results.csv"
        try:
            df = pd.read_csv(path)
        except (OSError, ValueError) as e:
            print(f"conditional: {path}: cannot read ({e})", file=sys.stderr)
            return 2
        missing = [c for c in (ns.of, ns.given) if c not in df.columns]
        if missing:
            print(f"conditional: {path}: no column {', '.join(missing)} (columns: {', '.join(df.columns)})",
                  file=sys.stderr)
            return 2
        frames.append(df)
    if not ns.within > 0:
        print(f"conditional: --within {ns.within}: must be above 0", file=sys.stderr)
        return 2
    r = conditional(frames[0], frames[1], ns.of, ns.given, ns.within)
    print(f"{ns.of}: lab median {r['lab_median']:,.1f}; model {r['model_median']:,.1f} ({r['model_error']:+.1%}); "
          f"model at each lab run's {ns.given} (within {ns.within:g}) {r['conditional_median']:,.1f} "
          f"({r['conditional_error']:+.1%}; {r['lab_runs_matched']} of {r['lab_runs']} lab runs matched)")
    print(f"{ns.given}: lab median {r['lab_given_median']:,.1f} (90th percentile {r['lab_given_p90']:,.1f}); "
          f"model {r['model_given_median']:,.1f} ({r['model_given_p90']:,.1f}); correlation with {ns.of}: "
          f"lab {r['lab_correlation']:+.2f}, model {r['model_correlation']:+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
