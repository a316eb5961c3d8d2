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
# # How much does a stop-at-completion client upload in a small book-torrent swarm?
#
# **The question.** A client downloaded a torrent of e-books and says it "only leeched": it stopped
# the torrent the moment the download completed. BitTorrent clients upload *while* they download —
# every piece they hold can be requested by the other peers — so "stopped at completion" does not
# mean "uploaded nothing". How much did such a client upload, to how many peers, which books, and
# how much of that would other settings have prevented?
#
# **The swarm.** `examples/book-corpus.toml`: 400 e-books in one torrent with 2 MiB pieces that
# straddle file boundaries, three slow home seeds, home leechers arriving at random (Poisson), and a
# datacenter-fast subject (100 Mbit/s) that joins after 30 minutes and stops at completion. This is
# the situation described in the forensic questions: the fast client becomes the best source of
# every piece it already holds.
#
# **Method.** Monte Carlo simulation with leechsim's swarm model (see `docs/model.md`): each
# replication draws the unknowns (arrival times, capacities, seeding times) with its own seed.
# Every number below is computed in this notebook from the run directory it writes; the last
# cell records the provenance.

# %%
import json
import os
from pathlib import Path

import numpy as np
from IPython.display import Image, Markdown, display

from forensics import (default_variants, describe, file_exposure, fmt, load_run, monitor_exposure, outcome_from_results,
                       recipients, run_counterfactuals, simulate_run)
from forensics.report import figures

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").is_file())
# Where the run directory goes: notebooks/_build/ (gitignored), or elsewhere when a test says so.
BUILD = Path(os.environ.get("LEECHSIM_NOTEBOOK_BUILD", ROOT / "notebooks" / "_build")) / "01-book-swarm"
SCENARIO = ROOT / "examples" / "book-corpus.toml"
REPLICATIONS = 16  # enough for a readable median here; a report for court uses the scenario's own count (50)
WORKERS = 2


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    display(Markdown("\n".join(lines)))


# %% [markdown]
# ## 1. Simulate the swarm
#
# `simulate_run` (what `leechsim simulate` does) writes a run directory: the scenario as given and resolved, every
# replication's transfer log (time, receiving peer, piece, blocks, bytes), per-peer and per-file
# tables, a provenance manifest and a SHA-256 list of every file.

# %%
RUN = BUILD / "run"
simulate_run(SCENARIO, RUN, runs=REPLICATIONS, workers=WORKERS, force=True)
run = load_run(RUN)
print(f"run directory: {RUN}  ({run.replications} replications, master seed {run.manifest['master_seed']})")
print(f"torrent: {len(run.scenario.torrent.files)} files, {fmt.nbytes_exact(run.layout.total_bytes)}, "
      f"{run.layout.num_pieces} pieces of {fmt.nbytes(run.layout.piece_bytes)}")

# %% [markdown]
# ## 2. The answer: bytes uploaded while leeching and after completion
#
# Medians over replications, with the 90% interval (5th–95th percentile): the spread over what we
# do not know about the swarm, not a confidence interval for the median.

# %%
R = run.results
rows = []
for label, q, kind in [("upload while leeching", "subject_upload_leech_bytes", "bytes_exact"),
                       ("upload after completion", "subject_upload_seed_bytes", "bytes_exact"),
                       ("upload as a share of the torrent", None, "percent"),
                       ("share ratio at completion", "subject_ratio_at_completion", "ratio"),
                       ("download time", "subject_download_time_s", "seconds"),
                       ("peers that got >= 1 whole piece", "peers_received_piece", "count"),
                       ("files some peer got entirely from the subject", "files_with_complete_copy", "count")]:
    values = R["subject_upload_total_bytes"] / run.layout.total_bytes if q is None else R[q]
    st = describe(values)
    rows.append([label, fmt.value(st.median, kind), fmt.interval(st.p5, st.p95, kind)])
table(["quantity", "median", "90% interval"], rows)

# %%
display(Image(figures.upload_distribution(R["subject_upload_leech_bytes"], R["subject_upload_seed_bytes"])))
rec = recipients(run)
display(Image(figures.cumulative([run.table(i, "timeseries") for i in range(run.replications)],
                                 rec.representative, run.layout.total_bytes)))

# %% [markdown]
# Stopping at completion can only remove the upload *after* completion (checked in the next cell).
# It does not touch the upload *during* the download: while the subject downloads, it holds pieces
# that the slow home leechers are still missing, and its uplink is far faster than the seeds'.

# %%
print(f"upload after completion: at most {fmt.nbytes(R['subject_upload_seed_bytes'].max())} in any replication; "
      f"upload while leeching: at least {fmt.nbytes(R['subject_upload_leech_bytes'].min())} in every replication")

# %% [markdown]
# ## 3. To whom, and which books
#
# Uploads per receiving peer (one replication as bars, the spread over all as the band), then the
# books the subject uploaded most of. A *complete copy* means one peer received every piece
# overlapping that book from the subject alone — a hash-verifiable copy of the whole work.

# %%
display(Image(figures.recipients(rec.by_rank, np.array([r["from_subject_bytes"] for r in rec.table]), rec.representative)))
files = sorted(file_exposure(run), key=lambda f: -f["bytes_uploaded"].median)
table(["book", "size", "bytes uploaded (median)", "complete copy (share of replications)"],
      [[f["path"], fmt.nbytes_exact(f["size_bytes"]), fmt.nbytes_exact(f["bytes_uploaded"].median),
        fmt.percent(f["complete_copy_share"])] for f in files[:10]])
copied = describe(R["files_with_complete_copy"])
print(f"books that went out as a complete copy to some peer: median {fmt.count(copied.median)} of {len(files)} "
      f"(90% interval {fmt.interval(copied.p5, copied.p95, 'count')})")

# %% [markdown]
# ## 4. Exposure to a monitoring peer
#
# A rights holder's monitor joins the swarm and downloads. Modelling it as an ordinary leecher that
# was downloading while the subject was present, the share of such leechers that received at least
# one verified piece (or a whole book) from the subject estimates the monitor's chance.

# %%
mon = monitor_exposure(run)
table(["received from the subject", "probability (pooled)", "90% interval over replications"],
      [[label, fmt.probability(mon.pooled(w)), fmt.interval(mon.per_replication(w).p5, mon.per_replication(w).p95, "probability")]
       for w, label in [("got_block", ">= 1 block"), ("got_piece", ">= 1 whole piece"), ("got_file", ">= 1 complete book")]])

# %% [markdown]
# ## 5. Counterfactuals: what did the settings change?
#
# The same swarm — the same seeds, so replication *i* of every variant sees the same arrivals and
# capacities — with one setting of the subject changed. The download time is what the setting costs
# the subject: tit-for-tat unchokes peers that upload.

# %%
sc, seed, n = run.scenario, int(run.manifest["master_seed"]), run.replications
outcomes = [outcome_from_results("as_run", "as run (stop at completion)", R, n, seed)]
outcomes += run_counterfactuals(sc, default_variants(sc), n, seed, WORKERS)
base = outcomes[0].stats["subject_upload_total_bytes"].median
table(["subject", "upload while leeching", "after completion", "total (median)", "change", "download time"],
      [[o.label, fmt.nbytes_exact(o.stats["subject_upload_leech_bytes"].median),
        fmt.nbytes(o.stats["subject_upload_seed_bytes"].median), fmt.nbytes(o.stats["subject_upload_total_bytes"].median),
        fmt.percent((o.stats["subject_upload_total_bytes"].median - base) / base) if base else "—",
        fmt.seconds(o.stats["subject_download_time_s"].median)] for o in outcomes])
display(Image(figures.counterfactuals([o.label for o in outcomes], [o.stats["subject_upload_total_bytes"] for o in outcomes],
                                      [o.stats["subject_download_time_s"] for o in outcomes])))

# %% [markdown]
# Reading the table: a free rider uploads nothing and pays in download time; an upload cap bounds
# the upload by cap × download time; never stopping adds an after-completion upload on top of the
# upload while leeching. These are model estimates: the model's error against real libtorrent
# clients has not yet been measured (see `docs/reports.md`).

# %% [markdown]
# ## Provenance
#
# Everything above was computed from the run directory below, which anyone can check and re-run
# to the last byte with `leechsim verify`.

# %%
man = run.manifest
print(json.dumps({k: man[k] for k in ("command", "scenario_file", "scenario_sha256", "master_seed", "seed_rule",
                                      "replications", "workers", "started_utc")}, indent=1))
print(json.dumps(man["software"], indent=1))
print("counterfactual seeds: master seed", seed, "replications 0 ..", n - 1)
print(f"check it:  leechsim verify {RUN}")
