"""``leechsim validate`` — the simulator against the real lab.

    leechsim validate SCENARIO --lab-runs 3 --sim-runs 200 --out DIR      # one scenario, lab run live
    leechsim validate --matrix validation/ --out DIR                       # the matrix, recorded lab runs
    leechsim validate --matrix validation/ --record                        # re-record the lab runs

With ``--matrix``, each scenario's lab runs come from ``<matrix>/recorded/<name>/`` (a lab run
directory without its raw/ files) unless ``--live`` is given; ``--record`` runs the lab for every
scenario and replaces those recordings.
"""

from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path

from rich.table import Table

from sim.scenario import load_scenario
from sim.units import format_bytes

from .. import atomic
from ..errors import UserError
from ..rundir import RunDirWriter
from ..validate import QUANTITIES, compare_runs, error_rate
from .env import Environment, ExitStatus
from .argtypes import positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="compare the simulator with the real lab (error rate)",
                       description="Run a scenario in the real lab and the simulator and compare them.")
    p.add_argument("scenario", nargs="?", type=Path, help="a scenario TOML file (or use --matrix)")
    p.add_argument("--matrix", type=Path, help="a directory of scenarios: the calibration matrix")
    p.add_argument("--lab-runs", type=positive_int, default=3, help="lab runs per scenario (default 3)")
    p.add_argument("--sim-runs", type=positive_int, default=200, help="simulator replications (default 200)")
    p.add_argument("--live", action="store_true", help="with --matrix: run the lab now instead of using recordings")
    p.add_argument("--record", action="store_true", help="with --matrix: run the lab and store the recordings")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="with --matrix: only these scenarios")
    p.add_argument("--out", type=Path, help="output directory (default: runs/validation)")
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.add_argument("--doc", type=Path, help="also write the table as Markdown to this file (docs/validation.md)")
    p.set_defaults(run=run)


def _sub(env: Environment, args: list[str]) -> None:
    from .main import main  # the same CLI, in-process: lab and simulate write their own run directories
    quiet = Environment(stdout=io.StringIO(), stderr=env.stderr, progress=env.progress)
    code = main(args, quiet)
    if code != 0:
        raise UserError(f"'leechsim {' '.join(args)}' failed (exit {int(code)}); see the messages above")


def _scenarios(ns: argparse.Namespace) -> list[Path]:
    if ns.matrix:
        if ns.scenario:
            raise UserError("give a scenario file or --matrix, not both")
        files = sorted(p for p in ns.matrix.glob("*.toml"))
        if ns.only:
            files = [p for p in files if p.stem in ns.only]
        if not files:
            raise UserError(f"{ns.matrix}: no scenario files (*.toml){' matching --only' if ns.only else ''}")
        return files
    if not ns.scenario:
        raise UserError("give a scenario file or --matrix DIR")
    if ns.record or ns.live:
        raise UserError("--record and --live go with --matrix")
    return [ns.scenario]


def record(ns: argparse.Namespace, env: Environment, files: list[Path]) -> ExitStatus:
    for path in files:
        dest = ns.matrix / "recorded" / path.stem
        tmp = ns.matrix / "recorded" / f".{path.stem}.new"
        if tmp.exists():
            shutil.rmtree(tmp)
        _sub(env, ["lab", str(path), "--runs", str(ns.lab_runs), "--out", str(tmp)])
        for raw in tmp.glob("replications/*/raw"):  # keep the recording small: the measured schema only
            shutil.rmtree(raw)
        from ..provenance import HASH_FILE, hash_list
        atomic.write_text(tmp / HASH_FILE, hash_list(tmp))
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        env.console().print(f"recorded {path.stem}: {dest}")
    return ExitStatus.SUCCESS


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    files = _scenarios(ns)
    for f in files:
        load_scenario(f)  # every scenario valid before anything runs
    if ns.record:
        return record(ns, env, files)
    out = ns.out or Path("runs") / "validation"
    results = []
    with RunDirWriter(out, force=ns.force) as w:
        for path in files:
            name = path.stem
            sim_dir = w.stage / "sim" / name
            _sub(env, ["simulate", str(path), "--runs", str(ns.sim_runs), "--out", str(sim_dir)])
            if ns.matrix and not ns.live:
                lab_dir = ns.matrix / "recorded" / name
                if not lab_dir.is_dir():
                    raise UserError(f"{lab_dir}: no recorded lab runs for {name}; record them with "
                                    f"'leechsim validate --matrix {ns.matrix} --record' or pass --live")
            else:
                lab_dir = w.stage / "lab" / name
                _sub(env, ["lab", str(path), "--runs", str(ns.lab_runs), "--out", str(lab_dir)])
            results.append(compare_runs(name, lab_dir, sim_dir))
        rows = [c.row() for r in results for c in r["comparisons"]]
        cols = list(rows[0])
        atomic.write_csv(w.stage / "validation.csv", cols, ([r[c] for c in cols] for r in rows))
        rate = error_rate(results)
        summary = (f"{sum(r['met'] for r in rows)} of {len(rows)} comparisons within target over "
                   f"{len(results)} scenario(s); lab libtorrent {results[0]['lab_libtorrent']}")
        atomic.write_json(w.stage / "validation.json", {
            "summary": summary, "error_rate": rate, "rows": rows,
            "recipient_shares": {r["scenario"]: r["recipient_shares"] for r in results}})
        _figure(w.stage / "validation.png", results)
        published = w.publish()
    if ns.doc:
        analysis = ns.matrix / "ANALYSIS.md" if ns.matrix else None
        atomic.write_text(ns.doc, _markdown(results, summary, rate, ns.command_line,
                                            analysis.read_text() if analysis and analysis.is_file() else None))
    env.console().print(_table(results))
    env.console().print(summary)
    env.console().print(f"Output: {published}")
    return ExitStatus.SUCCESS


def _fmt(q: str, v: float) -> str:
    return format_bytes(v) if q.endswith("_bytes") else f"{v:,.1f} s"


def _table(results: list[dict]) -> Table:
    t = Table(title="Simulator against the real lab", title_justify="left")
    for col in ("Scenario", "Quantity", "Lab median [min–max]", "Sim median [p5–p95]", "Error", "Lab in interval", "Target"):
        t.add_column(col)
    for r in results:
        for c in r["comparisons"]:
            err = f"{c.rel_error:+.1%}" if c.rel_error is not None else f"{_fmt(c.quantity, c.abs_error)} abs"
            t.add_row(r["scenario"], c.quantity.replace("subject_", ""),
                      f"{_fmt(c.quantity, c.lab_median)} [{_fmt(c.quantity, c.lab_min)}–{_fmt(c.quantity, c.lab_max)}]",
                      f"{_fmt(c.quantity, c.sim_median)} [{_fmt(c.quantity, c.sim_p5)}–{_fmt(c.quantity, c.sim_p95)}]",
                      err, f"{c.lab_inside}/{c.lab_runs}", ("met" if c.met else "MISSED") + f" (±{c.tolerance:.0%})")
    return t


def _figure(path: Path, results: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    qs = [q for q, _, _ in QUANTITIES]
    fig = Figure(figsize=(4 * len(qs), 0.6 * len(results) + 1.6), dpi=110)
    axes = fig.subplots(1, len(qs), sharey=True)
    names = [r["scenario"] for r in results]
    for ax, q in zip(axes, qs):
        for y, r in enumerate(results):
            c = next(c for c in r["comparisons"] if c.quantity == q)
            scale = 2**20 if q.endswith("_bytes") else 1.0
            ax.plot([c.sim_p5 / scale, c.sim_p95 / scale], [y, y], color="tab:blue", lw=4, alpha=0.5)
            ax.plot(c.sim_median / scale, y, "|", color="tab:blue", ms=14)
            ax.plot([c.lab_min / scale, c.lab_max / scale], [y, y], "o", color="tab:red", ms=4)
            ax.plot(c.lab_median / scale, y, "D", color="tab:red", ms=5)
        ax.set_title(q.replace("subject_", "") + (" (MiB)" if q.endswith("_bytes") else " (s)"), fontsize=9)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle("blue: simulator 90% interval and median; red: lab runs (diamond: median)", fontsize=9)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    tmp.replace(path)


def _markdown(results: list[dict], summary: str, rate: dict, command: list[str], analysis: str | None = None) -> str:
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
            err = f"{c.rel_error:+.1%}" if c.rel_error is not None else f"{_fmt(c.quantity, c.abs_error)} (abs.)"
            L.append(f"| {r['scenario']} | {c.quantity.replace('subject_', '')} | {_fmt(c.quantity, c.lab_median)} "
                     f"[{_fmt(c.quantity, c.lab_min)}–{_fmt(c.quantity, c.lab_max)}] | {_fmt(c.quantity, c.sim_median)} "
                     f"[{_fmt(c.quantity, c.sim_p5)}–{_fmt(c.quantity, c.sim_p95)}] | {err} | {c.lab_inside}/{c.lab_runs} | "
                     f"{'met' if c.met else '**missed**'} (±{c.tolerance:.0%}) |")
    L += ["", "## Error rate by quantity", "", "| quantity | scenarios | within target | median abs. error | max abs. error | lab runs inside interval |",
          "|---|---:|---:|---:|---:|---:|"]
    for q, e in rate.items():
        med = "—" if e["median_abs_rel_error"] is None else f"{e['median_abs_rel_error']:.1%}"
        mx = "—" if e["max_abs_rel_error"] is None else f"{e['max_abs_rel_error']:.1%}"
        L.append(f"| {q} | {e['scenarios']} | {e['met']} | {med} | {mx} | {e['lab_runs_inside_interval']} |")
    if analysis:  # the matrix's own analysis of the misses (validation/ANALYSIS.md), kept with the table
        L += ["", analysis.strip()]
    return "\n".join(L) + "\n"
