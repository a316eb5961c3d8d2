"""The report of a corpus run directory: the corpus's share ratio, its upload while leeching and
after completion, exposure to monitors and the works that went out, summed over the corpus.

The numbers come only from the run directory (after its hashes are checked): the per-replication
table (``per_replication.parquet`` or ``per_replication.csv``, whichever the run wrote),
``torrents.csv`` and the manifest. Written like the single-run report: report.md, report.html,
figures/ and report-data/, added with their own hash list (``rundir.publish_report_files``).
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import numpy as np
from markupsafe import escape

from .. import corpus_table, fmt, rundir
from ..analysis.corpus import CorpusAnswer, corpus_answer, per_torrent_means
from ..errors import UserError
from ..tables import csv_text
from . import figures

TOP_TORRENTS = 25

ROWS = (  # (label, total quantity, kind)
    ("Share ratio over the corpus (uploaded / downloaded)", "subject_ratio_total", "ratio"),
    ("Share ratio counting only upload while leeching", "subject_ratio_leech", "ratio"),
    ("Subject upload while leeching", "subject_upload_leech_bytes", "bytes_exact"),
    ("Subject upload after completion", "subject_upload_seed_bytes", "bytes_exact"),
    ("Subject upload, total", "subject_upload_total_bytes", "bytes_exact"),
    ("Subject download", "subject_download_bytes", "bytes_exact"),
    ("Peers served ≥ 1 block (summed over torrents)", "peers_received_block", "count"),
    ("Peers served ≥ 1 whole piece (summed over torrents)", "peers_received_piece", "count"),
    ("Works (files) of which ≥ 1 byte went out", "files_touched", "count"),
    ("Works of which ≥ 1 whole piece went out", "files_piece_complete", "count"),
    ("Works some peer got entirely from the subject", "files_with_complete_copy", "count"),
    ("Monitoring peers present (leechers downloading while the subject was there)", "monitors_present", "count"),
    ("… of which got ≥ 1 whole piece from the subject", "monitors_got_piece", "count"),
    ("… of which got a complete work from the subject", "monitors_got_file", "count"),
)


def _torrent_names(root: Path) -> list[str]:
    with open(root / "torrents.csv", newline="", encoding="utf-8") as f:
        return [r["name"] for r in csv.DictReader(f)]


def corpus_report_files(root: Path) -> dict[str, bytes]:
    root = Path(root)
    problems = rundir.integrity_problems(root)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise UserError(f"{root}: refusing to report from this run directory: {problems[0]}{more}. "
                        f"A report may only be made from an intact run; re-run it or restore the original files.")
    man = rundir.read_manifest(root)
    table = corpus_table.read_table(root)
    try:
        ans = corpus_answer(table)
    except ValueError as e:
        raise UserError(f"{root}: {e}") from None
    names = _torrent_names(root)
    if len(names) != ans.torrents:
        raise UserError(f"{root / 'torrents.csv'}: {len(names)} torrents, the per-replication table {ans.torrents}")
    source = corpus_table.PARQUET if (root / corpus_table.PARQUET).is_file() else corpus_table.CSV
    up_mean = per_torrent_means(table, "subject_upload_total_bytes")
    down_mean = per_torrent_means(table, "subject_download_bytes")
    order = np.argsort(-up_mean, kind="stable")[:TOP_TORRENTS]
    top = [(names[i], up_mean[i], down_mean[i]) for i in order]

    fig, ax = figures._subplots(figsize=(7, 3.2))
    ratio = ans.totals["subject_ratio_total"]
    ax.hist(ratio[~np.isnan(ratio)], bins=min(30, max(5, ans.replications // 3)), color="tab:blue")
    ax.axvline(0.3, color="tab:red", linestyle="--", label="0.3 (the reported ~30%)")
    ax.set_xlabel("corpus share ratio (uploaded / downloaded), one value per replication")
    ax.set_ylabel("replications")
    ax.legend(fontsize=8)
    png = figures.png_bytes(fig)

    md = _markdown(ans, man, source, top)
    totals_csv = csv_text(("replication",) + tuple(q for _, q, _ in ROWS),
                          ([r] + [ans.totals[q][r] for _, q, _ in ROWS] for r in range(ans.replications)))
    return {
        "report.md": md.encode("utf-8"),
        "report.html": _html(md, png).encode("utf-8"),
        "figures/corpus_ratio.png": png,
        "report-data/corpus_totals.csv": totals_csv.encode("utf-8"),
    }


def _markdown(ans: CorpusAnswer, man: dict, source: str, top: list) -> str:
    r = ans.ratio()
    leech = ans.stats["subject_upload_leech_bytes"]
    seed = ans.stats["subject_upload_seed_bytes"]
    L = [f"# Corpus report: {ans.torrents:,} torrents, {ans.replications} replications each", "",
         "## Question and answer", "",
         f"Over the whole corpus, the subject uploaded **{fmt.ratio(r.median)}** times what it downloaded "
         f"(median over replications; 90% interval {fmt.interval(r.p5, r.p95, 'ratio')}): "
         f"{fmt.nbytes(leech.median)} while leeching (90% interval {fmt.interval(leech.p5, leech.p95, 'bytes')}) "
         f"and {fmt.nbytes(seed.median)} after completion (90% interval {fmt.interval(seed.p5, seed.p95, 'bytes')}).", "",
         _model_paragraph(man), "",
         "| quantity | median | 90% interval | mean |", "|---|---:|---:|---:|"]
    for label, q, kind in ROWS:
        s = ans.stats[q]
        L.append(f"| {label} | {fmt.value(s.median, kind)} | {fmt.interval(s.p5, s.p95, kind)} | "
                 f"{fmt.mean_value(s.mean, kind)} |")
    L += ["", "![corpus share ratio per replication](figures/corpus_ratio.png)", "",
          "## Exposure to a monitoring peer", "",
          "A monitoring peer is modelled as an ordinary leecher downloading while the subject was in the swarm "
          "(as in the single-run report, docs/reports.md). Pooled over every torrent and replication, the share "
          f"of such leechers that received from the subject at least one block: {fmt.probability(ans.monitor_pooled['got_block'])}; "
          f"at least one whole (hash-verifiable) piece: {fmt.probability(ans.monitor_pooled['got_piece'])}; "
          f"every piece of at least one work: {fmt.probability(ans.monitor_pooled['got_file'])}.", "",
          f"## Torrents with the largest mean upload (top {len(top)} of {ans.torrents:,})", "",
          "| torrent | mean upload | mean download | ratio of means |", "|---|---:|---:|---:|"]
    for name, up, down in top:
        L.append(f"| {name} | {fmt.nbytes(up)} | {fmt.nbytes(down)} | {fmt.ratio(up / down) if down else '—'} |")
    sw = man.get("software", {})
    L += ["", "## Reproducibility", "",
          f"Read from `{source}` (one row per torrent × replication), `torrents.csv` and `manifest.json`. "
          f"Command: `{' '.join(man.get('command', []))}`; corpus file SHA-256 {man.get('scenario_sha256')}; "
          f"base scenario SHA-256 {man.get('base_sha256')}; corpus seed {man.get('corpus_seed')}; "
          f"{man.get('torrent_seed_rule')}. {man.get('replication_stop_rule', '')}. "
          f"leechsim {sw.get('leechsim', '?')}, numpy {sw.get('numpy', '?')}, numba {sw.get('numba', '?')}; "
          f"started {man.get('started_utc')}, finished {man.get('finished_utc')}.", "",
          "```", json.dumps({k: man.get(k) for k in ("corpus_model", "corpus_session", "torrents", "torrent_limit",
                                                      "replications", "work_unit_replications", "workers", "scheduler")
                             if k != "corpus_session" or man.get(k) is not None}, indent=1),
          "```", ""]
    return "\n".join(L)


def _model_paragraph(man: dict) -> str:
    """What the run assumed about how the client held the torrents (the manifest's corpus_model)."""
    if man.get("corpus_model") == "session":
        cs = man.get("corpus_session") or {}
        queue = (f"fed through libtorrent's auto-manage queue in corpus order ({cs.get('active_downloads')} "
                 f"downloading at once, active_seeds {cs.get('active_seeds')}, active_limit {cs.get('active_limit')})"
                 if cs.get("auto_managed", True) else "each started when added (not auto-managed)")
        return ("**Model.** One client session holds the torrents: its unchoke slots, rate limits and connection "
                f"limit are shared by the torrents it runs at once, which are {queue}. The corpus is cut into "
                f"consecutive sessions of {cs.get('torrents_per_session')} torrents, each torrent added at its own "
                "join time on its swarm's clock; sessions do not overlap. The corpus total of replication *r* is "
                "the sum of every torrent's replication *r*.")
    return ("**Model.** Every torrent is simulated as if the client had it to itself — its own unchoke slots, "
            "rate limits and connections — and the corpus total of replication *r* is the sum of every torrent's "
            "replication *r*. A real client shares its unchoke slots, rate limits and connection limit over all "
            "the torrents it runs at once and queues them (libtorrent's auto-manage): the corpus file's "
            "`model = \"session\"` simulates that instead. Where the client ran many torrents at once these "
            "totals are likely high for upload while leeching (the slots and the uplink are shared).")


def _html(md: str, png: bytes) -> str:
    """The Markdown as simple self-contained HTML (tables, paragraphs, the figure inline)."""
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>Corpus report</title><style>"
           "body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:.2em .5em}td:not(:first-child){text-align:right}</style></head><body>"]
    in_table = in_code = False
    for line in md.splitlines():
        if line.startswith("```"):
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(str(escape(line)))
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if set(line) <= set("|-: "):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
                out.append("<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells) + "</tr>")
            else:
                out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("!["):
            out.append(f"<img alt='corpus share ratio' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
        elif line:
            out.append(f"<p>{_inline(line)}</p>")
    if in_table:
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _inline(text: str) -> str:
    import re
    s = str(escape(text))
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"\*(.+?)\*", r"<em>\1</em>", s)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", s)


def build_corpus_report(root: Path) -> dict[str, Path]:
    return rundir.publish_report_files(Path(root), corpus_report_files(root))
