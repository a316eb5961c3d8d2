"""Produce docs/benchmarks.md and docs/benchmarks-scaling.png: the one command for the benchmark report.

Run:  python -m benchmarks.report [--lab-run RUN_DIR | --with-lab] [--skip-10000]

Measures, on this machine: each kernel against its pure-Python twin (pytest-benchmark), whole
replications at 10, 100, 1,000 and 10,000 peers (wall time, ticks/s, simulated s per wall s, peak
memory, where the time goes), numba compile time cold and cached, the simulator against the real
lab on the lab-sized scenario, and parallel efficiency on 2 local workers; and, before the first
step, after each and just before each whole replication, the machine's own speed on fixed work
(benchmarks/yardstick.py), so that its times can be compared with another report's. Each step's result is written to .benchmarks/report-steps.json as
soon as it is measured, so a step that fails does not take the earlier ones with it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from forensics import atomic

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCALES = (10, 100, 1000, 10000)
TARGETS = {"lab_speedup": 5000.0, "kernel_speedup": 50.0, "peers_1000_s": 30.0, "peers_10000_s": 300.0,
           "peers_10000_mib": 4096.0, "parallel_eff": 0.80, "pcap_mb_s": 50.0}


def sh(args: list[str], env: dict | None = None, timeout: float = 3600) -> str:
    out = subprocess.run(args, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(args)}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out.stdout


def kernel_speedups() -> list[dict]:
    med = {}
    with tempfile.TemporaryDirectory() as d:
        for select, env in (("kernel", {}), ("twin", {"NUMBA_DISABLE_JIT": "1"})):
            path = Path(d) / f"{select}.json"
            sh([sys.executable, "-m", "pytest", "benchmarks/test_kernels.py", "--benchmark-only", "-q",
                "-p", "no:cacheprovider", "-k", select, f"--benchmark-json={path}"], env=env)
            med.update({b["name"]: b["stats"]["median"] for b in json.loads(path.read_text())["benchmarks"]})
    rows = []
    for group in ("picker", "bandwidth", "choke", "transfer"):
        k, t = med[f"test_{group}_kernel"], med[f"test_{group}_twin"]
        rows.append({"kernel": group, "kernel_ms": k * 1e3, "twin_ms": t * 1e3, "speedup": t / k})
    return rows


def scaling(scales: tuple[int, ...]) -> list[dict]:
    rows = []
    for n in scales:
        y = yardstick()  # the machine's speed just before this replication
        line = sh([sys.executable, "-m", "benchmarks.scaling", f"benchmarks/scenarios/peers-{n}.toml", "--breakdown"])
        rows.append({"scale": n, **json.loads(line.strip().splitlines()[-1]),
                     "yardstick_cache_ms": y["compiled_cache_ms"], "yardstick_memory_ms": y["compiled_memory_ms"]})
    return rows


def capture_reader() -> list[dict]:
    """``leechsim evidence pcap``'s reader on three synthetic ~90 MB captures (benchmarks/test_pcap_reader.py)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "pcap.json"
        sh([sys.executable, "-m", "pytest", "benchmarks/test_pcap_reader.py", "--benchmark-only", "-q",
            "-p", "no:cacheprovider", f"--benchmark-json={path}"])
        rows = []
        for b in json.loads(path.read_text())["benchmarks"]:
            x = b["extra_info"]
            rows.append({"capture": b["param"], "mb": x["capture_bytes"] / 1e6, "packets": x["packets"],
                         "mean_s": b["stats"]["mean"], "mb_s": x["MB_per_s"]})
    return rows


def compile_times() -> dict:
    code = ("import time; t=time.perf_counter(); import numpy as np; from sim.engine import SwarmRun; "
            "from sim.scenario import parse_scenario; "
            "sc=parse_scenario({'torrent':{'total_size':'1MiB','piece_size':'64KiB'},'simulation':{'horizon_s':60}}); "
            "SwarmRun(sc,0,np.random.SeedSequence(0)).run(); print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        cold = float(sh([sys.executable, "-c", code], env={"NUMBA_CACHE_DIR": cache}).strip())
        warm = float(sh([sys.executable, "-c", code], env={"NUMBA_CACHE_DIR": cache}).strip())
    return {"cold_s": cold, "cached_s": warm}


def lab_comparison(lab_run: Path | None, with_lab: bool) -> dict | None:
    code = ("import time, numpy as np; from sim.scenario import load_scenario; from sim.engine import SwarmRun; "
            "sc=load_scenario('examples/lab-small.toml'); SwarmRun(sc,0,np.random.SeedSequence(0)).run(); "
            "t=time.perf_counter(); ends=[SwarmRun(sc,i,np.random.SeedSequence(i)).run().headline['end_s'] for i in range(50)]; "
            "print((time.perf_counter()-t)/50, sum(ends)/50)")
    per_rep_s, sim_end_s = map(float, sh([sys.executable, "-c", code]).split())
    if lab_run is None and with_lab:
        lab_run = Path(tempfile.mkdtemp()) / "lab"
        sh([sys.executable, "-m", "leechsim", "lab", "examples/lab-small.toml", "--runs", "1", "--out", str(lab_run)])
    if lab_run is None:
        return {"sim_per_replication_s": per_rep_s, "sim_swarm_s": sim_end_s, "lab_swarm_s": None}
    import csv
    with open(lab_run / "results.csv") as f:
        ends = [float(r["end_s"]) for r in csv.DictReader(f)]
    lab_s = sum(ends) / len(ends)
    return {"sim_per_replication_s": per_rep_s, "sim_swarm_s": sim_end_s, "lab_swarm_s": lab_s,
            "speedup": lab_s / per_rep_s, "lab_run": str(lab_run)}


def parallel_efficiency(reps: int = 40) -> dict:
    code = ("import sys, time; from sim.scenario import load_scenario, default_scenario_path; "
            "from sim.montecarlo import run_replications; sc=load_scenario(default_scenario_path()); "
            "run_replications(sc, 2, 1, 1); w=int(sys.argv[1]); t=time.perf_counter(); "
            f"run_replications(sc, {reps}, 1, w); print(time.perf_counter()-t)")
    t1 = float(sh([sys.executable, "-c", code, "1"]).strip())
    t2 = float(sh([sys.executable, "-c", code, "2"]).strip())
    return {"replications": reps, "one_worker_s": t1, "two_workers_s": t2, "efficiency": t1 / (2 * t2)}


def corpus_throughput(torrents: int = 100, runs: int = 10) -> dict:
    """The case-study corpus on a slice, extrapolated to 5,000 x 100 (benchmarks/corpus_throughput.py).
    A slice of 1,000 replications (about 25 s): on 100 the per-replication figure moved by a fifth
    from run to run (20.3-26.5 ms on 2026-12-03), the last units running alone on one worker and
    the torrents' costs differing tenfold; a full run has neither effect."""
    line = sh([sys.executable, "-m", "benchmarks.corpus_throughput", "--torrents", str(torrents), "--runs", str(runs),
               "--workers", "2"])
    return json.loads(line.strip().splitlines()[-1])


def corpus_row(c: dict) -> str:
    """The corpus target's row in docs/benchmarks.md's targets table."""
    return (f"| case-study corpus, 5,000 torrents x 100 replications: under 1 h on 2 cores | "
            f"{c['projected_full_h']:,.1f} h projected ({c['over_target']:,.1f}x the target; the "
            f"one-off load {c['load_s']:.1f} s + {c['per_replication_s'] * 1000:.1f} ms per replication) | "
            f"{verdict(c['projected_full_s'] <= c['target_s'])} |")


def corpus_section(c: dict) -> list[str]:
    """docs/benchmarks.md lines for the corpus throughput (and its row in the targets table)."""
    return ["## Corpus throughput (the case study)", "",
            f"`{c['command']}`: the first {c['torrents']} torrents of `examples/case-study/corpus.toml` x {c['runs']} "
            f"replications on {c['workers']} local workers took {c['wall_s']:.1f} s: {c['replications_per_s']:.2f} "
            f"replications/s, {c['core_s_per_replication']:.2f} core-seconds per torrent-replication. Of that run, "
            f"{c['load_s']:.1f} s went to loading and checking the corpus file (all 5,000 torrents, before any work is "
            f"planned), which a corpus run does once, {c['per_replication_s'] * 1000:.1f} ms per replication (wall "
            f"time on the {c['workers']} workers) from the plan to the last unit (worker start-up included), and "
            f"{c['write_s']:.1f} s writing the run directory after it — once per run: the same write at the full size "
            f"(a 5,000 x 100 table tiled from the slice's rows) took {c['write_full_s']:.1f} s. So 5,000 torrents x 100 "
            f"replications take {c['load_s']:.1f} s + 500,000 x {c['per_replication_s'] * 1000:.1f} ms + "
            f"{c['write_full_s']:.1f} s = "
            f"{c['projected_full_h']:,.1f} h ({c['over_target']:,.1f}x the one-hour target). (Counting the slice's "
            f"write per replication, as this report did before: {c['projected_full_h_write_repeated']:,.1f} h; scaling "
            f"the whole wall time pays the one-off load once per {c['torrents']} torrents of the slice, "
            f"{5000 // c['torrents']:,} times: "
            f"{c['projected_full_h_load_repeated']:,.1f} h.) A replication simulates {c['mean_simulated_s']:,.0f} s on average "
            f"({c['ticks_per_replication']:,.0f} quota ticks), of which {c['share_simulated_before_join']:.0%} before "
            f"the subject joins (its swarm's leechers arriving) and the rest while it downloads "
            f"(mean {c['mean_download_s']:,.0f} s); it stops once the subject has left. The case study skips each "
            f"swarm's seeds-only start (`skip_idle_prefix = true`, sim/warm_start.py): the simulated times above are on "
            f"the swarms' own clocks, the skipped part included.", ""]


def tick_cycles(torrents: int = 20, runs: int = 5) -> dict:
    """Where the case study's ticks spend their cycles, step by step (benchmarks/tick_cycles.py)."""
    line = sh([sys.executable, "-m", "benchmarks.tick_cycles", "--corpus-torrents", str(torrents), "--runs", str(runs)])
    return json.loads(line.strip().splitlines()[-1])


PROFILE_SCENARIO = "benchmarks/scenarios/peers-1000.toml"


def kernel_profile(scenario: str = PROFILE_SCENARIO, top: int = 12) -> dict | None:
    """Linux perf's samples of one replication, named by compiled kernel (benchmarks/perf_symbols.py);
    None without perf (the section is then left out, and says so)."""
    if not shutil.which("perf"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "perf.data")
        sh(["perf", "record", "-q", "-F", "999", "-o", data, sys.executable, "-m", "benchmarks.perf_symbols", scenario])
        text = sh(["perf", "report", "-i", data, "--stdio", "--sort", "sym"])
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0].endswith("%") and not line.lstrip().startswith("#"):
            rows.append((float(fields[0][:-1]), fields[-1]))
    groups: dict[str, float] = {}
    for share, name in rows:
        named = "::" not in name and re.match(r"^\w+:\S", name)  # perf_symbols' CALLER:name (not C++'s a::b)
        key = ("compiled: " + name.split(":", 1)[0] if named
               else "compiled, not in the map"
               if name.startswith("0x") else "outside the compiled kernels (Python, numpy, libc, kernel)")
        groups[key] = groups.get(key, 0.0) + share
    total = sum(groups.values()) or 1.0
    return {"command": f"perf record -F 999 python -m benchmarks.perf_symbols {scenario}; perf report --sort sym",
            "top": [(n, s / total) for s, n in sorted(rows, reverse=True)[:top]],
            "groups": sorted(((n, s / total) for n, s in groups.items()), key=lambda kv: -kv[1])}


def profile_section(p: dict | None) -> list[str]:
    """docs/benchmarks.md lines for where the 1,000-peer replication's CPU time goes."""
    if p is None:
        return ["## Where the CPU goes", "", "Not measured: Linux `perf` is not installed on this machine.", ""]
    return ["## Where the CPU goes", "",
            f"Samples of the CPU over one 1,000-peer replication (`{p['command']}`; "
            "benchmarks/perf_symbols.py names each compiled kernel as CALLER:module.function, CALLER being the "
            "entry point whose code holds that copy: `swarm_ticks` the batched tick loop, `swarm_tick` a single "
            "tick, whose steps are inlined into it). Start-up, imports and the warm-up are included.", "",
            "| where | share of samples |", "|---|---:|", *(f"| {n} | {s:.1%} |" for n, s in p["groups"]), "",
            "| function | share of samples |", "|---|---:|", *(f"| `{n}` | {s:.1%} |" for n, s in p["top"]), ""]


def cycles_section(c: dict) -> list[str]:
    """docs/benchmarks.md lines for the case study's tick, step by step."""
    top = sorted(c["share"].items(), key=lambda kv: -kv[1])
    return [f"Where a case-study replication's compiled ticks go, step by step (`{c['command']}`: the same slice in "
            "one process, the tick's steps compiled with the CPU's cycle counter read between them, results "
            f"identical to the model's): {c['ticks']:,} ticks, {c['ticks_with_flows'] / c['ticks']:.0%} of them with "
            f"active transfers, {c['flows_per_tick_with_flows']:.1f} transfers each; {c['cycles_per_tick']:,.0f} "
            f"cycles a tick, {c['cycles_per_flow']:,.0f} per transfer and tick; the largest step, {top[0][0]}, "
            f"takes {top[0][1]:.0%}. Of the connection-seconds with bytes received ({c['conn_seconds']:,}), "
            f"{c['conn_seconds_same'] / max(c['conn_seconds'], 1):.0%} received exactly as many as in the second "
            f"before, {c['conn_seconds_within_block'] / max(c['conn_seconds'], 1):.0%} within one block of it.", "",
            "| step | share of the tick's cycles |", "|---|---:|",
            *(f"| {name} | {share:.1%} |" for name, share in top), ""]


def yardstick() -> dict:
    """The machine's speed now, on fixed work (benchmarks/yardstick.py), in its own process."""
    return json.loads(sh([sys.executable, "-m", "benchmarks.yardstick"]).strip().splitlines()[-1])


def yardstick_line(readings: list[dict]) -> str:
    """The report's yardstick sentence: each workload's median and range over the readings taken
    before the first step and after every step (the machine's speed moves within minutes too)."""
    def one(key: str, label: str) -> str:
        v = [y[key] for y in readings]
        return f"{label} {statistics.median(v):.0f} ms [{min(v):.0f}–{max(v):.0f}]"
    return (f"Yardstick (`python -m benchmarks.yardstick`, workload version {readings[0]['workload_version']}: "
            "fixed work that no change of leechsim touches, each reading the median of 5 rounds; here the "
            f"median [range] of {len(readings)} readings, one before the report's first step and one after "
            "each step): " + "; ".join([one("compiled_cache_ms", "compiled, in the caches"),
                                        one("compiled_memory_ms", "compiled, memory-bound"),
                                        one("interpreter_ms", "interpreted")])
            + ". Times on this page are this machine's at this hour: compare them with another report's "
            "only next to its yardstick (unchanged code takes about as much longer as the yardstick does; "
            "README \"Speed\").")


def machine() -> dict:
    from forensics.provenance import software_stack
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1), **software_stack()}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    work = [r["peers"] * r["pieces"] * r["simulated_s"] for r in rows]
    wall = [r["wall_s"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=120)
    ax.loglog([r["peers"] for r in rows], wall, "o-", label="measured wall time per replication")
    ref = [wall[0] * w / work[0] for w in work]
    ax.loglog([r["peers"] for r in rows], ref, "--", color="grey", label="linear in peers x pieces x simulated time")
    ax.set_xlabel("peers in the replication")
    ax.set_ylabel("wall time (s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("leechsim scaling (benchmarks/scenarios/peers-*.toml)", fontsize=9)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    atomic.write_bytes(path, png.getvalue())


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(m: dict, kernels: list[dict], scale: list[dict], comp: dict, lab: dict | None, par: dict, cmd: str,
           pcap: list[dict], corpus: dict | None = None, cycles: dict | None = None,
           profile: list[str] | None = None, yard: list[dict] | None = None) -> str:
    L = ["# Benchmarks", "",
         f"Produced by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
         "Every number on this page comes from that one command; re-run it after changing the code.", "",
         f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}, numpy {m['numpy']}, "
         f"numba {m['numba']}, simpy {m['simpy']}, libtorrent {m['libtorrent']}; leechsim {m['leechsim']} "
         f"(commit {m['git_commit']}).", "", *([yardstick_line(yard), ""] if yard else []),
         "## Kernels against their pure-Python twins", "",
         "| kernel | kernel (ms) | twin (ms) | speed-up | target 50x |", "|---|---:|---:|---:|---|"]
    for k in kernels:
        L.append(f"| {k['kernel']} | {k['kernel_ms']:.3f} | {k['twin_ms']:.1f} | {k['speedup']:.0f}x | "
                 f"{verdict(k['speedup'] >= TARGETS['kernel_speedup'])} |")
    L += ["", "Inputs: the 1,000-peer benchmark swarm after one simulated hour (`benchmarks/conftest.py`). "
          "Picker twin: written out in `benchmarks/test_kernels.py`; bandwidth, choke and transfer twins: "
          "the kernels' own code run by the Python interpreter (`NUMBA_DISABLE_JIT=1`), doing the same work. "
          "Each is timed as the engine calls it, on arrays that persist and stay resident from tick to tick: a "
          "round's input (the frozen state, after the tick's earlier steps) is built once and copied once into "
          "arrays kept across rounds; before each round, outside the timed call, exactly the elements the "
          "previous round changed are put back, so every round starts from the same input, on pages already "
          "present and as warm in the caches as the engine's state at its next tick (a fresh copy of the whole "
          "state for each round, as earlier measurements made, put the first touch of every new page, about 100 "
          "ns each, and a cache-cold input inside the timed call, which the engine never pays); warm-up rounds "
          "first (compiled), then the median of 50 rounds. Kernel and twin get the same input, warm-up and "
          "rounds.",
          "", "## Whole replications", "",
          "| scenario | peers | pieces | simulated s | wall s | ticks/s | simulated s per wall s | peak memory (MiB) "
          "| yardstick just before: in the caches / memory-bound (ms) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in scale:
        yard_cell = (f"{r['yardstick_cache_ms']:.0f} / {r['yardstick_memory_ms']:.0f}"
                     if "yardstick_cache_ms" in r else "")
        L.append(f"| {r['scenario']} | {r['peers']:,} | {r['pieces']:,} | {r['simulated_s']:,.0f} | {r['wall_s']:.2f} | "
                 f"{r['ticks_per_s']:,.0f} | {r['sim_s_per_wall_s']:,.0f} | {r['peak_rss_mib']:,.0f} | {yard_cell} |")
    L += ["", "Each row is one replication in its own process (`python -m benchmarks.scaling SCENARIO --breakdown`), "
          "after a tiny warm-up replication; peak memory is that process's peak resident size when the measured "
          "replication has ended, before the breakdown's second replication below starts.",
          "", "![wall time against peers, log-log](benchmarks-scaling.png)", "", "Where the time goes (seconds, "
          "per kernel, measured in a second replication run one tick per compiled call with each step timed — the "
          "measured run above batches the ticks between two engine events into one call, so its steps cannot be "
          "timed apart; the rest is SimPy events, Python bookkeeping and, in this one-tick-per-call run, the "
          "per-call overhead that batching removes). In large swarms a large part of the transfer step is "
          "what follows each completed piece: every connected peer (up to `connections_limit`, "
          "200) updates its availability count and moves the piece in its picker order — libtorrent's own "
          "per-HAVE work, done here for every peer of the swarm (reads, swaps and branches over the "
          "peers x pieces arrays):", "",
          "| scenario | choke | flows | bandwidth | transfer | outside kernels |", "|---|---:|---:|---:|---:|---:|"]
    for r in scale:
        b = r["breakdown"]
        rest = (r.get("breakdown_wall_s") or r["wall_s"]) - sum(b.values())
        L.append(f"| {r['scenario']} | {b['choke']:.2f} | {b['collect']:.2f} | {b['bandwidth']:.2f} | "
                 f"{b['transfer']:.2f} | {rest:.2f} |")
    by = {r["scale"]: r for r in scale}
    L += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    if lab and lab.get("speedup"):
        L.append(f"| lab-sized replication >= 5,000x faster than the real lab | {lab['speedup']:,.0f}x "
                 f"({lab['sim_per_replication_s'] * 1e3:.1f} ms per replication vs {lab['lab_swarm_s']:.0f} s of real swarm) | "
                 f"{verdict(lab['speedup'] >= TARGETS['lab_speedup'])} |")
    elif lab:
        L.append(f"| lab-sized replication >= 5,000x faster than the real lab | {lab['sim_per_replication_s'] * 1e3:.1f} ms "
                 f"per replication; simulated swarm lasts {lab['sim_swarm_s']:.0f} s (no lab run given: pass --with-lab) | not measured |")
    for n, key, label in ((1000, "peers_1000_s", "1,000 peers, 4,096 pieces, 6 h: under 30 s"),
                          (10000, "peers_10000_s", "10,000 peers: under 5 minutes")):
        if n in by:
            w = by[n]["wall_s"]
            miss = "" if w <= TARGETS[key] else f" ({w / TARGETS[key]:.1f}x over)"
            L.append(f"| {label} | {w:.1f} s{miss} | {verdict(w <= TARGETS[key])} |")
    if 10000 in by:
        mem = by[10000]["peak_rss_mib"]
        L.append(f"| 10,000 peers: under 4 GiB | {mem:,.0f} MiB | {verdict(mem <= TARGETS['peers_10000_mib'])} |")
    worst = min(k["speedup"] for k in kernels)
    L.append(f"| every kernel >= 50x its twin | slowest {worst:.0f}x | {verdict(worst >= TARGETS['kernel_speedup'])} |")
    L.append(f"| parallel efficiency on 2 workers >= 80% | {par['efficiency']:.0%} ({par['replications']} replications of "
             f"the default scenario: {par['one_worker_s']:.2f} s on 1, {par['two_workers_s']:.2f} s on 2) | "
             f"{verdict(par['efficiency'] >= TARGETS['parallel_eff'])} |")
    worst_pcap = min(r["mb_s"] for r in pcap)
    L.append(f"| capture reader >= 50 MB/s on one core | slowest {worst_pcap:.0f} MB/s | "
             f"{verdict(worst_pcap >= TARGETS['pcap_mb_s'])} |")
    if corpus:
        L.append(corpus_row(corpus))
    L += ["", "## Compilation", "", f"Numba compilation, cold (empty cache): {comp['cold_s']:.1f} s; "
          f"with the on-disk cache: {comp['cached_s']:.1f} s (start-up, import and one tiny replication).", ""]
    L += ["## Capture reader", "",
          "`leechsim evidence pcap`'s library call (`forensics.evidence.pcap.read_capture` with a torrent: read, "
          "reassemble, parse, check every sent block against the piece hashes) on three synthetic captures of the "
          "same swarm traffic, built once into `.benchmarks/` (`benchmarks/test_pcap_reader.py`), one core, mean of "
          "3 rounds. The cost is per packet, so captures of small packets are the slow case.", "",
          "| capture | size (MB) | packets | mean s | MB/s | target 50 MB/s |", "|---|---:|---:|---:|---:|---|"]
    for r in pcap:
        L.append(f"| {r['capture']} | {r['mb']:.1f} | {r['packets']:,} | {r['mean_s']:.2f} | {r['mb_s']:.0f} | "
                 f"{verdict(r['mb_s'] >= TARGETS['pcap_mb_s'])} |")
    L.append("")
    if corpus:
        L += corpus_section(corpus)
    if cycles:
        L += cycles_section(cycles)
    if profile is not None:  # profile_section's lines
        L += profile
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lab-run", type=Path, help="a `leechsim lab examples/lab-small.toml` run directory to compare with")
    ap.add_argument("--with-lab", action="store_true", help="run the real lab on examples/lab-small.toml (about a minute)")
    ap.add_argument("--skip-10000", action="store_true", help="leave out the 10,000-peer replication")
    a = ap.parse_args()
    cmd = "python -m benchmarks.report" + (" --with-lab" if a.with_lab else "") + (" --skip-10000" if a.skip_10000 else "")
    scales = tuple(s for s in SCALES if not (a.skip_10000 and s == 10000))
    m = machine()
    yard = [yardstick()]
    done: dict = {"command": cmd, "yardstick": yard}
    partial = ROOT / ".benchmarks" / "report-steps.json"  # what is measured so far, kept if a later step fails

    def step(fn, *args):
        out = fn(*args)
        yard.append(yardstick())
        done[fn.__name__] = out
        atomic.write_json(partial, done)
        return out

    kernels = step(kernel_speedups)
    comp = step(compile_times)
    lab = step(lab_comparison, a.lab_run, a.with_lab)
    par = step(parallel_efficiency)
    scale = step(scaling, scales)
    pcap = step(capture_reader)
    corpus = step(corpus_throughput)
    cycles = step(tick_cycles)
    profile = profile_section(step(kernel_profile))
    plot(scale, DOCS / "benchmarks-scaling.png")
    text = render(m, kernels, scale, comp, lab, par, cmd, pcap, corpus, cycles, profile, yard)
    atomic.write_text(DOCS / "benchmarks.md", text)
    print(text)


if __name__ == "__main__":
    main()
