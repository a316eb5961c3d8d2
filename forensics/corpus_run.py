"""Running a corpus: (torrent, block of replications) work units on one pool or one Dask cluster.

Every unit is independent: torrent i's replication r draws from
``SeedSequence(master_seed_i).spawn(replications)[r]`` — the same seed ``leechsim simulate`` gives
replication r of that torrent's scenario with that master seed — and nothing else. All units of
the corpus go to one local worker pool (a bounded number in flight) or one Dask cluster at once,
and the results are put back in (torrent, replication) order, so the output files are
bit-identical for any number of workers, for any block size and on a cluster.

With ``model = "session"`` a unit is (session, block of replications) instead: consecutive torrents
run together in one client session (``corpus_session``, which states its seed rule); its rows are
put back in the same (torrent, replication) order.

A worker reduces each replication to one row of the per-replication table (``corpus_table``)
before anything travels back, and stops a replication once the subject has left its swarm:
after that nothing can change the subject's numbers (its uploads, whom it served, what a monitor
could have got from it), and the rest of the swarm is not what a corpus reports.
"""

from __future__ import annotations

import gc
import hashlib
import math
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sim.engine import SwarmRun, layout_of
from sim.montecarlo import SEED_RULE, default_workers, quiet_interrupted_dask, replication_seeds
from sim.scenario import Scenario, ScenarioError, scenario_sha256
from sim.warm_start import skip_idle_prefix
from sim.worker_pool import _init_worker, stop_pool

from . import atomic, corpus_table, rundir
from .analysis.corpus import SUMMED, corpus_answer
from .capacity import check_run_size
from .corpus import Corpus, FileSizes, TorrentRow, load_corpus, torrent_changes
from .corpus_session import (SESSION_SEED_RULE, SESSION_STOP_RULE, SessionUnit, plan_session_units,
                             run_session_unit)
from .errors import UserError
from .provenance import utc_now
from .runs import default_out

BLOCK_REPLICATIONS = 10  # replications per work unit: small enough to balance 2 or 200 workers
STEP_S = 60.0  # how often (simulated seconds) a replication checks whether the subject has left

TOTAL_FIELDS = SUMMED  # summed over torrents per replication (totals.csv)
PER_TORRENT_FIELDS = ("subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_upload_total_bytes",
                      "subject_download_bytes", "subject_download_time_s", "peers_received_piece")
STOP_RULE = ("a replication stops once the subject has left its swarm (checked every 60 simulated s), or when "
             "the swarm is done (as in simulate); the subject's numbers are those of the full replication")
IDLE_RULE = ("each swarm's idle prefix is skipped (sim/warm_start.py): its times move S earlier, S the largest "
             "multiple of the tick, 1 s, the announce and every choke interval at least 60 s before the first peer "
             "other than the seeds joins; the same distribution of the subject's numbers as simulate, not the same "
             "values; end_s is on the swarm's own clock")


@dataclass(frozen=True)
class Unit:
    """One work unit: replications [start, stop) of torrent ``index``."""

    index: int
    row: TorrentRow
    file_sizes: FileSizes | None
    master_seed: int
    replications: int
    start: int
    stop: int
    skip_idle_prefix: bool = False


@dataclass(frozen=True)
class Progress:
    """Where a corpus run is: replications and torrents finished, of how many."""

    replications_done: int
    replications: int
    torrents_done: int
    torrents: int


def simulate_until_subject_left(sc: Scenario, replication: int, seed: np.random.SeedSequence,
                                skip_idle: bool = False, trace_connections: bool = False):
    """A replication run until the subject has left (or the swarm is done); its result.

    Every model event is processed in the same order as in one uninterrupted run, so the subject's
    numbers are identical to ``simulate``'s (tests/test_corpus_run.py checks it). The run stops the
    moment the subject leaves: nothing later changes the subject's numbers. Its end (``end_s``)
    is that of the rule in STOP_RULE — a check every STEP_S simulated seconds, so the first
    multiple of STEP_S at or after the subject's leave, or the swarm's end if that comes first —
    worked out without simulating up to it where the swarm provably cannot end before it
    (``_stop_time``). The result's swarm figures (peers, swarm_* fields) are those at the
    subject's leave; a corpus reports none of them.

    ``skip_idle``: the swarm's idle prefix (only seeds there) is skipped (sim/warm_start.py): the same
    distribution of the subject's numbers, not the same values; the result is on the shifted clock,
    ``result.extra["idle_skipped_s"]`` says by how much. ``trace_connections``: the engine's
    connection trace in ``result.extra["connections"]`` (benchmarks/steady_runs.py reads it).
    """
    run = SwarmRun(sc, replication, seed, trace_connections=trace_connections)
    skipped = skip_idle_prefix(run) if skip_idle else 0.0
    ticker = run.start()
    env = run.env
    env.run(until=env.any_of([ticker, run.subject_left_event()]))
    end = _stop_time(run, ticker) if ticker.is_alive else env.now
    result = run.result()
    result.headline["end_s"] = end
    result.extra["idle_skipped_s"] = skipped
    return result


def _step_at_or_after(t: float) -> float:
    """The first multiple of STEP_S at or after t (exact: the checks fall on whole multiples)."""
    k = math.floor(t / STEP_S)
    while k * STEP_S < t:
        k += 1
    while k > 0 and (k - 1) * STEP_S >= t:
        k -= 1
    return k * STEP_S


def _stop_time(run: SwarmRun, ticker) -> float:
    """When a replication checked every STEP_S seconds stops, for a run whose subject has just left
    (now) while its swarm goes on: at the first check at or after now (a check at time t comes
    after every event at t scheduled before t, the subject's leave among them), or when the swarm
    ends, if before that. The swarm can only end at a tick with no arrival pending or at its
    horizon; when a peer still to arrive joins at or after the check, and the horizon is beyond it,
    it does not end before: the check's time, nothing simulated. Otherwise the run goes on to the
    check, as the stepped loop did (what happens there changes none of the subject's numbers)."""
    env = run.env
    now = env.now
    check = _step_at_or_after(now)
    if check == now:
        return now
    pop = run.pop
    if bool(np.any(~run.joined & (pop.join_s >= check))) and check <= run.sc.simulation.horizon_s - 1e-9:
        return check
    env.run(until=env.any_of([ticker, env.timeout(SwarmRun._delay_to(now, check))]))
    return env.now


_CACHE: dict[tuple, Scenario] = {}  # the worker's last torrent scenario (consecutive units share it)


def _scenario(base: Scenario, u: Unit) -> Scenario:
    key = (id(base), u.index, u.row)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = base.with_changes(**torrent_changes(base, u.row, u.index, u.file_sizes, "corpus"))
    return _CACHE[key]


def run_unit(u: Unit | SessionUnit, base: Scenario) -> dict[str, np.ndarray]:
    """Simulate one unit; its rows of the per-replication table, as columns (times on the swarm's clock)."""
    if isinstance(u, SessionUnit):
        return run_session_unit(u, base)
    sc = _scenario(base, u)
    seeds = replication_seeds(u.master_seed, u.replications)
    layout = layout_of(sc)
    rows = []
    for r in range(u.start, u.stop):
        result = simulate_until_subject_left(sc, r, seeds[r], u.skip_idle_prefix)
        row = corpus_table.row_of(u.index, result, layout, sc.subject.join_s)
        row["end_s"] += result.extra["idle_skipped_s"]  # back on the swarm's own clock
        rows.append(row)
    return corpus_table.columns_of(rows)


def _run_unit_packed(args: tuple[Unit | SessionUnit, Scenario]) -> dict[str, np.ndarray]:
    return run_unit(*args)


def unit_torrents(u: Unit | SessionUnit) -> range:
    """The corpus positions of the torrents a unit simulates."""
    return u.torrents if isinstance(u, SessionUnit) else range(u.index, u.index + 1)


def plan_units(corpus: Corpus, replications: int, block: int = BLOCK_REPLICATIONS) -> list[Unit] | list[SessionUnit]:
    """Every (torrent, block) unit, torrent-major (torrents finish one after another); with
    ``model = "session"`` every (session, block) unit (``corpus_session``)."""
    if corpus.meta.model == "session":
        return plan_session_units(corpus, replications, block)
    seeds = corpus.torrent_seeds()
    return [Unit(i, row, corpus.meta.file_sizes, seeds[i], replications, s, min(s + block, replications),
                 corpus.meta.skip_idle_prefix)
            for i, row in enumerate(corpus.torrents) for s in range(0, replications, block)]


def run_units(units: list[Unit] | list[SessionUnit], base: Scenario, workers: int, scheduler: str | None = None,
              on_unit: Callable[[int, int], None] | None = None) -> list[dict[str, np.ndarray]]:
    """Every unit's columns, in unit order; ``on_unit(torrent, replications)`` as each finishes."""
    results: list[dict | None] = [None] * len(units)

    def done(i: int, value: dict) -> None:
        results[i] = value
        if on_unit:
            for t in unit_torrents(units[i]):
                on_unit(t, units[i].stop - units[i].start)

    if scheduler:
        _run_on_dask(scheduler, units, base, done)
    elif workers <= 1 or len(units) <= 1:
        for i, u in enumerate(units):
            done(i, run_unit(u, base))
    else:
        _run_on_pool(units, base, workers, done)
    return results  # type: ignore[return-value]


def _init_corpus_worker(parent_pid: int) -> None:
    """sim.worker_pool's worker set-up, then every object the worker starts with (modules, compiled
    kernels, what it inherited from the parent) is put out of the cyclic garbage collector's reach
    (gc.freeze): a full collection then walks what the replications allocate, not that whole heap
    again (about a tenth of a second each). Nothing the simulation computes depends on it."""
    _init_worker(parent_pid)
    gc.freeze()


def _run_on_pool(units: list[Unit], base: Scenario, workers: int, done: Callable[[int, dict], None]) -> None:
    """Local worker processes (sim.worker_pool's: they die with this process and ignore Ctrl-C), a
    bounded number of units in flight so a corpus of 50,000 units is never all queued at once."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_corpus_worker, initargs=(os.getpid(),))
    try:
        queue = iter(enumerate(units))
        pending: dict = {}

        def top_up() -> None:
            while len(pending) < 3 * workers:
                nxt = next(queue, None)
                if nxt is None:
                    return
                pending[pool.submit(_run_unit_packed, (nxt[1], base))] = nxt[0]

        top_up()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: pending[f]):
                done(pending.pop(fut), fut.result())
            top_up()
    except BaseException:  # Ctrl-C, SIGTERM or a failure: kill the workers now, not after the queue
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _run_on_dask(scheduler: str, units: list[Unit], base: Scenario, done: Callable[[int, dict], None]) -> None:
    try:
        from distributed import Client, as_completed as dask_completed  # optional dependency
    except ImportError:
        raise UserError("running on a Dask cluster needs the 'distributed' extra: "
                        "pip install 'leechsim[distributed]'") from None
    try:
        client = Client(scheduler, timeout="30s")
    except OSError as e:
        raise UserError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({e})") from None
    with quiet_interrupted_dask(), client:
        base_f = client.scatter(base, broadcast=True)  # once per worker, not once per unit
        futures = client.map(run_unit, units, base=base_f, pure=False, key=[
            f"corpus-unit-{u.index}-{u.start}-{os.getpid()}-{id(units)}" for u in units])
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in dask_completed(futures):
                done(index[fut.key], fut.result())
                fut.release()
        except BaseException:  # Ctrl-C or SIGTERM: the cluster's workers drop what is left of this run
            client.cancel(futures, force=True)
            raise


def simulate_corpus(corpus: Corpus, runs: int | None = None, workers: int = 1, scheduler: str | None = None,
                    block: int = BLOCK_REPLICATIONS,
                    on_unit: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """The per-replication table of a corpus (in memory, nothing written): for notebooks and sweeps
    over ``Corpus.variant``s; ``run_corpus`` writes the same table into a run directory."""
    n = runs or corpus.meta.replications
    try:
        parts = run_units(plan_units(corpus, n, block), corpus.base, workers, scheduler, on_unit)
    except ScenarioError as e:  # a torrent's full file list refused (checked cheaply before)
        raise UserError(f"{corpus.source}: {e}") from None
    table = corpus_table.concat(parts)
    order = np.lexsort((table["replication"], table["torrent"]))  # (torrent, replication) order
    return {c: v[order] for c, v in table.items()}


@dataclass(frozen=True)
class CorpusRun:
    """A published corpus run directory: per-torrent rows (as in torrents.csv) and summary.json."""

    root: Path
    name: str
    rows: list[list]
    summary: dict
    table_file: str


def _stats(values: np.ndarray) -> dict[str, float]:
    ok = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    if not len(ok):
        return {"n": 0, "median": float("nan"), "mean": float("nan"), "p5": float("nan"), "p95": float("nan")}
    p5, med, p95 = np.percentile(ok, [5, 50, 95])
    return {"n": int(len(ok)), "median": float(med), "mean": float(ok.mean()), "p5": float(p5), "p95": float(p95)}


def corpus_totals(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per replication r: the sum over torrents of replication r's quantities (whole numbers), and the
    corpus share ratios (uploaded / downloaded, in total and while leeching)."""
    totals = corpus_answer(table).totals
    return {k: (v.astype(np.int64) if k in TOTAL_FIELDS else v) for k, v in totals.items()}


def run_corpus(corpus_file: str | Path, out: str | Path | None = None, *, runs: int | None = None,
               workers: int | None = None, scheduler: str | None = None, force: bool = False,
               command: list[str] | None = None, table_format: str = "parquet", block: int = BLOCK_REPLICATIONS,
               limit: int | None = None, on_plan: Callable[[Progress], None] | None = None,
               on_progress: Callable[[Progress], None] | None = None, corpus: Corpus | None = None,
               base_sha256: str | None = None) -> CorpusRun:
    """Simulate every torrent of a corpus file into the run directory ``out``; totals per replication.

    ``limit``: only the first ``limit`` torrents (a slice of a large corpus, recorded in the manifest).
    ``corpus`` (with ``base_sha256``): that corpus, already loaded (a re-run from a run directory).
    """
    if table_format not in corpus_table.FORMATS:
        raise UserError(f"--table-format {table_format!r}: allowed: {', '.join(corpus_table.FORMATS)}")
    corpus_file = Path(corpus_file)
    corpus = corpus or load_corpus(corpus_file)
    if limit is not None:
        if limit < 1:
            raise UserError(f"--limit {limit}: at least 1 torrent")
        corpus.torrents = corpus.torrents[:limit]
    T = len(corpus.torrents)
    n = runs or corpus.meta.replications
    workers = workers or default_workers(n * T)
    sizes = [corpus.size_bytes(i) for i in range(T)]
    if not scheduler:  # the largest torrent's footprint stands for all (one per worker at a time)
        biggest = int(np.argmax([s // (r.piece_size or corpus.base.torrent.piece_size) * max(1, r.seeds)
                                 for s, r in zip(sizes, corpus.torrents)]))
        at_once = corpus.meta.session_settings.torrents_per_session if corpus.meta.model == "session" else 1
        check_run_size(corpus.scenario_for(biggest), min(n, workers) * at_once, workers,
                       f"{corpus_file} (torrent {corpus.torrents[biggest].name})")
    out = Path(out) if out else default_out(corpus.meta.name)
    command = command or ["leechsim", "corpus", str(corpus_file), "--runs", str(n), "--out", str(out)]
    started = utc_now()
    seeds = corpus.torrent_seeds()  # torrent i's seed does not depend on how many follow it (--limit)
    state = {"reps": 0, "torrents": 0}
    left = [n] * T
    if on_plan:
        on_plan(Progress(0, n * T, 0, T))

    def on_unit(torrent: int, k: int) -> None:
        state["reps"] += k
        left[torrent] -= k
        state["torrents"] += left[torrent] == 0
        if on_progress:
            on_progress(Progress(state["reps"], n * T, state["torrents"], T))

    session = corpus.meta.model == "session"
    with rundir.RunDirWriter(out, force=force) as w:
        table = simulate_corpus(corpus, n, workers, scheduler, block, on_unit)
        totals = corpus_totals(table)
        table_file = corpus_table.write_table(w.stage, table, table_format)
        atomic.write_bytes(w.stage / "corpus.toml", corpus.raw)
        if corpus.csv_raw is not None:  # the torrents as given: with corpus.toml and the base, the whole input
            atomic.write_bytes(w.stage / "torrents.input.csv", corpus.csv_raw)
        atomic.write_text(w.stage / "base.resolved.toml", rundir.resolved_toml(corpus.base))
        order = ("replication",) + TOTAL_FIELDS + ("subject_ratio_total", "subject_ratio_leech")
        atomic.write_columns_csv(w.stage / "totals.csv", {"replication": list(range(n)), **totals}, order)
        rows, per_summary = [], {}
        for i, row in enumerate(corpus.torrents):
            sl = slice(i * n, (i + 1) * n)
            agg = {k: _stats(table[k][sl]) for k in PER_TORRENT_FIELDS}
            per_summary[row.name] = {"master_seed": seeds[i], "headline": agg}
            up = agg["subject_upload_total_bytes"]
            rows.append([row.name, sizes[i], row.files, row.seeds, "" if row.leechers is None else row.leechers,
                         seeds[i], up["median"], up["p5"], up["p95"], agg["subject_upload_leech_bytes"]["median"],
                         up["mean"], agg["subject_download_bytes"]["mean"],
                         float(np.mean(table["subject_join_s"][sl]))])
        atomic.write_csv(w.stage / "torrents.csv",
                         ("name", "size_bytes", "files", "seeds", "leechers", "master_seed", "upload_median_bytes",
                          "upload_p5_bytes", "upload_p95_bytes", "upload_leech_median_bytes", "upload_mean_bytes",
                          "download_mean_bytes", "subject_join_s"), rows)
        summary = {"replications": n, "torrents": T, "corpus_size_bytes": int(sum(sizes)), "model": corpus.meta.model,
                   "total": {k: _stats(v.astype(np.float64)) for k, v in totals.items()}, "per_torrent": per_summary,
                   "per_replication_table": table_file}
        atomic.write_json(w.stage / "summary.json", summary)
        base_sha256 = base_sha256 or scenario_sha256(corpus_file.parent / corpus.meta.base)
        atomic.write_json(w.stage / "manifest.json", rundir.manifest(
            "corpus", command, hashlib.sha256(corpus.raw).hexdigest(), started, corpus_file=str(corpus_file),
            base_sha256=base_sha256,
            torrents_csv_sha256=hashlib.sha256(corpus.csv_raw).hexdigest() if corpus.csv_raw is not None else None,
            replications=n, torrents=T, torrent_limit=limit,
            corpus_seed=corpus.meta.seed, corpus_model=corpus.meta.model,
            corpus_session=corpus.meta.session_settings.model_dump() if session else None,
            torrent_seed_rule="torrent i uses SeedSequence(corpus.seed).spawn(T)[i] (first 64-bit word >> 1) as its "
                              "master seed; " + (SESSION_SEED_RULE if session else SEED_RULE),
            replication_stop_rule=SESSION_STOP_RULE if session else STOP_RULE,
            idle_prefix_rule=IDLE_RULE if corpus.meta.skip_idle_prefix else None,
            work_unit_replications=block, per_replication_table=table_file,
            workers=None if scheduler else workers, scheduler=scheduler))
        published = w.publish()
    return CorpusRun(published, corpus.meta.name, rows, summary, table_file)


def rerun_corpus(root: Path, out: Path, workers: int | None = None) -> CorpusRun:
    """Re-run a corpus run directory from what it stores (corpus.toml, torrents.input.csv,
    base.resolved.toml) and its manifest, into ``out``."""
    import tomllib

    from sim.scenario import parse_scenario

    root = Path(root)
    man = rundir.read_manifest(root)

    def bad(field: str, allowed: str) -> rundir.RunDirError:
        return rundir.RunDirError(f"{root / rundir.MANIFEST}: field '{field}' is {man.get(field)!r}; a re-run needs {allowed}")

    def whole(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not whole(man.get("replications")) or not 1 <= man["replications"] <= 1_000_000:
        raise bad("replications", "a whole number from 1 to 1,000,000")
    limit = man.get("torrent_limit")
    if limit is not None and (not whole(limit) or limit < 1):
        raise bad("torrent_limit", "null or a whole number >= 1")
    fmt = {v: k for k, v in corpus_table.FORMATS.items()}.get(man.get("per_replication_table"))
    if fmt is None:
        raise bad("per_replication_table", " or ".join(corpus_table.FORMATS.values()))
    raw = (root / "corpus.toml").read_bytes()
    if hashlib.sha256(raw).hexdigest() != man.get("scenario_sha256"):
        raise rundir.RunDirError(f"{root / 'corpus.toml'}: does not match the manifest's scenario_sha256")
    try:
        base = parse_scenario(tomllib.loads((root / "base.resolved.toml").read_text()), str(root / "base.resolved.toml"))
    except (ScenarioError, tomllib.TOMLDecodeError) as e:
        raise rundir.RunDirError(f"{root / 'base.resolved.toml'}: cannot be read back: {e}") from None
    stored_csv = root / "torrents.input.csv"
    csv_raw = stored_csv.read_bytes() if stored_csv.is_file() else None
    corpus = load_corpus(root / "corpus.toml", stored=(raw, base, csv_raw))
    command = ["leechsim", "corpus", str(root / "corpus.toml"), "--runs", str(man["replications"]),
               *(["--limit", str(limit)] if limit else []), "--table-format", fmt, "--out", str(out)]
    return run_corpus(root / "corpus.toml", out, runs=man["replications"], workers=workers, limit=limit,
                      table_format=fmt, corpus=corpus, base_sha256=man.get("base_sha256"), command=command)
