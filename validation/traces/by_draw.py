"""One quantity of the lab against the model, per drawn configuration of the swarm's capacities.

A scenario whose capacities are drawn from classes (e.g. `upload = { classes = [...] }` for the
seeds) gives each replication its own configuration, and the lab's run i has the configuration of
the model's replication i (the same seed rule draws both). With a few lab runs the lab median then
rests on a few configurations, which the model's median over all its replications does not weigh
alike. This prints, per configuration (each role's upload capacities, sorted), the lab runs' values
and the model's median and quartiles over its replications with that configuration, and the
model's median taken over the lab runs' own configurations (each lab run's configuration's model
median; their median) beside the plain lab and model medians.

    leechsim simulate validation/v09-several-seeds.toml --runs 400 --out SIM_DIR
    python validation/traces/by_draw.py validation/recorded/v09-several-seeds SIM_DIR
        [--of subject_upload_leech_bytes] [--role seed]

Both directories hold results.csv and replications/NNNN/peers.csv (a lab recording; `leechsim
simulate --out`). ``--role``: only this role's capacities make the configuration (default: every
role but the subject's). Byte quantities are printed in MiB, the others in their own unit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def configurations(run_dir: Path, role: str | None) -> dict[int, str]:
    """Replication number → its configuration, from replications/NNNN/peers.csv."""
    out = {}
    for peers in sorted(Path(run_dir).glob("replications/*/peers.csv")):
        p = pd.read_csv(peers)
        if role is not None and role not in set(p.role):
            raise SystemExit(f"by_draw: {peers}: --role {role!r}: no such peer; allowed: "
                             f"{', '.join(sorted(set(p.role) - {'subject'}))}")
        p = p[p.role != "subject"] if role is None else p[p.role == role]
        parts = []
        for r, g in p.groupby("role", sort=True):
            parts.append(f"{r} " + "/".join(f"{v / 1e3:g}k" for v in sorted(g.upload_bps)))
        out[int(peers.parent.name)] = "; ".join(parts)
    if not out:
        raise SystemExit(f"by_draw: {run_dir}: no replications/*/peers.csv")
    return out


def table(lab_dir: Path, sim_dir: Path, of: str, role: str | None) -> tuple[pd.DataFrame, dict]:
    frames = []
    for kind, d in (("lab", lab_dir), ("model", sim_dir)):
        try:
            res = pd.read_csv(Path(d) / "results.csv")
        except OSError as e:
            raise SystemExit(f"by_draw: {d}/results.csv: cannot read ({e})") from None
        if of not in res.columns:
            raise SystemExit(f"by_draw: {d}/results.csv: no column {of!r}; allowed: {', '.join(res.columns[1:])}")
        conf = configurations(Path(d), role)
        res = res[res.replication.isin(conf)]
        frames.append(pd.DataFrame({"kind": kind, "config": res.replication.map(conf), "value": res[of].astype(float)}))
    both = pd.concat(frames, ignore_index=True)
    if of.endswith("_bytes"):
        both["value"] /= 2**20
    lab, sim = both[both.kind == "lab"], both[both.kind == "model"]
    model_by = sim.groupby("config").value.median()
    per_lab_run = lab.config.map(model_by)  # NaN where the model has no replication of that configuration
    summary = {"lab_median": lab.value.median(), "model_median": sim.value.median(),
               "model_median_over_lab_configurations": per_lab_run.median(),
               "lab_runs_without_model_configuration": int(per_lab_run.isna().sum())}
    rows = []
    for c in sorted(set(both.config)):
        lv, sv = lab[lab.config == c].value, sim[sim.config == c].value
        rows.append({"configuration": c, "lab runs": len(lv), "lab values": ", ".join(f"{v:.2f}" for v in lv),
                     "model replications": len(sv),
                     "model median [quartiles]": (f"{sv.median():.2f} [{sv.quantile(.25):.2f}–{sv.quantile(.75):.2f}]"
                                                  if len(sv) else "–")})
    return pd.DataFrame(rows), summary


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lab_dir", type=Path)
    ap.add_argument("sim_dir", type=Path)
    ap.add_argument("--of", default="subject_upload_leech_bytes")
    ap.add_argument("--role", default=None, help="only this role's capacities (seed, leecher)")
    a = ap.parse_args(argv)
    t, s = table(a.lab_dir, a.sim_dir, a.of, a.role)
    print("| " + " | ".join(t.columns) + " |")
    print("|" + "---|" * len(t.columns))
    for row in t.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")
    print(f"\n{a.of}: lab median {s['lab_median']:.2f}, model median {s['model_median']:.2f}, model median over "
          f"the lab runs' configurations {s['model_median_over_lab_configurations']:.2f}"
          + (f" ({s['lab_runs_without_model_configuration']} lab run(s) with a configuration the model never drew)"
             if s["lab_runs_without_model_configuration"] else ""))


if __name__ == "__main__":
    sys.exit(main())
