"""The terminal table of headline numbers shared by simulate and lab (numbers written by forensics.fmt)."""

from __future__ import annotations

from rich.table import Table

from forensics import fmt as _fmt

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


def _kind(kind: str) -> str:
    return "whole_seconds" if kind == "seconds" else kind


def fmt(value: float, kind: str) -> str:
    """Short forms for a terminal: bytes in binary units, whole seconds, 3-digit ratios, whole counts."""
    return _fmt.value(value, _kind(kind))


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
        table.add_row(label, fmt(s["median"], kind), interval, _fmt.mean_value(s["mean"], _kind(kind)), str(s["n"]))
    return table


def observed_table(path) -> Table:
    """observed.csv as written by simulate: each [evidence] value against the replications."""
    import csv
    table = Table(title="Evidence against the simulation (policy as run; all policies: leechsim report)")
    for col in ("evidence", "observed", "percentile", "90% interval", "widened by model error", "inside"):
        table.add_column(col, justify="left" if col == "evidence" else "right", no_wrap=True)
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            e = float(r["rel_error"])
            table.add_row(r["quantity"], f"{float(r['observed']):,.0f}", f"{float(r['percentile']):.1f}",
                          f"{float(r['p5']):,.0f} – {float(r['p95']):,.0f}",
                          f"{float(r['low']):,.0f} – {float(r['high']):,.0f}" + (f" (±{e:.0%})" if e else " (not validated)"),
                          "yes" if r["inside"] == "true" else "no")
    return table
