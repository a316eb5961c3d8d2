# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The simulator against real libtorrent clients
#
# **The question.** A model's numbers are only as good as its known error rate. How far are the
# simulator's answers — upload while leeching, upload after completion, download time, and to whom
# the subject's upload went — from what real libtorrent clients do in the same swarm?
#
# **The evidence.** The calibration matrix in `validation/` (ten small swarms chosen to stress one
# mechanism each: a slow seed, a hard upload cap, a very fast subject, a late join, one unchoke
# slot, seeding after completion, churn, lingering seeds, several seeds, a multi-file torrent).
# Each was run as a real swarm — one libtorrent session per peer and a real opentracker, on the
# loopback interface (`docs/lab.md`) — and the runs are recorded in `validation/recorded/`. This
# notebook re-runs the simulator on the very same scenario files and seeds and compares the two.
#
# **Method.** For every scenario and quantity: the lab's median and range over its runs, the
# simulator's median and 90% interval over its replications, the relative error of the medians,
# and whether each lab run falls inside the simulator's interval (`forensics/analysis/sim_vs_lab.py`).

# %%
import json
import os
from pathlib import Path

import numpy as np
from IPython.display import Image, Markdown, display

from forensics import compare_sim_with_lab, error_rate, load_run, simulate_run

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").is_file())
BUILD = Path(os.environ.get("LEECHSIM_NOTEBOOK_BUILD", ROOT / "notebooks" / "_build")) / "02-sim-vs-lab"
RECORDED = ROOT / "validation" / "recorded"
REPLICATIONS = 60  # per scenario; `leechsim validate --matrix validation/` uses 1,000


recorded = sorted(p for p in RECORDED.iterdir() if (p / "results.csv").is_file())
assert recorded, f"no recorded lab runs in {RECORDED}: record them with 'leechsim validate --matrix validation/ --record'"
print(f"{len(recorded)} recorded scenarios:", ", ".join(p.name for p in recorded))

# %% [markdown]
# ## The simulator on the same scenarios and seeds

# %%
results = []
for lab_dir in recorded:
    sim_dir = BUILD / "sim" / lab_dir.name
    if not (sim_dir / "results.csv").is_file():
        simulate_run(ROOT / "validation" / f"{lab_dir.name}.toml", sim_dir, runs=REPLICATIONS, workers=2, force=True)
    results.append(compare_sim_with_lab(lab_dir.name, lab_dir, sim_dir))


def mib(x):
    return f"{x / 2**20:,.1f} MiB"


def show(q):
    return (lambda v: mib(v)) if q.endswith("_bytes") else (lambda v: f"{v:,.0f} s")


rows = ["| scenario | quantity | lab median [min–max] | simulator median [p5–p95] | error | lab runs inside |",
        "|---|---|---|---|---:|---:|"]
for r in results:
    for c in r["comparisons"]:
        f = show(c.quantity)
        err = f"{c.rel_error:+.0%}" if c.rel_error is not None else f"{f(c.abs_error)} (abs.)"
        rows.append(f"| {r['scenario']} | {c.quantity.replace('subject_', '')} | {f(c.lab_median)} [{f(c.lab_min)}–{f(c.lab_max)}] "
                    f"| {f(c.sim_median)} [{f(c.sim_p5)}–{f(c.sim_p95)}] | {err} | {c.lab_inside}/{c.lab_runs} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## The error rate
#
# Over all recorded scenarios, per quantity: how many comparisons met their target (±10% for the
# upload while leeching, with every lab run inside the simulator's interval; ±15% for the others),
# and the median and largest absolute relative error of the medians.

# %%
rate = error_rate(results)
display(Markdown("\n".join(["| quantity | scenarios | within target | median abs. error | max abs. error | lab runs inside |",
                            "|---|---:|---:|---:|---:|---:|"] + [
    f"| {q} | {e['scenarios']} | {e['met']} | "
    f"{'—' if e['median_abs_rel_error'] is None else format(e['median_abs_rel_error'], '.0%')} | "
    f"{'—' if e['max_abs_rel_error'] is None else format(e['max_abs_rel_error'], '.0%')} | {e['lab_runs_inside_interval']} |"
    for q, e in rate.items()])))

# %% [markdown]
# ## Where the subject's upload went
#
# The share of the subject's upload that its largest, second and third recipient received — in
# the lab (mean over runs) and in the simulator (median over replications). Tit-for-tat
# concentrates uploads on reciprocating peers; a model that spread them evenly would show flat bars.

# %%
import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

fig = Figure(figsize=(8, 0.35 * len(results) + 1.5), dpi=110)
ax = fig.subplots()
y = np.arange(len(results))
for k, colour in zip(range(3), ("tab:blue", "tab:orange", "tab:green")):
    lab = [r["recipient_shares"]["lab_mean"][k] for r in results]
    sim = [r["recipient_shares"]["sim_median"][k] for r in results]
    ax.scatter(lab, y + 0.1 * k, marker="D", color=colour, label=f"lab, recipient {k + 1}")
    ax.scatter(sim, y + 0.1 * k, marker="|", s=200, color=colour, label=f"simulator, recipient {k + 1}")
ax.set_yticks(y + 0.1)
ax.set_yticklabels([r["scenario"] for r in results], fontsize=8)
ax.set_xlabel("share of the subject's upload")
ax.legend(fontsize=7, ncol=3, loc="lower right")
ax.grid(True, axis="x", alpha=0.3)
fig.tight_layout()
BUILD.mkdir(parents=True, exist_ok=True)
fig.savefig(BUILD / "recipients.png")
display(Image(filename=str(BUILD / "recipients.png")))

# %% [markdown]
# Reading this notebook: where the error column is large, the model and libtorrent differ in a
# mechanism that matters for that swarm; `docs/validation.md` records the analysis. The recorded
# lab runs are real swarms, so they are not bit-reproducible: re-recording gives new runs of the
# same scenarios (`leechsim validate --matrix validation/ --record`).

# %% [markdown]
# ## Provenance

# %%
first = load_run(recorded[0]).manifest
sim_man = load_run(BUILD / "sim" / recorded[0].name).manifest
print("lab recordings:", {p.name: load_run(p).manifest.get("started_utc") for p in recorded})
print("lab software:", json.dumps({k: first["software"].get(k) for k in ("libtorrent", "python", "platform")}))
print(json.dumps({k: sim_man[k] for k in ("command", "scenario_sha256", "master_seed", "seed_rule", "replications")}, indent=1))
print(json.dumps(sim_man["software"], indent=1))
