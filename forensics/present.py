"""How headline numbers are shown to a person: the terminal table shared by simulate and lab."""

from __future__ import annotations

import math

from rich.table import Table

from sim.units import format_bytes

# (field, label, kind) in the order an expert reads them; kind: bytes | seconds | ratio | count
TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("subject_upload_leech_bytes", "Subject upload while leeching", "bytes"),
    ("subject_upload_seed_bytes", "Subject upload after completion", "bytes"),
    ("subject_upload_total_bytes", "Subject upload, total", "bytes"),
    ("subject_download_bytes", "Subject download", "bytes"),
    ("subject_ratio_at_completion", "Share ratio at completion", "ratio"),
    ("subject_download_time_s", "Subject download time", "seconds"),
    ("peers_received_block", "Peers that got >= 1 block from subject", "count"),
    ("peers_received_piece", "Peers that got >= 1 whole piece", "count"),
    ("complete_pieces_uploaded", "Whole pieces uploaded (peer x piece)", "count"),
    ("files_with_complete_copy", "Files some peer got entirely from subject", "count"),
    ("swarm_median_download_time_s", "Swarm: median leecher download time", "seconds"),
)


def fmt(value: float, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "bytes":
        return format_bytes(value)
    if kind == "seconds":
        return f"{value:,.0f} s"
    if kind == "ratio":
        return f"{value:.3f}"
    return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"


def headline_table(summary: dict, title: str, runs_label: str = "replications") -> Table:
    n = summary["replications"]
    table = Table(title=f"{title} — {n} {runs_label}", title_justify="left")
    table.add_column("Quantity")
    table.add_column("Median", justify="right")
    table.add_column("90% interval (p5 – p95)", justify="right")
    table.add_column("Mean", justify="right")
    table.add_column("n", justify="right")
    for key, label, kind in TABLE_ROWS:
        s = summary["headline"][key]
        interval = f"{fmt(s['p5'], kind)} – {fmt(s['p95'], kind)}" if s["n"] else "—"
        table.add_row(label, fmt(s["median"], kind), interval, fmt(s["mean"], kind), str(s["n"]))
    return table
