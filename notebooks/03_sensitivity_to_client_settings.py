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
# # Sensitivity to client settings: which knob changes how much a "leech-only" client uploads?
#
# **The question.** A party says it configured its client "so that the smallest amount of seeding
# possible could occur". Which libtorrent settings actually reduce the upload, by how much, and what
# do they cost in download time? And how much does the answer depend on what we do not know about
# the rest of the swarm?
#
# **The swarm.** The built-in default scenario (`sim/scenarios/default.toml`): a 64 MiB e-book
# torrent, one slow seed, a flash crowd of 20 home leechers, and a subject with a 2 MB/s uplink that
# stops at completion.
#
# **Method.** For each setting, the same swarm is simulated with the same seeds (common random
# numbers: replication *i* of every variant sees the same arrivals, capacities and seeding times),
# so differences between settings are the settings' effect, not sampling noise. Then a tornado
# chart shows how much the answer moves over plausible ranges of the *unknown* swarm parameters.

# %%
import json

from matplotlib.figure import Figure
import numpy as np
from IPython.display import Image, Markdown, display

from forensics.provenance import software_stack
from forensics import default_ranges, describe, fmt, run_tornado
from forensics.report import figures
from sim.montecarlo import SEED_RULE, run_replications
from sim.scenario import default_scenario_path, load_scenario, scenario_sha256

SCENARIO = default_scenario_path()
sc = load_scenario(SCENARIO)
SEED = sc.simulation.seed
N = 12  # replications per setting: kept small so the notebook runs in well under a minute
WORKERS = 2
MIB = 1024 * 1024


def simulate(**changes):
    """Median and 90% interval of the subject's total upload and download time for one setting."""
    res = run_replications(sc.with_changes(**changes) if changes else sc, N, SEED, WORKERS)
    up = describe([r.headline["subject_upload_total_bytes"] for r in res])
    t = describe([r.headline["subject_download_time_s"] for r in res])
    return up, t


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    display(Markdown("\n".join(lines)))


# %% [markdown]
# ## 1. The upload cap (`upload_rate_limit`)
#
# libtorrent's global upload limit; 0 means unlimited. A cap *U* bounds the upload while leeching
# by *U* × download time, which the table checks.

# %%
caps = [0, 20_000, 50_000, 100_000, 250_000, 500_000, 1_000_000]
cap_results = {c: simulate(**{"subject.libtorrent.upload_rate_limit": c}) for c in caps}
table(["cap", "upload, total (median)", "90% interval", "download time (median)", "cap × time"],
      [["unlimited" if c == 0 else fmt.rate(c), fmt.nbytes_exact(u.median), fmt.interval(u.p5, u.p95, "bytes"),
        fmt.seconds(t.median), "—" if c == 0 else fmt.nbytes(c * t.median)] for c, (u, t) in cap_results.items()])

# %%
fig = Figure(figsize=(8, 3.6))
ax1 = fig.subplots()
x = np.arange(len(caps))
ax1.errorbar(x, [u.median / MIB for u, _ in cap_results.values()],
             yerr=[[(u.median - u.p5) / MIB for u, _ in cap_results.values()], [(u.p95 - u.median) / MIB for u, _ in cap_results.values()]],
             marker="o", capsize=3, label="upload, total (MiB)")
ax1.set_xticks(x, ["unlimited" if c == 0 else fmt.rate(c).split(" (")[0] for c in caps], rotation=20)
ax1.set_ylabel("MiB uploaded")
ax2 = ax1.twinx()
ax2.plot(x, [t.median for _, t in cap_results.values()], color="tab:orange", marker="s", label="download time (s)")
ax2.set_ylabel("download time (s)")
ax1.set_title("Upload cap: upload (median, 90% interval) and download time")
fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=2, fontsize=8)
display(Image(figures.png_bytes(fig)))

# %% [markdown]
# ## 2. Unchoke slots, incoming connections, and what happens at completion

# %%
settings = [
    ("as in the scenario", {}),
    ("1 unchoke slot", {"subject.libtorrent.unchoke_slots_limit": 1}),
    ("2 unchoke slots", {"subject.libtorrent.unchoke_slots_limit": 2}),
    ("16 unchoke slots", {"subject.libtorrent.unchoke_slots_limit": 16}),
    ("no incoming connections", {"subject.connectable": False}),
    ("seeds 5 minutes after completion", {"subject.on_complete": "seed_for", "subject.seed_for_s": 300}),
    ("never stops", {"subject.on_complete": "never_stop"}),
    ("free rider", {"subject.profile": "free_rider"}),
]
setting_results = [(label, *simulate(**changes)) for label, changes in settings]
base = setting_results[0][1].median
table(["subject setting", "upload, total (median)", "90% interval", "vs as in the scenario", "download time (median)"],
      [[label, fmt.nbytes_exact(u.median), fmt.interval(u.p5, u.p95, "bytes"),
        fmt.percent((u.median - base) / base), fmt.seconds(t.median)] for label, u, t in setting_results])
display(Image(figures.counterfactuals([label for label, _, _ in setting_results], [u for _, u, _ in setting_results],
                                      [t for _, _, t in setting_results])))

# %% [markdown]
# ## 3. How much does the answer depend on the unknown swarm?
#
# The tornado chart sets one parameter at a time to the low and high end of its default range
# (halving and doubling the unknown swarm quantities; the subject's cap from 50 kB/s to unlimited;
# its unchoke slots from a quarter to double), everything else as in the scenario.

# %%
ranges = default_ranges(sc)
bars = run_tornado(sc, ranges, N, SEED, WORKERS)
baseline = describe([r.headline["subject_upload_total_bytes"] for r in run_replications(sc, N, SEED, WORKERS)]).median
display(Image(figures.tornado([b.range.label for b in bars], np.array([b.low_median for b in bars]),
                              np.array([b.high_median for b in bars]), [b.range.low_text for b in bars],
                              [b.range.high_text for b in bars], baseline, "subject upload, total")))
table(["parameter", "range", "median at low end", "median at high end"],
      [[b.range.label, f"{b.range.low_text} – {b.range.high_text}", fmt.nbytes(b.low_median), fmt.nbytes(b.high_median)]
       for b in bars])

# %% [markdown]
# **Reading it.** The client-side settings that can matter are those that limit what the client
# *can* send (the cap, free riding) and how long it stays (stopping at completion only removes the
# after-completion upload). The cell below states which of them mattered most here, and which
# unknown swarm parameter moves the answer most, from the numbers above. These are model estimates;
# the model's error against real clients is not yet measured (`docs/reports.md`).

# %%
strongest = min(setting_results[1:], key=lambda r: r[1].median)
print(f"lowest upload among the settings tried: {strongest[0]} ({fmt.nbytes(strongest[1].median)}, "
      f"download time {fmt.seconds(strongest[2].median)} vs {fmt.seconds(setting_results[0][2].median)} as in the scenario)")
stop_seed = describe([r.headline["subject_upload_seed_bytes"] for r in run_replications(sc, N, SEED, WORKERS)])
print(f"upload after completion as in the scenario (on_complete = {sc.subject.on_complete}): median {fmt.nbytes(stop_seed.median)}")
print(f"unknown parameter with the largest swing: {bars[0].range.label} "
      f"({fmt.nbytes(bars[0].low_median)} at {bars[0].range.low_text}, {fmt.nbytes(bars[0].high_median)} at {bars[0].range.high_text})")

# %% [markdown]
# ## Provenance

# %%
print(json.dumps({"scenario_file": str(SCENARIO.relative_to(SCENARIO.parents[2])), "scenario_sha256": scenario_sha256(SCENARIO),
                  "master_seed": SEED, "replications_per_setting": N, "seed_rule": SEED_RULE,
                  "software": software_stack()}, indent=1))
