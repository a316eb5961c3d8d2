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
# # From the evidence to the answer: a case built from a .torrent, a monitoring log and a fastresume
#
# **The question.** A client's own counter (its `.fastresume` file) says it uploaded *X* bytes.
# The party says it stopped the moment its download completed. Is *X* consistent with that, or
# only with seeding on?
#
# **The evidence.** Made for real, here, in the lab: a small real swarm (one libtorrent session
# per peer and opentracker, on loopback; `docs/lab.md`) whose subject in truth **seeds for 20 s**
# after completing, while leechers keep arriving over 30 s and leave as soon as they complete. The run leaves the swarm's `.torrent`, and with `--save-resume` every peer's
# resume data as libtorrent itself writes it. A monitoring firm would have logged the other peers;
# here the log is written from the lab's own record of when each peer joined and left.
#
# **Method.** `leechsim case new` turns the three files into a case file whose every value is
# marked as evidence (file name and SHA-256) or assumed; `simulate` runs it; `report` sets the
# counter against each completion policy simulated on the same seeds (`docs/evidence.md`).

# %%
import csv
import datetime as dt
import json
import os
from pathlib import Path

from IPython.display import Image, Markdown, display

from forensics import LabOptions, ReportOptions, build_case, build_report, load_run, run_lab, simulate_run, write_case

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").is_file())
BUILD = Path(os.environ.get("LEECHSIM_NOTEBOOK_BUILD", ROOT / "notebooks" / "_build")) / "04-case-from-lab-evidence"
BUILD.mkdir(parents=True, exist_ok=True)
WORKERS = 1

# %% [markdown]
# ## 1. The lab run that produces the evidence
#
# The three evidence files of the recorded run are in `notebooks/data/04-lab-evidence/` (a notebook
# test must not depend on a live swarm). `LEECHSIM_NOTEBOOK_LIVE_LAB=1` runs the lab here instead,
# and with `LEECHSIM_NOTEBOOK_RECORD=1` as well replaces the recorded files with the new ones.

# %%
import shutil

import tomli_w

RECORDED = ROOT / "notebooks" / "data" / "04-lab-evidence"
LIVE = os.environ.get("LEECHSIM_NOTEBOOK_LIVE_LAB") == "1"
truth = {
    "scenario": {"name": "lab-evidence", "description": "the truth the case must recover: the subject seeds for 20 s"},
    "torrent": {"piece_size": "256KiB", "total_size": "3MiB"},
    "swarm": {"seeds": {"count": 1, "upload": "400kB/s"},
              "leechers": {"count": 5, "spread_s": 30, "upload": "150kB/s", "download": "2MB/s", "seed_time": "leave"},
              "announce_interval_s": 3},
    "subject": {"upload": "400kB/s", "download": "2MB/s", "on_complete": "seed_for", "seed_for_s": 20},
    "simulation": {"horizon_s": 60, "replications": 1, "seed": 21},
}


def monitoring_log(raw: Path, out: Path) -> None:
    """One row per peer other than the subject: address, first and last sighting (UTC, ISO 8601),
    role and upload rate (the rate each peer was limited to) — what a monitor that saw the whole
    swarm would have written, from the lab's own record of each peer."""
    record = json.loads((raw / "lab.json").read_text())
    t0 = record["t0_unix"]
    iso = lambda s: dt.datetime.fromtimestamp(t0 + s, dt.timezone.utc).isoformat(timespec="milliseconds")  # noqa: E731
    rows = []
    for p in record["peers"][1:]:
        measured = json.loads((raw / f"peer-{p['index']:04d}.json").read_text())
        left = measured["leave_s"] if measured["leave_s"] is not None else record["end_s"]
        rows.append([f"{p['ip']}:{p['listen_port']}", iso(measured["join_s"]), iso(left),
                     "seed" if p["role"] == 1 else "leecher", p["upload_bps"]])
    with open(out, "w", newline="") as f:
        csv.writer(f).writerows([["peer", "first_seen", "last_seen", "role", "rate_bps"], *rows])


if LIVE:
    (BUILD / "truth.toml").write_text(tomli_w.dumps(truth))
    lab = run_lab(BUILD / "truth.toml", BUILD / "lab", runs=1, options=LabOptions(save_resume=True), force=True)
    raw = lab.root / "replications" / "0000" / "raw"
    EVIDENCE = BUILD / "evidence"
    EVIDENCE.mkdir(exist_ok=True)
    shutil.copy(raw / "payload.torrent", EVIDENCE / "payload.torrent")
    shutil.copy(raw / "peer-0000.fastresume", EVIDENCE / "subject.fastresume")
    monitoring_log(raw, EVIDENCE / "monitor-log.csv")
    if os.environ.get("LEECHSIM_NOTEBOOK_RECORD") == "1":
        shutil.copytree(EVIDENCE, RECORDED, dirs_exist_ok=True)
else:
    EVIDENCE = RECORDED
print(EVIDENCE, sorted(p.name for p in EVIDENCE.iterdir()))
print((EVIDENCE / "monitor-log.csv").read_text())

# %% [markdown]
# ## 2. The case, from the files alone

# %%
case = build_case(EVIDENCE / "payload.torrent", EVIDENCE / "monitor-log.csv", client_state=EVIDENCE / "subject.fastresume")
written = write_case(case, BUILD / "case.toml", force=True)
text = written.read_text()
print(text[: text.index("[sources]")])

# %% [markdown]
# Every value and where it comes from (`[sources]`): the torrent and the peers rest on evidence, the
# subject's policy is the party's claim (stop at completion), its line speed is assumed.

# %%
for key, src in sorted(case.sources.items()):
    print(f"{key:45s} {src[:130]}")

# %% [markdown]
# ## 3. Simulate the case and set the counter against each policy

# %%
run = simulate_run(written, BUILD / "run", runs=30, workers=WORKERS, force=True)
build_report(run.root, ReportOptions(variant_runs=30, workers=WORKERS, sensitivity=False))
md = (run.root / "report.md").read_text()
section = md[md.index("### Observed against simulated"): md.index("## 2. Scenario")]
display(Markdown(section.replace("figures/", f"{run.root}/figures/")))
display(Image(filename=str(run.root / "figures" / "observed.png")))

# %%
with open(run.root / "report-data" / "observed.csv", newline="") as f:
    obs = [r for r in csv.DictReader(f) if r["quantity"] == "subject_upload_total_bytes"]
for r in obs:
    print(f"{r['label']:45s} percentile {float(r['percentile']):5.1f}  inside {r['inside']:5s}  "
          f"likelihood ratio vs as run {float(r['likelihood_ratio_vs_as_run']):.3g}")

# %% [markdown]
# Reading it: the counter is compared with the claimed policy (as run: stop at completion) and with
# seeding policies on the very same simulated swarm ("seeds for T" takes T from the client's own
# seeding clock in the fastresume); the likelihood ratio says how much more probable the counter's
# value is under each policy than under the claim. The lab's truth is "seeds for 20 s". Whether
# the evidence can tell the policies apart depends on two things the table shows: how far apart
# the policies' simulated uploads are (here late leechers arrive after the subject completes, so
# seeding uploads more), and how wide the model's validated error makes each interval — for the
# upload after completion it is the model's least accurate quantity (`docs/validation.md`). A
# likelihood ratio near 1 means that, at the model's present accuracy, the counter does not
# discriminate: an honest answer, and the one to give.

# %%
best = max(obs, key=lambda r: float(r["log_density"]))
print(f"truth: seeds for 20 s; counter {float(obs[0]['observed']):,.0f} B; most probable policy in the model: "
      f"{best['label']} (likelihood ratio vs the claim {float(best['likelihood_ratio_vs_as_run']):.3g})")

# %% [markdown]
# ## Provenance

# %%
man = load_run(run.root).manifest
print(json.dumps({k: man[k] for k in ("command", "scenario_file", "scenario_sha256", "master_seed", "seed_rule",
                                      "replications", "workers", "started_utc")}, indent=1))
print(json.dumps(man["software"], indent=1))
print("evidence files:", json.dumps(case.files, indent=1))
print(f"check it:  leechsim verify {run.root}")
