"""docs/validation.md: the simulator-against-lab table and error rate as Markdown."""

from __future__ import annotations

from sim.units import format_bytes


def fmt_quantity(q: str, v: float) -> str:
    """Bytes in binary units, seconds with one decimal: the units of the validated quantities."""
    return format_bytes(v) if q.endswith("_bytes") else f"{v:,.1f} s"


def validation_markdown(results: list[dict], summary: str, rate: dict, command: list[str], analysis: str | None = None) -> str:
    L = ["# Validation: the simulator against the real lab", "",
         f"Produced by `{' '.join(command)}`; re-run it after changing the model or the lab. "
         "Lab runs: real libtorrent sessions and opentracker on loopback (docs/lab.md); simulator: "
         "the same scenario files and seeds. Targets: upload while leeching within ±10% of the lab "
         "median with every lab run inside the simulator's 90% interval; download time and upload "
         "after completion within ±15%.", "", f"**{summary}.**", "",
         "| scenario | quantity | lab median [min–max] | simulator median [p5–p95] | error | lab runs inside | target |",
         "|---|---|---|---|---:|---:|---|"]
    for r in results:
        for c in r["comparisons"]:
            err = f"{c.rel_error:+.1%}" if c.rel_error is not None else f"{fmt_quantity(c.quantity, c.abs_error)} (abs.)"
            L.append(f"| {r['scenario']} | {c.quantity.replace('subject_', '')} | {fmt_quantity(c.quantity, c.lab_median)} "
                     f"[{fmt_quantity(c.quantity, c.lab_min)}–{fmt_quantity(c.quantity, c.lab_max)}] | {fmt_quantity(c.quantity, c.sim_median)} "
                     f"[{fmt_quantity(c.quantity, c.sim_p5)}–{fmt_quantity(c.quantity, c.sim_p95)}] | {err} | {c.lab_inside}/{c.lab_runs} | "
                     f"{'met' if c.met else '**missed**'} (±{c.tolerance:.0%}) |")
    L += ["", "## Error rate by quantity", "",
          "The last two columns say how much a count means. *An exact model would meet*: if the simulator were "
          "exact, the lab runs would be draws from its own replications; the expected number of scenarios whose "
          "target it would then meet with each scenario's number of lab runs, and the probability that it would "
          "meet all of them. *Median CRPS*: the continuous ranked probability score of every lab run under the "
          "simulator's replications (a proper scoring rule, lower is better), per scenario averaged over its lab "
          "runs and divided by the lab median (or by 1% of the torrent where that is larger); the median over "
          "the scenarios. It uses every lab run, not only the medians, so it separates two versions of the model "
          "where counting hits cannot.", "",
          "| quantity | scenarios | within target | median abs. error | max abs. error | lab runs inside interval | simulator median inside the lab median's interval | an exact model would meet (all) | median CRPS |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for q, e in rate.items():
        med = "—" if e["median_abs_rel_error"] is None else f"{e['median_abs_rel_error']:.1%}"
        mx = "—" if e["max_abs_rel_error"] is None else f"{e['max_abs_rel_error']:.1%}"
        exact = "—"
        if e.get("exact_model_expected_met") is not None:
            exact = f"{e['exact_model_expected_met']:.1f} ({e['exact_model_met_counts'][-1]:.2f})"
        crps = "—" if e.get("median_crps_scaled") is None else f"{e['median_crps_scaled']:.3f}"
        L.append(f"| {q} | {e['scenarios']} | {e['met']} | {med} | {mx} | {e['lab_runs_inside_interval']} | "
                 f"{e.get('sim_median_in_lab_median_interval', '—')} | {exact} | {crps} |")
    L += ["", "## How precisely the lab runs fix the lab median", "",
          "A few lab runs fix their own median only roughly. The interval below is distribution-free: "
          "the pair of the runs' order statistics that covers the median of the lab's distribution with "
          "at least 75% probability (with three runs, their range: 75%; with five, their range: 94%; "
          "with seven, the second smallest to the second largest: 87.5%). A simulator median inside it "
          "cannot be told apart from the lab's on these runs; the targets above still use the lab median itself.", "",
          "| scenario | quantity | lab runs | lab median | its interval (coverage) | simulator median | inside |",
          "|---|---|---:|---:|---|---:|---|"]
    for r in results:
        for c in r["comparisons"]:
            if c.quantity == "subject_upload_seed_bytes":
                continue
            L.append(f"| {r['scenario']} | {c.quantity.replace('subject_', '')} | {c.lab_runs} | "
                     f"{fmt_quantity(c.quantity, c.lab_median)} | {fmt_quantity(c.quantity, c.lab_median_low)}–"
                     f"{fmt_quantity(c.quantity, c.lab_median_high)} ({c.lab_median_level:.1%}) | "
                     f"{fmt_quantity(c.quantity, c.sim_median)} | {'yes' if c.sim_in_lab_median_interval else 'no'} |")
    if analysis:  # the matrix's own analysis of the misses (validation/ANALYSIS.md), kept with the table
        L += ["", analysis.strip()]
    return "\n".join(L) + "\n"
