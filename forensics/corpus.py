"""A corpus: many torrents, one subject — the total a court asks about. This module: the corpus file.

A corpus file names a base scenario (the swarm and subject settings every torrent shares) and the
torrents, inline or from a CSV (for example a tracker scrape): name, total size, number of files,
seeds and leechers, optionally piece size, the leechers' arrival rate and the time the subject
added the torrent. Each torrent becomes the base scenario with those values; its replications run
with a master seed derived from the corpus seed and the torrent's position.

Two models of how the client held the torrents (``model``):

- ``"independent"``: each torrent as if the client had it to itself (its own unchoke slots, its own
  rate limits);
- ``"session"``: one libtorrent session holds the torrents (sim/session.py): the session-wide
  choker, rate limits and connection limit, and the auto-manage queue feeding them in corpus
  order (``active_downloads`` of them downloading at once). The corpus is cut into consecutive
  sessions of ``torrents_per_session`` torrents (``[corpus.session]``); each is one session run,
  each torrent added at its ``subject_join_s`` on the session's clock (its swarm's clock), and
  sessions do not overlap. The subject's settings are the base scenario's ``[subject]``.

Either way replication r of the corpus total is the sum of replication r of every torrent, and the
intervals of the total come from those sums.

    [corpus]
    name = "annas-archive-sample"
    base = "base.toml"              # relative to the corpus file
    replications = 50
    seed = 1
    model = "independent"           # or "session" (then [corpus.session], optional)
    skip_idle_prefix = false        # independent only: skip the swarms' seeds-only start (sim/warm_start.py)
    torrents_csv = "torrents.csv"   # columns: name,total_size,files,seeds,leechers[,piece_size]
                                    #   [,leecher_arrivals_per_h][,subject_join_s]

    [corpus.session]                # model = "session" only; libtorrent's defaults shown
    torrents_per_session = 10       # consecutive torrents of the corpus in one session run
    auto_managed = true             # torrents fed through the auto-manage queue, in corpus order
    active_downloads = 3
    active_seeds = 5
    active_limit = 500

    [corpus.file_sizes]             # optional: each torrent's files drawn, not equal-sized
    dist = "lognormal"
    median = 7739920                # bytes
    sigma = 1.0
    seed = 2023                     # torrent i's sizes: SeedSequence(seed, spawn_key=(i,))

    [[torrents]]                    # and/or inline entries with the same keys
    name = "lgli-000"
    total_size = "60GB"
    files = 3000
    seeds = 3
    leechers = 4

With ``[corpus.file_sizes]``, a torrent's total size is the sum of its drawn files; a row may still
give ``total_size`` (a generated CSV does, so that it can be read alone) and must then match.
``leechers`` is the flash crowd's size, or with a Poisson base the cap on arrivals;
``leecher_arrivals_per_h`` (Poisson base only) sets the arrival rate; ``subject_join_s`` sets when
the subject added the torrent, on that torrent's swarm clock.
"""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim import limits
from sim.scenario import (Scenario, ScenarioError, Size, format_validation_error, load_scenario, read_capped,
                          read_scenario_bytes)
from sim.session_config import MAX_TORRENTS as SESSION_MAX_TORRENTS

from .errors import UserError

CORPUS_MODELS = ("independent", "session")
MAX_TORRENTS = 100_000
MAX_CSV_BYTES = 64 * 2**20  # 100,000 rows of a few hundred bytes


class FileSizes(BaseModel):
    """Each torrent's file sizes drawn from a distribution (``[corpus.file_sizes]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    dist: Literal["lognormal"]
    median: Size
    sigma: float = Field(gt=0, le=5)
    seed: int = Field(ge=0, lt=2**63)

    def draw(self, torrent_index: int, files: int) -> np.ndarray:
        """Torrent ``torrent_index``'s file sizes in bytes (integers >= 1), the same on every machine."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(torrent_index,)))
        sizes = np.floor(self.median * np.exp(self.sigma * rng.standard_normal(files)))
        return np.maximum(sizes, 1).astype(np.int64)


class TorrentRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=200)
    total_size: Size | None = None
    files: int = Field(1, ge=1, le=1_000_000)
    seeds: int = Field(ge=0, le=limits.MAX_SEEDS)
    leechers: int | None = Field(None, ge=0, le=limits.MAX_LEECHERS)
    piece_size: Size | None = None
    leecher_arrivals_per_h: float | None = Field(None, gt=0, le=1e6, allow_inf_nan=False)
    subject_join_s: float | None = Field(None, ge=0, le=limits.MAX_TIME_S, allow_inf_nan=False)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if v != v.strip() or any(c in v for c in "/\\\0\n\r"):
            raise ValueError("a torrent name may not contain '/', '\\', line breaks or surrounding spaces")
        return v


class CorpusSession(BaseModel):
    """How ``model = "session"`` maps the corpus onto client sessions (``[corpus.session]``): the
    auto-manage queue's settings (settings_pack names, libtorrent's defaults) and how many
    consecutive torrents one session run holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    torrents_per_session: int = Field(10, ge=1, le=SESSION_MAX_TORRENTS)
    auto_managed: bool = True
    active_downloads: int = Field(3, ge=1, le=SESSION_MAX_TORRENTS)
    active_seeds: int = Field(5, ge=0, le=SESSION_MAX_TORRENTS)
    active_limit: int = Field(500, ge=1, le=SESSION_MAX_TORRENTS)


class CorpusMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "corpus"
    base: str
    replications: int = Field(20, ge=1, le=limits.MAX_REPLICATIONS)
    seed: int = Field(1, ge=0, lt=2**63)
    torrents_csv: str | None = None
    model: str = "independent"
    session: CorpusSession | None = None
    file_sizes: FileSizes | None = None
    # model 'independent': skip each swarm's idle prefix (only seeds there; sim/warm_start.py): the
    # subject's numbers keep their distribution, not their values (a replication is no longer
    # ``simulate``'s replication with the same seed)
    skip_idle_prefix: bool = Field(False, strict=True)

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        if v not in CORPUS_MODELS:
            raise ValueError(f"unknown model {v!r}; allowed: 'independent' (each torrent as if the client had it "
                             "to itself) or 'session' (one client session: shared unchoke slots, rate limits, "
                             "connection limit, auto-manage queue)")
        return v

    @model_validator(mode="after")
    def _session_only_with_its_model(self) -> "CorpusMeta":
        if self.session is not None and self.model != "session":
            raise ValueError(f"[corpus.session] applies only with model = 'session' (model is {self.model!r})")
        if self.skip_idle_prefix and self.model != "independent":
            raise ValueError("skip_idle_prefix applies only with model = 'independent' (a session's torrents share "
                             "one clock)")
        return self

    @property
    def session_settings(self) -> CorpusSession:
        """``[corpus.session]``, or its defaults (libtorrent's) when a session corpus leaves it out."""
        return self.session or CorpusSession()


class CorpusFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    corpus: CorpusMeta
    torrents: tuple[TorrentRow, ...] = Field((), strict=False)


class Corpus:
    """A loaded corpus file: its settings, base scenario and torrents (validated, all of them)."""

    def __init__(self, meta: CorpusMeta, base: Scenario, torrents: list[TorrentRow], source: Path,
                 raw: bytes | None = None) -> None:
        self.meta, self.base, self.torrents, self.source = meta, base, torrents, source
        self.raw = raw  # the corpus file's bytes as read (once: it may be a pipe)
        self.csv_raw: bytes | None = None  # the torrents CSV's bytes as read

    def size_bytes(self, index: int) -> int:
        return torrent_size_bytes(self.torrents[index], index, self.meta.file_sizes)

    def changes_for(self, index: int, with_files: bool = True) -> dict[str, object]:
        """The dotted-key changes that turn the base scenario into torrent ``index``'s scenario."""
        return torrent_changes(self.base, self.torrents[index], index, self.meta.file_sizes, self.source, with_files)

    def scenario_for(self, index: int) -> Scenario:
        """Torrent ``index``: the base scenario with its content, swarm size and add time."""
        try:
            return self.base.with_changes(**self.changes_for(index))
        except ScenarioError as e:
            raise UserError(f"{self.source}: torrent '{self.torrents[index].name}' makes an invalid scenario:\n{e}") from None

    def check(self) -> None:
        """Every torrent makes a valid scenario (a UserError naming the first that does not)."""
        for i, row in enumerate(self.torrents):
            try:
                self.base.with_changes(**self.changes_for(i, with_files=False))
            except ScenarioError as e:
                raise UserError(f"{self.source}: torrent '{row.name}' makes an invalid scenario:\n{e}") from None

    def variant(self, base_changes: dict[str, object] | None = None, arrival_scale: float = 1.0,
                limit: int | None = None) -> "Corpus":
        """The same corpus with base-scenario changes (dotted keys, as ``--set``), every torrent's leecher
        arrival rate scaled, and/or only its first ``limit`` torrents; seeds and file sizes unchanged."""
        try:
            base = self.base.with_changes(**base_changes) if base_changes else self.base
        except ScenarioError as e:
            raise UserError(f"{self.source}: a variant of the base scenario is invalid:\n{e}") from None
        rows = self.torrents[:limit] if limit else list(self.torrents)
        if arrival_scale != 1.0:
            rows = [r.model_copy(update={"leecher_arrivals_per_h": r.leecher_arrivals_per_h * arrival_scale})
                    if r.leecher_arrivals_per_h is not None else r for r in rows]
        out = Corpus(self.meta, base, rows, self.source, self.raw)
        out.csv_raw = self.csv_raw
        out.check()
        return out

    def torrent_seeds(self) -> list[int]:
        children = np.random.SeedSequence(self.meta.seed).spawn(len(self.torrents))
        return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def torrent_size_bytes(row: TorrentRow, index: int, file_sizes: FileSizes | None) -> int:
    return int(file_sizes.draw(index, row.files).sum()) if file_sizes is not None else int(row.total_size)


def torrent_changes(base: Scenario, row: TorrentRow, index: int, file_sizes: FileSizes | None, source: Path | str,
                    with_files: bool = True) -> dict[str, object]:
    """The dotted-key changes that make torrent ``index`` (``row``) of a corpus out of its base scenario.

    A function of these values alone, so a worker process rebuilds the scenario from them (a
    corpus of 5,000 torrents x 1,000 files is never held in memory as scenarios at once).
    ``with_files=False``: one file of the same total size, for checking a row cheaply.
    """
    changes: dict[str, object] = {
        "scenario.name": row.name,
        "torrent.piece_size": row.piece_size or base.torrent.piece_size,
        "swarm.seeds.count": row.seeds,
    }
    sizes: list[int] | np.ndarray | None = None
    if file_sizes is not None:
        sizes = file_sizes.draw(index, row.files)
    elif row.files > 1:  # equal-sized files: the file count matters for per-file exposure, sizes are unknown
        each, rest = divmod(row.total_size, row.files)
        sizes = [each + (1 if i < rest else 0) for i in range(row.files)]
    if sizes is None or not with_files:
        changes.update({"torrent.total_size": torrent_size_bytes(row, index, file_sizes), "torrent.files": None})
    else:
        changes.update({"torrent.total_size": None, "torrent.files": [
            {"path": f"{row.name}/{i:05d}", "size": int(s)} for i, s in enumerate(sizes)]})
    lee = base.swarm.leechers
    if lee.arrival == "list":
        raise UserError(f"{source}: base scenario uses arrival 'list', which a corpus cannot scale; "
                        "use 'flash_crowd' or 'poisson'")
    if row.leecher_arrivals_per_h is not None:
        if lee.arrival != "poisson":
            raise UserError(f"{source}: torrent '{row.name}': leecher_arrivals_per_h needs a base scenario "
                            f"with swarm.leechers.arrival = 'poisson' (it has '{lee.arrival}')")
        changes["swarm.leechers.rate_per_s"] = row.leecher_arrivals_per_h / 3600.0
    if row.leechers is not None:
        changes["swarm.leechers.count"] = row.leechers
    elif lee.arrival == "flash_crowd":
        raise UserError(f"{source}: torrent '{row.name}': 'leechers' is required with a flash-crowd base")
    if row.subject_join_s is not None:
        changes["subject.join_s"] = row.subject_join_s
    return changes


def _format(err: ValidationError, data: dict, source: str) -> str:
    return format_validation_error(err, data, source, CorpusFile).replace("invalid scenario", "invalid corpus")


def load_corpus(path: str | Path, *, stored: tuple[bytes, Scenario, bytes | None] | None = None) -> Corpus:
    """Read and check a corpus file, its torrents CSV and base scenario; a UserError (exit 2) if any is wrong.

    ``stored``: the corpus file's bytes, its base scenario and its torrents CSV's bytes as a run
    directory keeps them (a re-run reads nothing else; ``path`` then only names the source).
    """
    path = Path(path)
    if stored is not None:
        raw = stored[0]
    else:
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
    csv_raw = None
    if parsed.corpus.torrents_csv:
        if stored is not None:
            if stored[2] is None:
                raise UserError(f"{path}: names a torrents CSV, but none was stored with it")
            from_csv, csv_raw = _parse_csv(stored[2], path.parent / "torrents.input.csv"), stored[2]
        else:
            from_csv, csv_raw = _read_csv(path.parent / parsed.corpus.torrents_csv)
        rows += from_csv
    if not rows:
        raise UserError(f"{path}: the corpus lists no torrents (give [[torrents]] or corpus.torrents_csv)")
    if len(rows) > MAX_TORRENTS:
        raise UserError(f"{path}: {len(rows):,} torrents; at most {MAX_TORRENTS:,} in one corpus")
    seen: set[str] = set()
    dup = sorted({r.name for r in rows if r.name in seen or seen.add(r.name)})
    if dup:
        raise UserError(f"{path}: torrent names must be unique; repeated: {', '.join(dup[:10])}")
    try:
        base = stored[1] if stored is not None else load_scenario(path.parent / parsed.corpus.base)
    except ScenarioError as e:
        raise UserError(f"{path}: corpus.base: {e}") from None
    if parsed.corpus.model == "session" and base.subject.profile != "libtorrent":
        raise UserError(f"{path}: model 'session' needs a libtorrent subject; corpus.base's subject.profile is "
                        f"{base.subject.profile!r} (allowed with a session: 'libtorrent')")
    corpus = Corpus(parsed.corpus, base, rows, path, raw)
    corpus.csv_raw = csv_raw
    _check_sizes(corpus)
    corpus.check()
    return corpus


def _check_sizes(corpus: Corpus) -> None:
    """Each torrent has a size: given, drawn, or both and equal."""
    for i, row in enumerate(corpus.torrents):
        if corpus.meta.file_sizes is None:
            if row.total_size is None:
                raise UserError(f"{corpus.source}: torrent '{row.name}': 'total_size' is required (or give "
                                f"[corpus.file_sizes] to draw each torrent's files)")
            continue
        drawn = corpus.size_bytes(i)
        if row.total_size is not None and row.total_size != drawn:
            raise UserError(f"{corpus.source}: torrent '{row.name}': total_size {row.total_size:,} differs from the sum "
                            f"of its {row.files:,} files drawn from corpus.file_sizes ({drawn:,}); the CSV was made "
                            f"with another distribution or seed")


def _read_csv(csv_path: Path) -> tuple[list[TorrentRow], bytes]:
    """The torrents of a CSV file and the file's bytes (read once; a run directory keeps them)."""
    raw = read_capped(csv_path, MAX_CSV_BYTES, "torrents CSV file", UserError)
    return _parse_csv(raw, csv_path), raw


def _parse_csv(raw: bytes, csv_path: Path) -> list[TorrentRow]:
    """Torrent rows from a CSV file's bytes; ``csv_path`` names it in messages."""
    try:
        with io.StringIO(raw.decode("utf-8"), newline="") as f:
            reader = csv.DictReader(f)
            rows = []
            for line, rec in enumerate(reader, start=2):
                if None in rec:
                    raise UserError(f"{csv_path}: line {line} has more cells than the header")
                rec = {k.strip(): v.strip() for k, v in rec.items() if k is not None and v not in (None, "")}
                for key in ("files", "seeds", "leechers", "total_size"):
                    if key in rec and rec[key].isdigit():
                        rec[key] = int(rec[key])
                try:
                    rows.append(TorrentRow.model_validate(rec))
                except ValidationError as err:
                    first = err.errors(include_url=False)[0]
                    key = ".".join(str(p) for p in first["loc"])
                    if first["type"] == "extra_forbidden":
                        allowed = ", ".join(TorrentRow.model_fields)
                        raise UserError(f"{csv_path}: unknown column '{key}'; allowed columns: {allowed}") from None
                    raise UserError(f"{csv_path}: line {line}, column '{key}': {first['msg'].removeprefix('Value error, ')} "
                                    f"(got {rec.get(key)!r})") from None
            return rows
    except UnicodeDecodeError as e:
        raise UserError(f"{csv_path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise UserError(f"{csv_path}: not a CSV file this can read ({e})") from None

