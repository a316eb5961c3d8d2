"""The simulator against the real lab over a set of scenarios (the calibration matrix).

For each scenario: a simulated run directory (``runs.simulate_run``), the lab's run directory
(recorded, or run now by a ``run_lab`` function the caller provides), and their comparison
(``analysis.sim_vs_lab``). The output directory holds ``sim/<name>/`` (and ``lab/<name>/`` for
live lab runs), ``validation.csv`` (one row per comparison), ``validation.json`` (the summary,
the error rate per quantity, the rows, the recipient shares) and ``validation.png``.

A recorded lab run is ``<matrix>/recorded/<name>/``: a lab run directory without its ``raw/``
files, re-hashed, so the measured schema stays small enough to keep in the repository. Recordings
are made with every peer's block log and connection trace (``--all-blocks --trace-connections``);
they are kept gzip-compressed: ``replications/NNNN/connections.csv.gz`` (``leechsim trace`` reads
it) and ``replications/NNNN/blocks/*-blocks.csv.gz``.
"""

from __future__ import annotations

import gzip
import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import atomic
from .analysis.sim_vs_lab import QUANTITIES, compare_sim_with_lab, error_rate
from .errors import UserError
from .lab.sent import SENT_FILE
from .provenance import HASH_FILE, hash_list
from .report import figures
from .rundir import RunDirWriter
from .runs import simulate_run
from .traces import connections_file

# run_lab(scenario_file, runs, out): writes a lab run directory to out, or raises UserError.
RunLab = Callable[[Path, int, Path], None]


@dataclass(frozen=True)
class Validation:
    root: Path
    results: list[dict]  # per scenario: analysis.sim_vs_lab.compare_sim_with_lab
    summary: str
    error_rate: dict


def compress_file(path: Path) -> Path:
    """``path`` -> ``path.gz`` (no name or time in the gzip header: the same bytes give the same file)."""
    dest = path.with_name(path.name + ".gz")
    with open(path, "rb") as src:
        data = src.read()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    atomic.write_bytes(dest, buf.getvalue())
    path.unlink()
    return dest


def recorded_dir(matrix: Path, scenario_file: Path) -> Path:
    return Path(matrix) / "recorded" / Path(scenario_file).stem


def record_lab_runs(matrix: Path, files: list[Path], lab_runs: int, run_lab: RunLab,
                    on_recorded: Callable[[str, Path], None] | None = None) -> None:
    """Run the lab for every scenario and replace its recording (without raw/ files)."""
    for path in files:
        dest = recorded_dir(matrix, path)
        tmp = dest.with_name(f".{path.stem}.new")
        if tmp.exists():
            shutil.rmtree(tmp)
        run_lab(path, lab_runs, tmp)
        _keep_measured(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        if on_recorded:
            on_recorded(path.stem, dest)


def _keep_measured(root: Path) -> None:
    """A lab run directory made into a recording: the measured schema only, plus every peer's block
    log and the connection trace, compressed; re-hashed."""
    for raw in root.glob("replications/*/raw"):
        for blocks in sorted(raw.glob("*-blocks.csv")):
            (raw.parent / "blocks").mkdir(exist_ok=True)
            compress_file(blocks.rename(raw.parent / "blocks" / blocks.name))
        if (raw / SENT_FILE).is_file():  # what the subject's connections sent (the log's cut)
            (raw / SENT_FILE).rename(raw.parent / "blocks" / SENT_FILE)
        shutil.rmtree(raw)
    for trace in root.glob("replications/*/connections.csv"):  # traced recordings: kept, compressed
        compress_file(trace)
    atomic.write_text(root / HASH_FILE, hash_list(root))


# the lab options a recording's runs must share (manifest "lab"; a key an older recording lacks
# did not exist then, and its runs ran as the option's default does)
LAB_OPTIONS = ("tracker", "trace_connections", "timeout_s", "max_duration_s", "pcap", "utp", "save_resume",
               "peer_log")

# run_more(scenario_file, runs, out, first, seed): replications first .. runs-1 of a recording of
# ``runs`` runs with master seed ``seed``, as a lab run directory (forensics.lab.run.run_lab, first=).
RunLabMore = Callable[[Path, int, Path, int, int], dict]


def recover_replaced(dest: Path) -> None:
    """An addition stopped between the two renames that replace a recording (swap_in_extension)
    left it as ``.NAME.replaced``: put it back where it belongs."""
    trash = dest.with_name(f".{dest.name}.replaced")
    if not dest.exists() and trash.is_dir():
        trash.rename(dest)


def recorded_runs(matrix: Path, scenario_file: Path) -> int:
    """How many runs a scenario's recording holds (its manifest); a UserError if there is none."""
    from .rundir import RunDirError, read_manifest
    dest = recorded_dir(matrix, scenario_file)
    recover_replaced(dest)
    if not dest.is_dir():
        raise UserError(f"{dest}: no recording of {scenario_file.stem} to add runs to; record it with "
                        f"'leechsim validate --matrix {matrix} --record --only {scenario_file.stem}'")
    try:
        return int(read_manifest(dest)["replications"])
    except (RunDirError, KeyError, TypeError, ValueError) as e:
        raise UserError(f"{dest / 'manifest.json'}: cannot tell how many runs it holds ({e})") from None


def check_same_libtorrent(dest: Path, man: dict) -> None:
    """Only runs of the libtorrent a recording was made with may join it."""
    import libtorrent as lt
    recorded_lt = man.get("lab", {}).get("versions", {}).get("libtorrent")
    if recorded_lt != lt.__version__:
        raise UserError(f"{dest}: recorded with libtorrent {recorded_lt}, this machine has {lt.__version__}; "
                        f"runs of another libtorrent cannot join a recording: record it again with --record")


def check_same_session_phases(dest: Path, man: dict) -> None:
    """Only a recording whose sessions ticked at independent phases, as the lab's now do, may take
    more runs: one made before ticked in the order its processes started (docs/lab.md, "Tick
    phases"), and runs of both kinds in one recording would judge the model against a mixture."""
    from .lab.plan import SESSION_PHASES
    if man.get("lab", {}).get("session_phases") != SESSION_PHASES:
        raise UserError(f"{dest}: recorded before the lab's sessions ticked at independent phases (its manifest.json "
                        f"has no lab.session_phases = {SESSION_PHASES!r}); new runs cannot join it: record it "
                        f"again with --record (docs/lab.md, 'Tick phases')")


def with_extension(man: dict, have: int, lab_runs: int, command: list[str], new_man: dict) -> dict:
    """A recording's manifest after runs ``have`` .. ``lab_runs``-1 were added: its run count, and
    the addition listed in ``extensions`` (runs, command, times, software, lab) from the new runs'
    own manifest ``new_man``."""
    man = dict(man)
    man["replications"] = lab_runs
    man["extensions"] = [*man.get("extensions", []), {
        "replications": list(range(have, lab_runs)), "command": command,
        "started_utc": new_man["started_utc"], "finished_utc": new_man["finished_utc"],
        "software": new_man["software"], "lab": new_man["lab"]}]
    return man


def extension_dirs(dest: Path) -> tuple[Path, Path]:
    """Where an extension of the recording ``dest`` makes its new runs and its merged copy (emptied)."""
    more = dest.with_name(f".{dest.name}.more")
    stage = dest.with_name(f".{dest.name}.extended")
    for d in (more, stage):
        if d.exists():
            shutil.rmtree(d)
    return more, stage


def swap_in_extension(dest: Path, stage: Path, more: Path) -> None:
    """The merged copy ``stage`` takes the recording's place (two renames: a stop between them leaves
    the recording as ``.NAME.replaced``, which recover_replaced puts back); the new runs' directory goes."""
    trash = dest.with_name(f".{dest.name}.replaced")
    if trash.exists():
        shutil.rmtree(trash)
    dest.rename(trash)
    stage.rename(dest)
    shutil.rmtree(trash)
    shutil.rmtree(more)


def add_runs_evenly(files: list[Path], have: dict[Path, int], lab_runs: int,
                    extend: Callable[[Path, int], tuple[int, int]], report: Callable[[Path, int, int], None]) -> None:
    """One run at a time, always to the recording with the fewest runs (ties: first by name), until
    each holds ``lab_runs``: the order depends on the counts alone, and a stop at any point leaves
    them as even as they can be. ``extend(file, runs)`` makes the file's recording hold ``runs``."""
    while True:
        short = [f for f in files if have[f] < lab_runs]
        if not short:
            return
        f = min(short, key=lambda f: (have[f], f.stem))
        before, have[f] = extend(f, have[f] + 1)
        report(f, before, have[f])


def extend_recording(matrix: Path, scenario_file: Path, lab_runs: int, run_more: RunLabMore,
                     command: list[str]) -> tuple[int, int]:
    """Add runs to a scenario's recording until it holds ``lab_runs``: the recording's runs stay as
    they are, byte for byte; runs n .. lab_runs-1 get the seeds they would have had in a recording of
    ``lab_runs`` runs made at once (the seed rule spawns replication i's seed by its index alone), so
    an extended recording and one recorded at once differ only in the real swarms' own noise. Only
    the same scenario bytes and the same libtorrent version may extend a recording. The new runs are
    cut to what was sent when the recording was (``cut_recorded_to_sent``). The manifest lists each
    extension: its runs, command, times, lab options, versions and the machine's load. The
    recording is replaced only once everything is written. Returns (runs before, runs after)."""
    import hashlib
    import json

    from .provenance import utc_now
    from .rundir import RunDirError, load_run

    dest = recorded_dir(matrix, scenario_file)
    recover_replaced(dest)
    if not dest.is_dir():
        raise UserError(f"{dest}: no recording of {scenario_file.stem} to add runs to; record it with "
                        f"'leechsim validate --matrix {matrix} --record --only {scenario_file.stem}'")
    try:
        run = load_run(dest)
    except RunDirError as e:
        raise UserError(str(e)) from None
    man = run.manifest
    have = run.replications
    if man.get("kind") != "lab" or man.get("first_replication") or have != man.get("replications"):
        raise UserError(f"{dest}: not a whole lab recording (manifest kind {man.get('kind')!r}, "
                        f"{man.get('replications')} replications, {have} in results.csv)")
    if have >= lab_runs:
        return have, have
    sha = hashlib.sha256(scenario_file.read_bytes()).hexdigest()
    if sha != man["scenario_sha256"]:
        raise UserError(f"{scenario_file}: differs from the scenario {dest} was recorded with (SHA-256 {sha[:12]} "
                        f"against {man['scenario_sha256'][:12]}); runs of another scenario cannot join a "
                        f"recording: record it again with --record")
    check_same_libtorrent(dest, man)
    check_same_session_phases(dest, man)
    more, stage = extension_dirs(dest)
    new_man = run_more(scenario_file, lab_runs, more, have, int(man["master_seed"]))
    _keep_measured(more)
    differ = [k for k in LAB_OPTIONS if k in man.get("lab", {}) and man["lab"][k] != new_man["lab"].get(k)]
    if differ:
        said = "; ".join(f"{k}: {man['lab'][k]!r} against {new_man['lab'].get(k)!r}" for k in differ)
        raise UserError(f"{dest}: the new runs (in {more}) were made with other lab options than the recording "
                        f"({said}); "
                        f"they are not added")
    shutil.copytree(dest, stage)
    for rep in sorted((more / "replications").iterdir()):
        rep.rename(stage / "replications" / rep.name)
    old_rows = (dest / "results.csv").read_text().splitlines()
    new_rows = (more / "results.csv").read_text().splitlines()
    if old_rows[0] != new_rows[0]:
        raise UserError(f"{more / 'results.csv'}: its columns differ from {dest / 'results.csv'}; this leechsim "
                        f"writes another schema than the recording's: record it again with --record")
    atomic.write_text(stage / "results.csv", "\n".join(old_rows + new_rows[1:]) + "\n")
    man = with_extension(man, have, lab_runs, command, new_man)
    atomic.write_json(stage / "manifest.json", man)
    atomic.write_text(stage / HASH_FILE, hash_list(stage))
    cut_before = man.get("cut_to_sent")
    if cut_before:  # the recording was cut to what was sent: so are the new runs (a cut log stays as it is)
        report = cut_recorded_to_sent(stage, command)
        man2 = json.loads((stage / "manifest.json").read_text())
        man2["cut_to_sent"] = {**cut_before, "replications": {
            **{k: v for k, v in report.items() if int(k) >= have}, **cut_before["replications"]}}
        man2["cut_to_sent"].setdefault("extended", []).append({"command": command, "utc": utc_now(),
                                                               "replications": list(range(have, lab_runs))})
        atomic.write_json(stage / "manifest.json", man2)
        atomic.write_text(stage / HASH_FILE, hash_list(stage))
    swap_in_extension(dest, stage, more)
    return have, lab_runs


def run_validation(files: list[Path], out: Path, *, sim_runs: int, lab_runs: int = 3, matrix: Path | None = None,
                   run_lab: RunLab | None = None, force: bool = False) -> Validation:
    """Simulate every scenario, take its lab runs (recorded in ``matrix``, or ``run_lab`` now), compare.

    With ``matrix`` and no ``run_lab`` the recordings are used; otherwise ``run_lab`` runs the lab.
    """
    results = []
    with RunDirWriter(out, force=force) as w:
        for path in files:
            name = path.stem
            sim_dir = w.stage / "sim" / name
            simulate_run(path, sim_dir, runs=sim_runs,
                         command=["leechsim", "simulate", str(path), "--runs", str(sim_runs), "--out", str(sim_dir)])
            if run_lab is None:
                if matrix is None:
                    raise UserError("no lab runs: give the matrix of recordings or a way to run the lab")
                lab_dir = recorded_dir(matrix, path)
                if not lab_dir.is_dir():
                    raise UserError(f"{lab_dir}: no recorded lab runs for {name}; record them with "
                                    f"'leechsim validate --matrix {matrix} --record' or pass --live")
            else:
                lab_dir = w.stage / "lab" / name
                run_lab(path, lab_runs, lab_dir)
            results.append(compare_sim_with_lab(name, lab_dir, sim_dir))
        rows = [c.row() for r in results for c in r["comparisons"]]
        cols = list(rows[0])
        atomic.write_csv(w.stage / "validation.csv", cols, ([r[c] for c in cols] for r in rows))
        rate = error_rate(results)
        summary = (f"{sum(r['met'] for r in rows)} of {len(rows)} comparisons within target over "
                   f"{len(results)} scenario(s); lab libtorrent {results[0]['lab_libtorrent']}")
        atomic.write_json(w.stage / "validation.json", {
            "summary": summary, "error_rate": rate, "rows": rows,
            "recipient_shares": {r["scenario"]: r["recipient_shares"] for r in results}})
        atomic.write_bytes(w.stage / "validation.png", figures.validation(results, [q for q, _, _ in QUANTITIES]))
        published = w.publish()
    return Validation(published, results, summary, rate)


def cut_recorded_to_sent(dest: Path, command: list[str]) -> dict:
    """Re-measure a recorded lab run: each replication's subject log cut to what its connections
    sent (``lab.sent``; the counts from the recorded connection trace), then every table and
    headline computed from it again. The block log as libtorrent posted it stays in
    ``blocks/subject-blocks.csv.gz``. Cutting a cut log changes nothing. Returns, per replication,
    the blocks dropped and the log's bytes against the subject's payload counter."""
    import json
    import math

    import numpy as np

    from sim.layout import Layout
    from sim.results import ROLE_NAMES, TransferLog, summarize_replication

    from .lab.sent import cut_log, sent_from_merged_trace
    from .provenance import utc_now
    from .rundir import load_run, write_replication, write_results
    from .tables import read_columns

    dest = Path(dest)
    run = load_run(dest)
    t = run.scenario.torrent
    layout = Layout.of(t.piece_size, t.file_sizes, t.file_paths)
    role_code = {name: code for code, name in ROLE_NAMES.items()}
    results, report = [], {}
    for i in range(run.replications):
        rep = dest / "replications" / f"{i:04d}"
        trace = connections_file(rep)  # .gz as recorded (.xz where gzip is too large; .csv)
        if trace is None:
            raise UserError(f"{rep / 'connections.csv.gz'}: missing (nor .xz/.csv); a recording is cut to what "
                            f"was sent from its connection trace (record it with --trace-connections)")
        lg = read_columns(rep / "transfer_log.csv")
        log = TransferLog.from_columns(lg["t_s"], lg["peer"], lg["piece"], lg["first_block"], lg["blocks"], lg["bytes"])
        peers = read_columns(rep / "peers.csv")
        sent, last = sent_from_merged_trace(trace, local=0)
        s = int(np.flatnonzero(peers["role"] == "subject")[0])
        cut, dropped = cut_log(log, [int(p) for p in log.peer], sent, last, int(peers["uploaded_bytes"][s]))
        peers.pop("from_subject_bytes", None)
        peers["role"] = np.asarray([role_code[str(r)] for r in peers["role"]], dtype=np.int64)
        for c in ("peer", "uploaded_bytes", "downloaded_bytes"):
            peers[c] = peers[c].astype(np.int64)
        ts = read_columns(rep / "timeseries.csv")
        ts = {k: (v if k == "t_s" else v.astype(np.int64)) for k, v in ts.items()}
        complete = float(peers["complete_s"][s])
        r = summarize_replication(i, layout, cut, float(peers["join_s"][s]), complete, peers, ts,
                                  float(run.results["end_s"][i]))
        write_replication(dest, r)
        results.append(r)
        report[f"{i:04d}"] = {"blocks_dropped": dropped, "log_bytes": int(cut.bytes.sum()),
                              "subject_payload_counter_bytes": int(peers["uploaded_bytes"][s]),
                              "log_bytes_before": int(log.bytes.sum()),
                              "complete_s": None if math.isnan(complete) else complete}
    write_results(dest, results)
    man = json.loads((dest / "manifest.json").read_text())
    man["cut_to_sent"] = {
        "command": command, "utc": utc_now(),
        "why": "block_uploaded_alert fires when a block enters the send buffer; blocks still buffered when a "
               "connection closed were never sent (forensics/lab/sent.py)",
        "replications": report,
    }
    atomic.write_json(dest / "manifest.json", man)
    atomic.write_text(dest / HASH_FILE, hash_list(dest))
    return report


# Settings the lab imposed on every session whatever the scenario said, until the date given: a
# recording made then ran with these values, so a scenario that states them describes that run.
LAB_IMPOSED = {"rate_limit_ip_overhead": (False, "2026-11-30")}


def restate_recorded_scenario(dest: Path, scenario_file: Path, command: list[str]) -> dict:
    """A recorded lab run's scenario, restated: ``scenario_file`` must say exactly what the stored
    scenario said, except settings the lab imposed at the time (``LAB_IMPOSED``), which it states
    explicitly with the imposed value. The run's stored scenario files become it; the manifest
    keeps the old SHA-256 and why. No measurement changes."""
    import hashlib
    import json

    from sim.scenario import ScenarioError, load_scenario

    from .provenance import utc_now
    from .rundir import RunDirError, load_run, resolved_toml

    dest, scenario_file = Path(dest), Path(scenario_file)
    try:
        load_run(dest)  # a complete, unaltered run directory (manifest, hash list), or a clear error
        old, new = load_scenario(dest / "scenario.toml"), load_scenario(scenario_file)
    except (RunDirError, ScenarioError, OSError) as e:
        raise UserError(str(e)) from None
    restated = {}
    for side in ("swarm", "subject"):
        lts = getattr(new, side).libtorrent
        for key, (value, _) in LAB_IMPOSED.items():
            if getattr(lts, key) != value:
                raise UserError(f"{scenario_file}: {side}.libtorrent.{key} must be {value!r} to restate "
                                f"{dest}: the lab ran with {value!r}")
            old = old.with_changes(**{f"{side}.libtorrent.{key}": value})
            restated[f"{side}.libtorrent.{key}"] = value
    if old.to_dict() != new.to_dict():
        raise UserError(f"{scenario_file}: says more than {dest / 'scenario.toml'} with the lab's imposed settings "
                        f"({', '.join(LAB_IMPOSED)}) stated; a changed scenario needs a new recording")
    raw = scenario_file.read_bytes()
    man = json.loads((dest / "manifest.json").read_text())
    before = man["scenario_sha256"]
    man.setdefault("scenario_restated", []).append({
        "command": command, "utc": utc_now(), "sha256_before": before, "settings": restated,
        "why": "the lab imposed these values on every session when this run was recorded "
               + "; ".join(f"({k} = {v!r} until {d})" for k, (v, d) in LAB_IMPOSED.items())
               + "; the scenario now states them, and the model follows the scenario"})
    man["scenario_sha256"] = hashlib.sha256(raw).hexdigest()
    atomic.write_bytes(dest / "scenario.toml", raw)
    atomic.write_text(dest / "scenario.resolved.toml", resolved_toml(new))
    atomic.write_json(dest / "manifest.json", man)
    atomic.write_text(dest / HASH_FILE, hash_list(dest))
    return {"sha256_before": before, "sha256_after": man["scenario_sha256"], "settings": restated}


def _main(argv: list[str] | None = None) -> int:
    """``python -m forensics.calibration cut-to-sent DIR...``: re-measure recorded lab runs;
    ``... restate-scenario DIR SCENARIO``: a recording's scenario stating what the lab imposed."""
    import sys
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "restate-scenario":
        try:
            rep = restate_recorded_scenario(Path(args[1]), Path(args[2]), ["python", "-m", "forensics.calibration", *args])
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(args[1], rep)
        return 0
    if len(args) < 2 or args[0] != "cut-to-sent":
        print("usage: python -m forensics.calibration cut-to-sent RECORDED_DIR...\n"
              "       python -m forensics.calibration restate-scenario RECORDED_DIR SCENARIO_FILE", file=sys.stderr)
        return 2
    for d in args[1:]:
        try:
            rep = cut_recorded_to_sent(Path(d), ["python", "-m", "forensics.calibration", *args[:1], d])
        except UserError as e:  # not a run directory, altered, or without a connection trace
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(d, {k: (v["blocks_dropped"], v["log_bytes_before"] - v["log_bytes"], v["log_bytes"] - v["subject_payload_counter_bytes"])
                  for k, v in rep.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
