"""Assemble a report from a run directory: gather, draw, render, and add it to the run directory.

The numbers come only from the run directory (``rundir.load_run``, after its hashes are checked)
and from ``analysis`` (exposure; re-simulations of its resolved scenario with its own master seed
for the counterfactuals and the sensitivity), whose seeds and replication counts the report
states. This module formats them, draws the figures and renders the templates; the files are
added by ``rundir.publish_report_files``.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import jinja2
import numpy as np
from markupsafe import Markup, escape

from .. import __version__, fmt, rundir
from ..analysis import exposure
from ..analysis.counterfactuals import CF_QUANTITIES, Outcome, default_variants, outcome_from_results, run_counterfactuals
from ..analysis.observed import policy_variants
from ..analysis.sensitivity import SENSITIVITY_QUANTITY, TornadoBar, default_ranges, parse_ranges, run_tornado
from ..analysis.stats import describe
from ..provenance import software_stack, utc_now
from ..rundir import RunData, load_run
from ..runs import rerun_args
from ..tables import csv_text
from . import figures
from .error_rate import error_rate_section
from .method import METHOD_PARAGRAPHS, SIMPLIFICATIONS
from .observed_section import observed_section
from .sources import parameter_table
from .templates import HTML, MARKDOWN

# (label, quantity, kind): the answer table, in the order the arguments run.
HEADLINE_ROWS = (
    ("Subject upload while leeching", "subject_upload_leech_bytes", "bytes_exact"),
    ("Subject upload after completion", "subject_upload_seed_bytes", "bytes_exact"),
    ("Subject upload, total", "subject_upload_total_bytes", "bytes_exact"),
    ("Total upload as a share of the torrent", "upload_torrent_share", "percent"),
    ("Share ratio (uploaded / downloaded)", "subject_ratio_total", "ratio"),
    ("Subject download", "subject_download_bytes", "bytes_exact"),
    ("Subject download time", "subject_download_time_s", "seconds"),
    ("Peers that got ≥ 1 block from the subject", "peers_received_block", "count"),
    ("Peers that got ≥ 1 whole piece from the subject", "peers_received_piece", "count"),
    ("Whole pieces uploaded (peer × piece)", "complete_pieces_uploaded", "count"),
    ("Distinct pieces uploaded", "distinct_pieces_uploaded", "count"),
    ("Blocks uploaded (transfer transactions of 16 KiB)", "blocks_uploaded", "count"),
    ("Files some peer got entirely from the subject", "files_with_complete_copy", "count"),
    ("Swarm: median leecher download time", "swarm_median_download_time_s", "seconds"),
)


@dataclass
class ReportOptions:
    counterfactuals: bool = True
    sensitivity: bool = True
    variant_runs: int | None = None  # replications per counterfactual / sensitivity variant (default: the run's)
    workers: int = 1
    cap_bps: int = 50_000
    ranges: list[str] = field(default_factory=list)  # --range KEY=LOW,HIGH (replaces the defaults)
    max_files: int = 25
    validation: Path | None = None  # validation.json from 'leechsim validate' (default: looked for)
    command_line: list[str] = field(default_factory=list)
    on_plan: Callable[[int], None] | None = None  # told the number of variant replications to come
    on_done: Callable[[int], None] | None = None


def _inline(text: str) -> Markup:
    """Escape, then **bold** and `code` (the only markup the report's prose uses)."""
    s = str(escape(text))
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"`(.+?)`", r"<code>\1</code>", s)
    return Markup(s)


def _num(text: object) -> Markup:
    """'149.35 MiB (156,606,464 B)' -> the short form, and the exact count on a second, smaller line."""
    short, sep, exact = str(text).partition(" (")
    if not sep:
        return Markup(escape(short))
    return Markup(f'{escape(short)}<br><span class="exact">({escape(exact)}</span>')


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(autoescape=autoescape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["inline"] = _inline
    env.filters["cell"] = _cell
    env.filters["num"] = _num
    return env


def build_report(root: Path, options: ReportOptions | None = None) -> dict[str, Path]:
    """Write report.html, report.md, figures/ and report-data/ into ``root``; return their paths."""
    opts = options or ReportOptions()
    if Path(root).is_dir() and (Path(root) / rundir.MANIFEST).is_file() and rundir.read_manifest(root)["kind"] == "corpus":
        from .corpus_report import build_corpus_report  # a corpus: its own report (no re-simulations)
        return build_corpus_report(Path(root))
    run = load_run(root)
    context, pngs, data = compute(run, opts)
    md = _env(False).from_string(MARKDOWN).render(**context)
    for name, png in pngs.items():
        context["figures"][name]["b64"] = base64.b64encode(png).decode("ascii")
    html = _env(True).from_string(HTML).render(**context)
    files: dict[str, bytes] = {f"figures/{n}.png": b for n, b in pngs.items()}
    files.update({f"report-data/{n}": t.encode("utf-8") for n, t in data.items()})
    files["report.md"] = md.encode("utf-8")
    files["report.html"] = html.encode("utf-8")
    return rundir.publish_report_files(Path(root), files)


def compute(run: RunData, opts: ReportOptions) -> tuple[dict, dict[str, bytes], dict[str, str]]:
    """The template context, the figures (PNG bytes) and the report-data CSVs."""
    R = dict(run.results)
    size = run.layout.total_bytes
    R["upload_torrent_share"] = R["subject_upload_total_bytes"] / size
    S = {q: describe(R[q]) for _, q, _ in HEADLINE_ROWS}
    man = run.manifest
    n = run.replications
    seed = int(man.get("master_seed", run.scenario.simulation.seed))
    sc = run.scenario
    pngs: dict[str, bytes] = {}
    data: dict[str, str] = {}

    headline = [{"label": label, "median": fmt.value(S[q].median, kind), "interval": fmt.interval(S[q].p5, S[q].p95, kind),
                 "mean": fmt.mean_value(S[q].mean, kind), "n": S[q].n}
                for label, q, kind in HEADLINE_ROWS]

    # Results figures and tables.
    pngs["upload_distribution"] = figures.upload_distribution(R["subject_upload_leech_bytes"], R["subject_upload_seed_bytes"])
    rec = exposure.recipients(run)
    series = [run.table(i, "timeseries") for i in range(n)]
    pngs["cumulative"] = figures.cumulative(series, rec.representative, size)
    rep_bytes = np.array([r["from_subject_bytes"] for r in rec.table])
    pngs["recipients"] = figures.recipients(rec.by_rank, rep_bytes, rec.representative)
    recipients = [{"peer": r["peer"], "role": r["role"], "join": fmt.seconds(r["join_s"]), "complete": fmt.seconds(r["complete_s"]),
                   "capacity": fmt.rate(r["upload_bps"]), "bytes": fmt.nbytes_exact(r["from_subject_bytes"])} for r in rec.table[:15]]
    n_receivers = describe(np.count_nonzero(rec.by_rank, axis=1))
    recipients_note = (f"Bars: replication {rec.representative}, the one whose total upload is nearest the median; "
                       f"line and band: the k-th largest recipient's bytes over all {n} replications. "
                       f"Peers receiving anything from the subject: median {fmt.count(n_receivers.median)} "
                       f"(90% interval {fmt.interval(n_receivers.p5, n_receivers.p95, 'count')}). "
                       f"The table lists replication {rec.representative}'s receiving peers"
                       + (f" (the first 15 of {len(rec.table)})." if len(rec.table) > 15 else "."))

    file_rows_all = exposure.file_exposure(run)
    # Complete copies first (a whole work went out), then by bytes uploaded.
    order = sorted(range(len(file_rows_all)), key=lambda j: (-file_rows_all[j]["complete_copy_share"],
                                                             -file_rows_all[j]["bytes_uploaded"].median, j))
    shown = order[: opts.max_files]
    files = [{"path": file_rows_all[j]["path"], "size": fmt.nbytes_exact(file_rows_all[j]["size_bytes"]),
              "pieces": file_rows_all[j]["pieces"], "bytes": fmt.nbytes_exact(file_rows_all[j]["bytes_uploaded"].median),
              "interval": fmt.interval(file_rows_all[j]["bytes_uploaded"].p5, file_rows_all[j]["bytes_uploaded"].p95, "bytes"),
              "pieces_complete": fmt.count(file_rows_all[j]["pieces_complete"].median),
              "copy_share": fmt.percent(file_rows_all[j]["complete_copy_share"])} for j in shown]
    n_files = len(file_rows_all)
    touched = sum(1 for f in file_rows_all if f["bytes_uploaded"].median > 0)
    ever_copy = sum(1 for f in file_rows_all if f["complete_copy_share"] > 0)
    if n_files == 1:
        files_note = ("Single-file torrent: the file is the whole torrent. A complete copy means one peer received every "
                      "piece of it from the subject alone.")
    else:
        files_note = (f"{n_files} files; the subject uploaded bytes of {touched} of them in at least half of the replications. "
                      f"{ever_copy} file(s) went out as a complete copy (every piece of the file, from the subject alone, "
                      f"to one peer) in at least one replication. Pieces straddle file boundaries, so a piece counts for every "
                      f"file it overlaps. "
                      + (f"Shown: {len(shown)} files, those most often sent as a complete copy first, then by bytes uploaded; all {n_files} are in "
                         f"`report-data/files.csv`." if len(shown) < n_files
                         else "All files are shown, those most often sent as a complete copy first, then by bytes uploaded."))
    data["files.csv"] = csv_text(
        ("file", "path", "size_bytes", "pieces", "bytes_uploaded_median", "bytes_uploaded_p5", "bytes_uploaded_p95",
         "pieces_touched_median", "pieces_complete_median", "complete_copy_share"),
        [(f["file"], f["path"], int(f["size_bytes"]), f["pieces"], f["bytes_uploaded"].median, f["bytes_uploaded"].p5,
          f["bytes_uploaded"].p95, f["pieces_touched"].median, f["pieces_complete"].median, f["complete_copy_share"])
         for f in file_rows_all])

    mon = exposure.monitor_exposure(run)
    monitor = []
    for which, label in (("got_block", "at least one block"), ("got_piece", "at least one whole (hash-verifiable) piece"),
                         ("got_file", "every piece of at least one file (a complete file)")):
        st = mon.per_replication(which)
        monitor.append({"label": label, "pooled": fmt.probability(mon.pooled(which)),
                        "interval": fmt.interval(st.p5, st.p95, "probability"), "any": fmt.percent(mon.any_share(which))})
    present = describe(mon.present)
    monitor_note = (f"A monitoring peer is modelled as a leecher that was downloading while the subject was in the swarm "
                    f"(median {fmt.count(present.median)} such leechers per replication, {int(mon.present.sum())} over all "
                    f"{n} replications). The probability is the share of all of them that received it from the subject; the "
                    f"interval is the spread of that share over replications. A real monitor that downloads only a few "
                    f"pieces and leaves early is less exposed than an ordinary leecher.")
    data["exposure.csv"] = csv_text(("replication", "present_leechers", "got_block", "got_piece", "got_file"),
                                           [(i, mon.present[i], mon.got_block[i], mon.got_piece[i], mon.got_file[i]) for i in range(n)])

    # Re-simulations: counterfactuals and sensitivity, same seeds.
    nv = min(opts.variant_runs or n, n)
    variants = default_variants(sc, opts.cap_bps) if opts.counterfactuals else []
    ranges = (parse_ranges(sc, opts.ranges) if opts.ranges else default_ranges(sc)) if opts.sensitivity else []
    n_observed = (len(policy_variants(sc)) if opts.counterfactuals and sc.evidence is not None
                  and sc.evidence.observed() else 0)
    if opts.on_plan:
        opts.on_plan(nv * (len(variants) + 2 * len(ranges) + n_observed))
    observed = observed_section(run, sc, nv, seed, opts.workers, bool(n_observed), pngs, data, opts.on_done)
    counterfactuals = _counterfactuals(run, sc, variants, nv, seed, opts, pngs, data)
    sensitivity = _sensitivity(run, sc, ranges, nv, seed, opts, pngs, data)

    figs = {k: {"file": f"{k}.png"} for k in pngs}
    for k in ("counterfactuals", "tornado"):
        figs.setdefault(k, {"file": f"{k}.png"})
    params = parameter_table(sc, run.scenario_raw, list(man.get("overrides", [])))
    params = [_annotate(p, man, n, seed, sc) for p in params]
    n_marked = sum(p.source in ("evidence", "assumed", "source", "stated") for p in params)
    context = {
        "title": f"leechsim report — scenario '{sc.name}'",
        "run_name": run.root.name, "replications": n, "master_seed": seed,
        "generated_utc": utc_now(microseconds=False), "tool_version": __version__,
        "question": _question(sc), "answer": _answer(S, sc, size, n, R, man.get("kind", "simulate")),
        "headline": headline, "observed": observed,
        "interval_note": (f"Intervals are the 5th–95th percentiles over the {n} replications: the spread of each quantity "
                          f"over what is unknown about the swarm (arrival times, other peers' capacities and seeding times), "
                          f"not a confidence interval for the median. Bytes are payload bytes, in binary units "
                          f"(1 MiB = 1,048,576 B); tables give the exact count."),
        "scenario_name": sc.name, "description": sc.scenario.description,
        "scenario_sha256": man.get("scenario_sha256", "—"),
        "sources_note": (f"{n_marked} of {len(params)} parameters carry a stated source (evidence or assumption) in the "
                         f"scenario file. Sources are marked with `# evidence: …` / `# assumed: …` comments on a key's line "
                         f"or a table header, or a `[sources]` table (see docs/reports.md)."),
        "parameters": params,
        "method": METHOD_PARAGRAPHS, "simplifications": SIMPLIFICATIONS,
        "figures": figs,
        "recipients": recipients, "recipients_note": recipients_note,
        "files": files, "files_note": files_note,
        "monitor": monitor, "monitor_note": monitor_note,
        "counterfactuals": counterfactuals, "sensitivity": sensitivity,
        "error_rate": error_rate_section(run.root, opts.validation),
        "manifest_rows": _manifest_rows(man),
        "verify_command": f"leechsim verify {shlex.quote(str(run.root))}",
        "rerun_command": _rerun_command(run),
        "report_command": shlex.join(opts.command_line) if opts.command_line else f"leechsim report {shlex.quote(str(run.root))}",
    }
    return context, pngs, data


def _annotate(p, man: dict, n: int, seed: int, sc):
    """The resolved scenario holds the file's replications and seed; say what this run used."""
    if p.key == "simulation.replications" and int(man.get("replications", n)) != sc.simulation.replications:
        return replace(p, note=p.note + f"; this run: {man.get('replications')} replications (--runs)")
    if p.key == "simulation.seed" and seed != sc.simulation.seed:
        return replace(p, note=p.note + f"; this run: master seed {seed} (--seed)")
    return p


def _question(sc) -> str:
    return (f"The subject client in scenario '{sc.name}' (a {fmt.nbytes(sc.torrent.size_bytes)} torrent, "
            f"on_complete = {sc.subject.on_complete}): how many bytes did it upload to other peers while it was still "
            f"downloading, and after its download completed — as bytes, as a share of the torrent, and as a ratio to "
            f"what it downloaded — and how sure are we?")


def _answer(S, sc, size: int, n: int, R, kind: str) -> str:
    def med(q, kind):
        return f"**{fmt.value(S[q].median, 'bytes' if kind == 'bytes_exact' else kind)}**"

    def iv(q, kind):
        return f"90% interval {fmt.interval(S[q].p5, S[q].p95, kind)}"

    done = int(np.nansum(R["subject_completed"]))
    what = "simulated replications of this swarm" if kind != "lab" else "real libtorrent swarms run in the lab (loopback)"
    return (f"Over {n} {what}, the subject uploaded a median of "
            f"{med('subject_upload_leech_bytes', 'bytes')} ({iv('subject_upload_leech_bytes', 'bytes')}) while it was still "
            f"downloading, and {med('subject_upload_seed_bytes', 'bytes')} ({iv('subject_upload_seed_bytes', 'bytes')}) after "
            f"its download completed; {med('subject_upload_total_bytes', 'bytes')} in total "
            f"({iv('subject_upload_total_bytes', 'bytes')}). That is {med('upload_torrent_share', 'percent')} of the torrent's "
            f"{fmt.nbytes(size)} ({iv('upload_torrent_share', 'percent')}) and a share ratio of "
            f"{med('subject_ratio_total', 'ratio')} to the bytes it downloaded ({iv('subject_ratio_total', 'ratio')}). "
            f"It completed its download in {done} of {n} replications, after a median of "
            f"{fmt.seconds(S['subject_download_time_s'].median)}, and sent at least one whole, hash-verifiable piece to a "
            f"median of {fmt.count(S['peers_received_piece'].median)} peers "
            f"({iv('peers_received_piece', 'count')}).")


def _counterfactuals(run: RunData, sc, variants, nv: int, seed: int, opts: ReportOptions,
                     pngs: dict, data: dict) -> dict:
    if not variants:
        return {"rows": [], "note": "Counterfactuals were not computed for this report (`--no-counterfactuals`)."}
    outcomes: list[Outcome] = [outcome_from_results("as_run", f"as run ({sc.subject.on_complete}, {sc.subject.profile})",
                                                    run.results, nv, seed)]
    outcomes += run_counterfactuals(sc, variants, nv, seed, opts.workers, opts.on_done)
    base = outcomes[0].stats["subject_upload_total_bytes"].median
    rows = []
    for o in outcomes:
        st = o.stats
        tot = st["subject_upload_total_bytes"]
        change = "—" if o.key == "as_run" else (
            f"{'+' if tot.median - base >= 0 else '−'}{fmt.nbytes(abs(tot.median - base))}"
            + (f" ({'+' if tot.median >= base else '−'}{abs(tot.median - base) / base:.0%})" if base else ""))
        rows.append({"label": o.label, "leech": fmt.nbytes_exact(st["subject_upload_leech_bytes"].median),
                     "seed": fmt.nbytes_exact(st["subject_upload_seed_bytes"].median),
                     "total": fmt.nbytes_exact(tot.median), "total_interval": fmt.interval(tot.p5, tot.p95, "bytes"),
                     "change": change, "time": fmt.seconds(st["subject_download_time_s"].median),
                     "completed": f"{int(round(st['subject_completed'].mean * st['subject_completed'].n))}/{st['subject_completed'].n}"})
    pngs["counterfactuals"] = figures.counterfactuals([o.label for o in outcomes],
                                                      [o.stats["subject_upload_total_bytes"] for o in outcomes],
                                                      [o.stats["subject_download_time_s"] for o in outcomes])
    header = ["variant", "label", "changes", "replications", "master_seed"]
    for q in CF_QUANTITIES:
        header += [f"{q}_median", f"{q}_p5", f"{q}_p95", f"{q}_n"]
    data["counterfactuals.csv"] = csv_text(header, [
        [o.key, o.label, json.dumps(o.changes, sort_keys=True), o.replications, o.master_seed]
        + [x for q in CF_QUANTITIES for x in (o.stats[q].median, o.stats[q].p5, o.stats[q].p95, o.stats[q].n)]
        for o in outcomes])
    lab = ("This run is a real lab swarm; the counterfactuals are simulated with the model, and the first row "
           "is the lab's own result. " if run.manifest.get("kind") == "lab" else "")
    note = lab + _software_caveat(run.manifest) + (f"The same scenario and the same seeds (master seed {seed}, replications 0–{nv - 1}: replication i of every "
            f"variant sees the same draw of the swarm), with one setting of the subject changed. Download time is the cost "
            f"of the setting to the subject (tit-for-tat: a peer that uploads less is unchoked less). "
            f"Variant definitions and all statistics: `report-data/counterfactuals.csv`.")
    return {"rows": rows, "note": note}


def _sensitivity(run: RunData, sc, ranges, nv: int, seed: int, opts: ReportOptions, pngs: dict, data: dict) -> dict:
    if not ranges:
        return {"rows": [], "note": "The sensitivity analysis was not computed for this report (`--no-sensitivity`)."}
    bars: list[TornadoBar] = run_tornado(sc, ranges, nv, seed, opts.workers, opts.on_done)
    baseline = describe(run.results[SENSITIVITY_QUANTITY][:nv]).median
    pngs["tornado"] = figures.tornado([b.range.label for b in bars], np.array([b.low_median for b in bars]),
                                      np.array([b.high_median for b in bars]), [b.range.low_text for b in bars],
                                      [b.range.high_text for b in bars], baseline, "subject upload, total")
    rows = [{"label": b.range.label, "key": b.range.key, "range": f"{b.range.low_text} – {b.range.high_text}",
             "low": fmt.nbytes_exact(b.low_median), "high": fmt.nbytes_exact(b.high_median),
             "swing": fmt.nbytes(b.swing), "why": b.range.why} for b in bars]
    data["sensitivity.csv"] = csv_text(
        ("key", "label", "low", "high", "replications", "master_seed", "total_median_low", "total_median_high",
         "leech_median_low", "leech_median_high", "total_median_as_run"),
        [(b.range.key, b.range.label, json.dumps(b.range.low), json.dumps(b.range.high), nv, seed, b.low_median,
          b.high_median, b.low_leech_median, b.high_leech_median, baseline) for b in bars])
    note = _software_caveat(run.manifest) + (f"Median total upload of the subject when one parameter is set to the low or the high end of its range, all "
            f"else as run; {nv} replications per end with the run's seeds (master seed {seed}). As run: "
            f"{fmt.nbytes_exact(baseline)}. Bars are sorted by swing. Ranges are the defaults stated in the table unless "
            f"given with `--range`.")
    return {"rows": rows, "note": note}


def _software_caveat(man: dict) -> str:
    """Re-simulations run on today's code; say so when the run was made with other code."""
    then, now = man.get("software", {}), software_stack()
    keys = ("leechsim", "git_commit", "numpy", "numba", "simpy")
    changed = [f"{k} {then.get(k)} → {now.get(k)}" for k in keys if then.get(k) != now.get(k)]
    if not changed:
        return ""
    return ("**Caution:** these re-simulations ran on different software than the run (" + "; ".join(changed) + "), "
            "so differences from the as-run figures may partly come from the code, not the setting; re-run the case "
            "with this version for a like-for-like comparison. ")


def _manifest_rows(man: dict) -> list[tuple[str, str]]:
    sw = man.get("software", {})
    rows = [("leechsim version", sw.get("leechsim")), ("git commit", sw.get("git_commit")),
            ("Python", f"{sw.get('python')} ({sw.get('python_implementation')})")]
    rows += [(k, sw.get(k)) for k in ("numpy", "numba", "llvmlite", "simpy", "pydantic", "libtorrent")]
    rows += [("platform", f"{sw.get('platform')} {sw.get('machine')}"),
             ("scenario file", man.get("scenario_file")), ("scenario SHA-256", man.get("scenario_sha256")),
             ("overrides (--set)", " ".join(man.get("overrides", [])) or "none"),
             ("master seed", man.get("master_seed")), ("seed rule", man.get("seed_rule")),
             ("replications", man.get("replications")), ("worker processes", man.get("workers")),
             ("command line", shlex.join(man.get("command", []))),
             ("started / finished (UTC)", f"{man.get('started_utc')} / {man.get('finished_utc')}"),
             ("manifest version / result schema", f"{man.get('manifest_version')} / {man.get('result_schema_version')}")]
    return [(k, "—" if v is None else str(v)) for k, v in rows]


def _rerun_command(run: RunData) -> str:
    return shlex.join(["leechsim", *rerun_args(run.manifest, run.root / "scenario.toml", Path(str(run.root) + "-rerun"))])
