"""One uploader's connections in a traced run, as a figure and two small tables
(``leechsim trace RUN_DIR --uploader N``).

Reads ``replications/NNNN/connections.csv`` (or its .gz/.xz: ``traces.connections_file``) and
``peers.csv`` (roles, the uploader's limit), and writes into the output directory, for replication
R and uploader U:
``trace-rRRRR-uUUUU.png`` (per-connection upload rate over time, and when each remote was
connected, interested and unchoked), ``...-connections.csv`` (one row per remote),
``...-episodes.csv`` (one row per unchoke episode) and ``...-summary.md``. The numbers come from
``connection_metrics``; this module only reads, draws and writes.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import atomic
from . import connection_metrics as cm
from .errors import UserError
from .traces import connections_file

PNG_DPI = 110


@dataclass(frozen=True)
class TracedReplication:
    path: Path
    table: dict[str, np.ndarray]
    roles: list[str]  # by peer index
    upload_bps: list[float]


def load_traced_replication(run_dir: Path, replication: int, uploader: int) -> TracedReplication:
    """Check the inputs and read them; every refusal names the file or option at fault."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    rep = run_dir / "replications" / f"{replication:04d}"
    if not rep.is_dir():
        have = sorted(p.name for p in (run_dir / "replications").glob("[0-9][0-9][0-9][0-9]")) \
            if (run_dir / "replications").is_dir() else []
        raise UserError(f"--replication {replication}: {rep} does not exist"
                        + (f" (the run has replications {int(have[0])}..{int(have[-1])})" if have else
                           " (not a leechsim run directory?)"))
    peers_csv = rep / "peers.csv"
    if not peers_csv.is_file():
        raise UserError(f"{peers_csv}: missing (not a leechsim run directory?)")
    conns_csv = connections_file(rep)  # .csv, or .gz/.xz as the validation matrix records it
    if conns_csv is None:
        raise UserError(f"{rep / 'connections.csv'}: missing; this run was not traced (no connections.csv, "
                        ".csv.gz or .csv.xz; run it with 'leechsim lab SCENARIO --trace-connections')")
    with open(peers_csv, newline="") as f:
        peers = list(csv.DictReader(f))
    if not 0 <= uploader < len(peers):
        raise UserError(f"--uploader {uploader}: out of range; {peers_csv} has peers 0..{len(peers) - 1}")
    try:
        table = cm.read_connections(conns_csv, local=uploader)
    except ValueError as e:
        raise UserError(str(e)) from None
    return TracedReplication(rep, table, [p["role"] for p in peers], [float(p["upload_bps"] or 0) for p in peers])


def _stem(replication: int, uploader: int) -> str:
    return f"trace-r{replication:04d}-u{uploader:04d}"


def write_trace_report(run_dir: Path, replication: int, uploader: int, out_dir: Path,
                       window_s: float = 60.0, rate_window_s: float = 1.0, label: int | None = None) -> list[Path]:
    """The figure and tables of one uploader in one replication, into ``out_dir``; the files are
    named by ``label`` if given (a run's number in a recording put together from several run
    directories), else by the replication. Their text names the run directory and replication."""
    data = load_traced_replication(run_dir, replication, uploader)
    limit = data.upload_bps[uploader]
    summary = cm.summarize_uploader(data.table, uploader, limit, window_s, rate_window_s)
    out_dir = Path(out_dir)
    stem = out_dir / _stem(replication if label is None else label, uploader)
    conns_csv = stem.with_name(stem.name + "-connections.csv")
    eps_csv = stem.with_name(stem.name + "-episodes.csv")
    md = stem.with_name(stem.name + "-summary.md")
    png = stem.with_name(stem.name + ".png")
    rows = [asdict(c) for c in summary.connections]
    atomic.write_csv(conns_csv, ["remote", "role"] + list(rows[0])[1:] if rows else ["remote"],
                     [[r["remote"], data.roles[r["remote"]], *list(r.values())[1:]] for r in rows])
    eps = [asdict(e) for e in summary.episodes]
    atomic.write_csv(eps_csv, list(eps[0]) if eps else ["remote"], [list(e.values()) for e in eps])
    atomic.write_text(md, summary_markdown(summary, data, run_dir, replication))
    atomic.write_bytes(png, figure_png(summary, data, run_dir, replication, rate_window_s))
    return [png, conns_csv, eps_csv, md]


def _num(x: float, fmt: str = "{:.1f}") -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def summary_markdown(s: cm.UploaderSummary, data: TracedReplication, run_dir: Path, replication: int) -> str:
    role = data.roles[s.uploader]
    lines = [
        f"# Peer {s.uploader} ({role}): upload per connection — {run_dir}, replication {replication}",
        "",
        f"- upload limit: {_num(s.limit_bps / 1000, '{:,.0f}')} kB/s" if s.limit_bps > 0 else "- upload limit: none",
        f"- utilisation of the limit while some remote was interested: {_num(s.utilisation, '{:.1%}')} "
        f"over {s.demand_s:.1f} s",
        f"- share window: {s.window_s:.0f} s from t = {_num(s.window_start_s)} s (first payload sent); "
        f"utilisation in it: {_num(s.window_utilisation, '{:.1%}')}",
        f"- sent to remotes it had choked (allowed-fast pieces, requests under way at a choke): "
        f"{_num(s.choked_share, '{:.1%}')} of its bytes",
        "",
        "Per remote, first unchoke episode (unchoked and interested): t50/t90 = seconds from the "
        "unchoke to 50 %/90 % of its eventual rate (median of the episode's last third); even share: "
        "the same against limit / remotes being served (— = never during the episode).",
        "",
        "| remote | role | first seen s | unchoked at s | optimistic | eventual kB/s | t50 s | t90 s "
        "| even share t50 / t90 s | episodes (optimistic) | window share | total MB |",
        "|---:|---|---:|---:|:-:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in s.connections:
        lines.append(
            f"| {c.remote} | {data.roles[c.remote]} | {c.first_seen_s:.1f} | {_num(c.first_unchoke_s)} "
            f"| {'yes' if c.first_optimistic else ''} | {_num(c.eventual_bps / 1000)} | {_num(c.t50_s)} "
            f"| {_num(c.t90_s)} | {_num(c.t50_fair_s)} / {_num(c.t90_fair_s)} | {c.episodes} ({c.optimistic_episodes}) | {_num(c.window_share, '{:.1%}')} "
            f"| {c.total_bytes / 1e6:.2f} |")
    lines += ["", "Definitions: forensics/connection_metrics.py; files: *-connections.csv, *-episodes.csv.", ""]
    return "\n".join(lines)


def figure_png(s: cm.UploaderSummary, data: TracedReplication, run_dir: Path, replication: int,
               rate_window_s: float) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conns = cm.connections_of(data.table, s.uploader)
    remotes = [c.remote for c in s.connections]
    cmap = plt.get_cmap("tab10" if len(remotes) <= 10 else "tab20")
    colour = {r: cmap(i % cmap.N) for i, r in enumerate(remotes)}
    n = max(1, len(remotes))
    fig, (ax, lanes) = plt.subplots(2, 1, sharex=True, figsize=(11, 4.8 + 0.32 * n),
                                    gridspec_kw={"height_ratios": [3.2, 0.5 + 0.32 * n]})
    times = np.unique(np.concatenate([c.t_s for c in conns.values()])) if conns else np.zeros(0)
    total = np.zeros(len(times))
    for r in remotes:
        c = conns[r]
        rate = cm.centred_rate_bps(c.t_s, c.cumulative_bytes, rate_window_s)
        total += np.interp(times, c.t_s, rate, left=0, right=0)
        ax.plot(c.t_s, rate / 1000, color=colour[r], lw=1.3, label=f"peer {r} ({data.roles[r]})")
    if len(times):
        ax.plot(times, total / 1000, color="0.2", lw=0.9, ls=":", label="all connections")
    if s.limit_bps > 0:
        ax.axhline(s.limit_bps / 1000, color="0.4", lw=1, ls="--", label="upload limit")
    for e in s.episodes:  # where each episode begins: a tick on the time axis (hollow: optimistic)
        ax.plot(e.start_s, 0, marker="^", ms=7, clip_on=False, zorder=5, color=colour[e.remote],
                markerfacecolor="white" if e.optimistic else colour[e.remote])
    ax.set_ylabel(f"payload upload, kB/s\n({rate_window_s:g} s centred window)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    util = "" if math.isnan(s.utilisation) else f"; limit used {s.utilisation:.0%} while in demand"
    ax.set_title(f"Peer {s.uploader} ({data.roles[s.uploader]}) upload per connection — "
                 f"{Path(run_dir).name}, replication {replication}{util}", fontsize=10)

    for y, r in enumerate(remotes):
        c = conns[r]
        gap = np.diff(c.t_s, append=c.t_s[-1])
        # connected (thin grey), interested (mid grey), served = unchoked and interested (colour)
        lanes.broken_barh(list(zip(c.t_s, gap)), (y - 0.08, 0.16), color="0.85")
        interested = c.remote_interested
        lanes.broken_barh([(t, g) for t, g, i in zip(c.t_s, gap, interested) if i], (y - 0.15, 0.3), color="0.65")
        for e in (e for e in s.episodes if e.remote == r):
            lanes.broken_barh([(e.start_s, max(e.end_s - e.start_s, 0.1))], (y - 0.35, 0.7), facecolor=colour[r],
                              hatch="///" if e.optimistic else None, edgecolor="white" if e.optimistic else colour[r],
                              lw=0.0)
    lanes.set_yticks(range(len(remotes)), [f"peer {r}" for r in remotes], fontsize=8)
    lanes.set_ylim(len(remotes) - 0.5, -0.5)
    lanes.set_xlabel("t, s (lab run's time zero)")
    lanes.grid(axis="x", alpha=0.3)
    lanes.set_title("connected (light grey) · interested in the uploader (grey) · unchoked and served "
                    "(colour; hatched = optimistic unchoke)", fontsize=8, loc="left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    plt.close(fig)
    return buf.getvalue()
