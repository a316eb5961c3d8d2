"""A corpus: many torrents, one subject — the total a court asks about.

A corpus file names a base scenario (the swarm and subject settings every torrent shares) and the
torrents, inline or from a CSV (for example a tracker scrape): name, total size, number of files,
seeds and leechers, optionally piece size. Each torrent becomes the base scenario with those
values; its replications run with a master seed derived from the corpus seed and the torrent's
position. Torrents are independent, so replication r of the corpus total is the sum of
replication r of every torrent, and the intervals of the total come from those sums.

    [corpus]
    name = "annas-archive-sample"
    base = "base.toml"              # relative to the corpus file
    replications = 50
    seed = 1
    torrents_csv = "torrents.csv"   # columns: name,total_size,files,seeds,leechers[,piece_size]

    [[torrents]]                    # and/or inline entries with the same keys
    name = "lgli-000"
    total_size = "60GB"
    files = 3000
    seeds = 3
    leechers = 4
"""

from __future__ import annotations

import csv
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.montecarlo import SEED_RULE, default_workers, run_replications
from sim.results import ReplicationResult, aggregate
from sim.scenario import (Scenario, ScenarioError, Size, format_validation_error, load_scenario, read_scenario_bytes,
                          scenario_sha256)

from . import atomic, rundir
from .capacity import check_run_size
from .errors import UserError
from .provenance import utc_now
from .runs import default_out

TOTAL_FIELDS = ("subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_upload_total_bytes",
                "subject_download_bytes", "peers_received_piece", "files_with_complete_copy")


class TorrentRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    total_size: Size
    files: int = Field(1, ge=1, le=1_000_000)
    seeds: int = Field(ge=0, le=100_000)
    leechers: int = Field(ge=0, le=1_000_000)
    piece_size: Size | None = None


class CorpusMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "corpus"
    base: str
    replications: int = Field(20, ge=1, le=1_000_000)
    seed: int = Field(1, ge=0, lt=2**63)
    torrents_csv: str | None = None


class CorpusFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    corpus: CorpusMeta
    torrents: tuple[TorrentRow, ...] = ()


class Corpus:
    def __init__(self, meta: CorpusMeta, base: Scenario, torrents: list[TorrentRow], source: Path,
                 raw: bytes | None = None) -> None:
        self.meta, self.base, self.torrents, self.source = meta, base, torrents, source
        self.raw = raw  # the corpus file's bytes as read (once: it may be a pipe)

    def scenario_for(self, row: TorrentRow) -> Scenario:
        """The base scenario with this torrent's content and swarm size."""
        piece = row.piece_size or self.base.torrent.piece_size
        changes: dict[str, object] = {
            "scenario.name": row.name,
            "torrent.piece_size": piece,
            "swarm.seeds.count": row.seeds,
        }
        if row.files == 1:
            changes.update({"torrent.total_size": row.total_size, "torrent.files": None})
        else:  # equal-sized files: the file count matters for per-file exposure, sizes are unknown
            each, rest = divmod(row.total_size, row.files)
            changes.update({"torrent.total_size": None, "torrent.files": [
                {"path": f"{row.name}/{i:05d}", "size": each + (1 if i < rest else 0)} for i in range(row.files)]})
        lee = self.base.swarm.leechers
        if lee.arrival == "poisson":
            changes["swarm.leechers.count"] = row.leechers
        elif lee.arrival == "flash_crowd":
            changes["swarm.leechers.count"] = row.leechers
        else:
            raise UserError(f"{self.source}: base scenario uses arrival 'list', which a corpus cannot scale; "
                            "use 'flash_crowd' or 'poisson'")
        try:
            return self.base.with_changes(**changes)
        except ScenarioError as e:
            raise UserError(f"{self.source}: torrent '{row.name}' makes an invalid scenario:\n{e}") from None

    def torrent_seeds(self) -> list[int]:
        children = np.random.SeedSequence(self.meta.seed).spawn(len(self.torrents))
        return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def _format(err: ValidationError, data: dict, source: str) -> str:
    return format_validation_error(err, data, source, CorpusFile).replace("invalid scenario", "invalid corpus")


def load_corpus(path: str | Path) -> Corpus:
    path = Path(path)
    try:
        raw = read_scenario_bytes(path)  # the same size cap and single read as a scenario file
    except ScenarioError as e:
        raise UserError(str(e).replace("scenario file", "corpus file")) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a valid TOML file: {e}") from None
    except RecursionError:
        raise UserError(f"{path}: arrays or tables nested too deeply to read") from None
    try:
        parsed = CorpusFile.model_validate(data)
    except ValidationError as err:
        raise UserError(_format(err, data, str(path))) from None
    rows = list(parsed.torrents)
    if parsed.corpus.torrents_csv:
        rows += _read_csv(path.parent / parsed.corpus.torrents_csv)
    if not rows:
        raise UserError(f"{path}: the corpus lists no torrents (give [[torrents]] or corpus.torrents_csv)")
    names = [r.name for r in rows]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"{path}: torrent names must be unique; repeated: {', '.join(dup)}")
    try:
        base = load_scenario(path.parent / parsed.corpus.base)
    except ScenarioError as e:
        raise UserError(f"{path}: corpus.base: {e}") from None
    return Corpus(parsed.corpus, base, rows, path, raw)


def _read_csv(csv_path: Path) -> list[TorrentRow]:
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = []
            for line, rec in enumerate(reader, start=2):
                rec = {k.strip(): v.strip() for k, v in rec.items() if k is not None and v not in (None, "")}
                for key in ("files", "seeds", "leechers"):
                    if key in rec and rec[key].isdigit():
                        rec[key] = int(rec[key])
                if "total_size" in rec and rec["total_size"].isdigit():
                    rec["total_size"] = int(rec["total_size"])
                try:
                    rows.append(TorrentRow.model_validate(rec))
                except ValidationError as err:
                    first = err.errors(include_url=False)[0]
                    key = ".".join(str(p) for p in first["loc"])
                    raise UserError(f"{csv_path}: line {line}, column '{key}': {first['msg']} "
                                    f"(got {rec.get(key)!r})") from None
            return rows
    except FileNotFoundError:
        raise UserError(f"{csv_path}: no such torrents CSV file") from None


def corpus_totals(per_torrent: list[list[ReplicationResult]]) -> dict[str, np.ndarray]:
    """Per replication r: the sum over torrents of replication r's quantities."""
    n = len(per_torrent[0])
    return {key: np.array([sum(float(rs[r].headline[key]) for rs in per_torrent) for r in range(n)])
            for key in TOTAL_FIELDS}


@dataclass(frozen=True)
class CorpusRun:
    """A published corpus run directory: per-torrent rows (as in torrents.csv) and summary.json."""

    root: Path
    name: str
    rows: list[list]
    summary: dict


def _stats(values: np.ndarray) -> dict[str, float]:
    p5, med, p95 = np.percentile(values, [5, 50, 95])
    return {"median": float(med), "mean": float(values.mean()), "p5": float(p5), "p95": float(p95)}


def run_corpus(corpus_file: str | Path, out: str | Path | None = None, *, runs: int | None = None,
               workers: int | None = None, scheduler: str | None = None, force: bool = False,
               command: list[str] | None = None, on_plan: Callable[[int], None] | None = None,
               on_torrent: Callable[[str], None] | None = None,
               on_done: Callable[[int], None] | None = None) -> CorpusRun:
    """Simulate every torrent of a corpus file into the run directory ``out``; totals per replication."""
    corpus_file = Path(corpus_file)
    corpus = load_corpus(corpus_file)
    n = runs or corpus.meta.replications
    workers = workers or default_workers(n)
    scenarios = [corpus.scenario_for(row) for row in corpus.torrents]
    seeds = corpus.torrent_seeds()
    if not scheduler:
        for row, sc in zip(corpus.torrents, scenarios):
            check_run_size(sc, n, workers, f"{corpus_file} (torrent {row.name})")
    out = Path(out) if out else default_out(corpus.meta.name)
    command = command or ["leechsim", "corpus", str(corpus_file), "--runs", str(n), "--out", str(out)]
    started = utc_now()
    if on_plan:
        on_plan(n * len(scenarios))
    with rundir.RunDirWriter(out, force=force) as w:
        per_torrent = []
        for sc, seed in zip(scenarios, seeds):
            if on_torrent:
                on_torrent(sc.name)
            try:
                per_torrent.append(run_replications(sc, n, seed, workers, scheduler=scheduler, on_done=on_done))
            except ImportError as e:  # --scheduler without the distributed extra
                raise UserError(str(e)) from None
        totals = corpus_totals(per_torrent)
        atomic.write_bytes(w.stage / "corpus.toml", corpus.raw)
        atomic.write_text(w.stage / "base.resolved.toml", rundir.resolved_toml(corpus.base))
        atomic.write_columns_csv(w.stage / "totals.csv", {"replication": list(range(n)), **totals},
                                 ("replication",) + TOTAL_FIELDS)
        rows, per_summary = [], {}
        for row, sc, seed, rs in zip(corpus.torrents, scenarios, seeds, per_torrent):
            agg = aggregate(rs)
            per_summary[row.name] = {"master_seed": seed, "headline": agg}
            up = agg["subject_upload_total_bytes"]
            rows.append([row.name, sc.torrent.size_bytes, row.files, row.seeds, row.leechers, seed,
                         up["median"], up["p5"], up["p95"], agg["subject_upload_leech_bytes"]["median"]])
        atomic.write_csv(w.stage / "torrents.csv",
                         ("name", "size_bytes", "files", "seeds", "leechers", "master_seed", "upload_median_bytes",
                          "upload_p5_bytes", "upload_p95_bytes", "upload_leech_median_bytes"), rows)
        summary = {"replications": n, "torrents": len(scenarios),
                   "corpus_size_bytes": int(sum(sc.torrent.size_bytes for sc in scenarios)),
                   "total": {k: _stats(v) for k, v in totals.items()}, "per_torrent": per_summary}
        atomic.write_json(w.stage / "summary.json", summary)
        atomic.write_json(w.stage / "manifest.json", rundir.manifest(
            "corpus", command, hashlib.sha256(corpus.raw).hexdigest(), started, corpus_file=str(corpus_file),
            base_sha256=scenario_sha256(corpus_file.parent / corpus.meta.base), replications=n,
            corpus_seed=corpus.meta.seed, torrent_seed_rule="torrent i uses SeedSequence(corpus.seed).spawn(T)[i]"
            " (first 64-bit word >> 1) as its master seed; " + SEED_RULE,
            workers=None if scheduler else workers, scheduler=scheduler))
        published = w.publish()
    return CorpusRun(published, corpus.meta.name, rows, summary)
