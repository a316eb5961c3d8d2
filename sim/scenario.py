"""The scenario: one TOML schema shared by the simulator and the real lab.

Validated once, at the boundary, by pydantic models that forbid unknown keys (a typo must never
fall back to a default silently), take no lenient coercions (``connectable = "yes"`` and
``count = "3"`` are refused, not guessed), refuse ``inf`` and ``nan`` and every number outside
its documented range (``sim.limits``), and are frozen afterwards: the rest of the code trusts them.
``load_scenario`` turns every validation problem into a ``ScenarioError`` whose message names the
file, the key path, the value given and what is allowed.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from . import limits
from .distributions import Dist, parse_dist
from .units import RATE_HELP, format_bytes, parse_rate, parse_size

from .protocol import BLOCK_BYTES


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is meant for the user, verbatim."""


def _size(v: object) -> int:
    return parse_size(v)


def _rate(v: object) -> int:
    bps = parse_rate(v)
    if not 0 <= bps <= limits.MAX_RATE_BPS:
        raise ValueError(f"a rate must be in [0, {limits.MAX_RATE_BPS:,}] bytes/s (100 GB/s)")
    return bps


def _seconds(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError("expected a number of seconds")
    if not math.isfinite(v) or not 0 <= v <= limits.MAX_TIME_S:
        raise ValueError(f"a time must be a finite number of seconds in [0, {limits.MAX_TIME_S:.0f}] (ten years), "
                         f"got {v!r}")
    return float(v)


_SIZE_RANGE = f"at most {limits.MAX_SIZE_BYTES:,} bytes ({format_bytes(limits.MAX_SIZE_BYTES)})"
RATE_RANGE_HELP = f"{RATE_HELP}, at most 100 GB/s"
Size = Annotated[int, BeforeValidator(_size), Field(ge=1, le=limits.MAX_SIZE_BYTES)]
FileSize = Annotated[int, BeforeValidator(_size), Field(ge=0, le=limits.MAX_SIZE_BYTES)]  # real torrents hold empty files
Rate = Annotated[int, BeforeValidator(_rate), Field(ge=0, le=limits.MAX_RATE_BPS)]
Seconds = Annotated[float, Field(ge=0, le=limits.MAX_TIME_S)]
RateDist = Annotated[Dist, BeforeValidator(lambda v: parse_dist(v, _rate, RATE_RANGE_HELP))]
SecondsDist = Annotated[Dist, BeforeValidator(lambda v: parse_dist(v, _seconds, "a number of seconds"))]
# a settings_pack int that counts bytes (the send buffer watermarks): bytes or a size ("500KiB"),
# at least 1 (a watermark of 0 reads no block, so nothing is ever sent) and within libtorrent's int
SettingBytes = Annotated[int, BeforeValidator(_size), Field(ge=1, le=2**31 - 1)]


class _Strict(BaseModel):
    # strict: a string is never a number or a boolean, a number never a boolean; allow_inf_nan: off
    # for every float field (the helpers above check their own values).
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, strict=True,
                              allow_inf_nan=False)


class FileEntry(_Strict):
    path: str = Field(min_length=1, max_length=4096)
    size: FileSize


class Torrent(_Strict):
    """The content: a total size (one file) or a list of files, cut into pieces."""

    piece_size: Annotated[Size, Field(le=limits.MAX_PIECE_BYTES)] = 256 * 1024
    total_size: Size | None = None
    files: tuple[FileEntry, ...] | None = Field(None, strict=False, max_length=1_000_000)  # a TOML array
    name: str = "payload"
    # A private torrent (BEP 27, the info dictionary's "private" flag): libtorrent runs no peer
    # exchange for it (ut_pex is off), so its peers learn of each other only from the tracker.
    private: bool = False

    @model_validator(mode="after")
    def _check(self) -> "Torrent":
        if (self.total_size is None) == (self.files is None):
            raise ValueError("give exactly one of 'total_size' or 'files'")
        ps = self.piece_size
        if ps < BLOCK_BYTES or ps & (ps - 1):
            raise ValueError(f"piece_size must be a power of two >= 16KiB, got {ps}")
        if self.files is not None:
            if not self.files:
                raise ValueError("'files' must not be empty")
            paths = [f.path for f in self.files]
            if len(set(paths)) != len(paths):
                raise ValueError("file paths must be unique")
        if not 0 < self.size_bytes <= limits.MAX_SIZE_BYTES:
            raise ValueError(f"the torrent's size (the files' sum) must be > 0 and {_SIZE_RANGE}, "
                             f"got {self.size_bytes:,}")
        return self

    @property
    def file_sizes(self) -> tuple[int, ...]:
        return tuple(f.size for f in self.files) if self.files else (int(self.total_size),)

    @property
    def file_paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files) if self.files else (self.name,)

    @property
    def size_bytes(self) -> int:
        return sum(self.file_sizes)

    @property
    def num_pieces(self) -> int:
        return -(-self.size_bytes // self.piece_size)


class LibtorrentSettings(_Strict):
    """The settings_pack fields the model honours, with libtorrent's own defaults and names."""

    upload_rate_limit: Rate = 0  # 0 = unlimited
    download_rate_limit: Rate = 0
    unchoke_slots_limit: int = Field(8, ge=1, le=1000)
    num_optimistic_unchoke_slots: int = Field(0, ge=0, le=1000)  # 0 = automatic: max(1, slots/5)
    connections_limit: int = Field(200, ge=2, le=100_000)
    choking_algorithm: Literal["fixed_slots_choker", "rate_based_choker"] = "fixed_slots_choker"
    seed_choking_algorithm: Literal["round_robin", "fastest_upload", "anti_leech"] = "round_robin"
    seeding_piece_quota: int = Field(20, ge=1)
    unchoke_interval: int = Field(15, ge=1, le=3600)
    optimistic_unchoke_interval: int = Field(30, ge=1, le=3600)
    whole_pieces_threshold: int = Field(20, ge=0, le=3600)  # 0: never ask for whole pieces
    allowed_fast_set_size: int = Field(5, ge=0, le=100)  # pieces a peer we choke may still request (BEP 6)
    # The send buffer (fill_send_buffer): blocks are read while it holds less than
    # send_buffer_watermark_factor % of what the connection sent in the last second, clamped to
    # [send_buffer_low_watermark, send_buffer_watermark] bytes. libtorrent's settings are ints (bytes).
    send_buffer_low_watermark: SettingBytes = 10 * 1024
    send_buffer_watermark: SettingBytes = 500 * 1024
    send_buffer_watermark_factor: int = Field(50, ge=0, le=10_000)  # percent
    # The request queue (update_desired_queue_size): request_queue_time seconds of the download rate
    # from a peer, at least 2 blocks and at most max_out_request_queue. Below 4 blocks is refused: a
    # connection starts with 4 requests (slow start), which libtorrent cuts to the limit only at its
    # next tick, and the model does not follow that first second. libtorrent keeps the limit in 16 bits.
    request_queue_time: int = Field(3, ge=0, le=3600)  # seconds
    max_out_request_queue: int = Field(500, ge=4, le=65_535)  # blocks
    # Transports (libtorrent's defaults: both on). The model does not tell TCP and uTP apart for
    # payload (the lab follows these: docs/lab.md, "Transport", which is how the matrix checks that it
    # need not); outgoing uTP only sets how a peer's connection to itself goes (utp_connect_timeout).
    enable_outgoing_utp: bool = True
    enable_incoming_utp: bool = True
    # utp_connect_timeout (ms, libtorrent's default 3,000): how long an outgoing uTP connection waits
    # for its SYN's answer. It sets how long a peer's connection to itself holds one of its
    # connection slots: the tracker names the peer to itself (opentracker does), libtorrent's
    # first try is uTP, which never gets through to its own socket, then TCP, which sees its own
    # peer id and bans the address (docs/model.md, "A peer's connection to itself").
    utp_connect_timeout: int = Field(3000, ge=1, le=3_600_000)
    # rate_limit_ip_overhead (libtorrent's default: on): every second the session takes its
    # connections' estimated TCP/IP overhead (a 40-byte header per 1,460 bytes sent or received) out
    # of its rate limits, so a limited peer carries that much less payload - the more so the more it
    # also receives. qBittorrent turns it off by default (Session\IncludeOverheadInLimits = false).
    rate_limit_ip_overhead: bool = True
    # torrent_connect_boost: the peers of a torrent's first tracker response connected at once
    # (torrent::do_connect_boost), not at the session's once-a-second tick (libtorrent's default: 30)
    torrent_connect_boost: int = Field(30, ge=0, le=65_535)

    @property
    def optimistic_slots(self) -> int:
        n = self.num_optimistic_unchoke_slots
        return n if n > 0 else max(1, self.unchoke_slots_limit // 5)


class Seeds(_Strict):
    count: int = Field(1, ge=0, le=limits.MAX_SEEDS)
    upload: RateDist = Dist.fixed(1_000_000)


class Leechers(_Strict):
    """Who downloads besides the subject, and when they arrive."""

    arrival: Literal["flash_crowd", "poisson", "list"] = "flash_crowd"
    count: int | None = Field(None, ge=0, le=limits.MAX_LEECHERS)  # flash_crowd: how many; poisson: optional cap
    at_s: Seconds = 0.0  # flash_crowd: when
    spread_s: Seconds = 0.0  # flash_crowd: joins spread uniformly over [at_s, at_s + spread_s]
    rate_per_s: float | None = Field(None, gt=0, le=limits.MAX_LEECHERS)  # poisson
    window_s: tuple[Seconds, Seconds] | None = Field(None, strict=False)  # poisson: [start, end)
    join_s: tuple[Seconds, ...] | None = Field(None, strict=False, max_length=limits.MAX_LEECHERS)  # list
    upload: RateDist = Dist.fixed(1_000_000)
    download: RateDist = Dist.fixed(10_000_000)
    seed_time: Annotated[Dist, BeforeValidator(lambda v: _seed_time(v))] = Dist.fixed(0.0)

    @model_validator(mode="after")
    def _check(self) -> "Leechers":
        if self.arrival == "flash_crowd":
            if self.count is None:
                raise ValueError("arrival 'flash_crowd' needs 'count'")
            self._forbid("rate_per_s", "window_s", "join_s")
        elif self.arrival == "poisson":
            if self.rate_per_s is None or self.window_s is None:
                raise ValueError("arrival 'poisson' needs 'rate_per_s' and 'window_s' = [start, end]")
            if not 0 <= self.window_s[0] < self.window_s[1]:
                raise ValueError(f"window_s must be [start, end] with 0 <= start < end, got {list(self.window_s)}")
            expected = self.rate_per_s * (self.window_s[1] - self.window_s[0])
            if self.count is None and expected > limits.MAX_LEECHERS:
                raise ValueError(f"rate_per_s x window = {expected:.3g} expected arrivals; at most "
                                 f"{limits.MAX_LEECHERS:,} leechers: shorten window_s, lower rate_per_s or cap "
                                 f"them with 'count'")
            self._forbid("join_s", "at_s", "spread_s")
        else:
            if self.join_s is None:
                raise ValueError("arrival 'list' needs 'join_s' = [t1, t2, ...]")
            if any(t < 0 for t in self.join_s):
                raise ValueError("join_s times must be >= 0")
            self._forbid("count", "rate_per_s", "window_s", "at_s", "spread_s")
        return self

    def _forbid(self, *keys: str) -> None:
        # A key counts as given when it differs from its default, so a resolved scenario
        # (which spells out every default) parses back to the same thing.
        defaults = {k: type(self).model_fields[k].default for k in keys}
        given = [k for k in keys if getattr(self, k) != defaults[k]]
        if given:
            raise ValueError(f"key(s) {given} do not apply to arrival '{self.arrival}'")


def _seed_time(v: object) -> Dist:
    """How long a leecher keeps seeding after completion: 'leave', 'forever', seconds or a dist."""
    if v == "leave":
        return Dist.fixed(0.0)
    if v == "forever":
        return Dist.fixed(float("inf"))
    return parse_dist(v, _seconds, "'leave', 'forever' or a number of seconds")


class ExplicitPeer(_Strict):
    """One peer given by hand or from evidence (``[[swarm.peer]]``), next to or instead of the
    generated population. ``leave_s`` is absolute: the peer leaves then, complete or not;
    ``seed_time`` (leechers only) counts from its completion, as for generated leechers."""

    id: str = ""  # an opaque label (e.g. from a monitoring log); never an address
    role: Literal["seed", "leecher"]
    join_s: Seconds = 0.0
    leave_s: Seconds | None = None
    # seconds after its completion, "leave" (0) or "forever"; kept as given (no inf in the schema)
    seed_time: Annotated[Literal["leave", "forever"] | float, BeforeValidator(lambda v: _seed_time_value(v))] | None = None
    upload: Rate = 1_000_000
    download: Rate = 10_000_000
    connectable: bool = True

    @model_validator(mode="after")
    def _check(self) -> "ExplicitPeer":
        if self.leave_s is not None and self.seed_time is not None:
            raise ValueError("give 'leave_s' (absolute) or 'seed_time' (after completion), not both")
        if self.leave_s is not None and self.leave_s <= self.join_s:
            raise ValueError(f"leave_s ({self.leave_s}) must be after join_s ({self.join_s})")
        if self.role == "seed" and self.seed_time is not None:
            raise ValueError("'seed_time' applies to leechers; a seed leaves at 'leave_s' or never")
        if self.role == "leecher" and self.download == 0:
            raise ValueError("a leecher's download capacity must be > 0")
        return self

    @property
    def seed_time_s(self) -> float:
        """Seconds it seeds after completing: a leecher's default is to leave (0); a seed: never leaves."""
        if self.role == "seed":
            return float("inf")
        if self.seed_time in (None, "leave"):
            return 0.0
        return float("inf") if self.seed_time == "forever" else float(self.seed_time)

    @property
    def leave_at_s(self) -> float:
        return float("inf") if self.leave_s is None else float(self.leave_s)


def _seed_time_value(v: object) -> object:
    """An explicit peer's seed_time as given: 'leave', 'forever' or seconds >= 0."""
    if v in ("leave", "forever"):
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= limits.MAX_TIME_S:
        raise ValueError(f"expected 'leave', 'forever' or a number of seconds in [0, {limits.MAX_TIME_S:.0f}]")
    return float(v)


class Swarm(_Strict):
    seeds: Seeds = Seeds()
    leechers: Leechers = Leechers(count=4)
    # [[swarm.peer]]: explicit peers, after the generated ones (a TOML array of tables)
    peer: tuple[ExplicitPeer, ...] = Field((), strict=False, max_length=limits.MAX_LEECHERS + limits.MAX_SEEDS)
    connectable_share: float = Field(1.0, ge=0, le=1)
    peer_list_size: int = Field(50, ge=1, le=1000)  # the tracker's numwant answer size
    announce_interval_s: float = Field(1800.0, ge=limits.MIN_ANNOUNCE_INTERVAL_S, le=limits.MAX_TIME_S)
    libtorrent: LibtorrentSettings = LibtorrentSettings()


class Subject(_Strict):
    """The client under examination."""

    join_s: Seconds = 0.0
    upload: Rate = 10_000_000  # link capacity; the libtorrent limit applies on top
    download: Rate = 10_000_000
    connectable: bool = True
    profile: Literal["libtorrent", "free_rider"] = "libtorrent"
    on_complete: Literal["stop", "seed_for", "seed_until_ratio", "never_stop"] = "stop"
    seed_for_s: Seconds | None = None
    seed_until_ratio: float | None = Field(None, gt=0, le=1e6)
    libtorrent: LibtorrentSettings = LibtorrentSettings()

    @model_validator(mode="after")
    def _check(self) -> "Subject":
        if self.on_complete == "seed_for" and self.seed_for_s is None:
            raise ValueError("on_complete 'seed_for' needs 'seed_for_s'")
        if self.on_complete == "seed_until_ratio" and self.seed_until_ratio is None:
            raise ValueError("on_complete 'seed_until_ratio' needs 'seed_until_ratio'")
        if self.seed_for_s is not None and self.on_complete != "seed_for":
            raise ValueError("'seed_for_s' only applies with on_complete = 'seed_for'")
        if self.seed_until_ratio is not None and self.on_complete != "seed_until_ratio":
            raise ValueError("'seed_until_ratio' only applies with on_complete = 'seed_until_ratio'")
        if self.download == 0:
            raise ValueError("subject download capacity must be > 0")
        return self

    @property
    def upload_bps(self) -> int:
        """Effective upload: link capacity, then the libtorrent limit; a free rider uploads nothing."""
        if self.profile == "free_rider":
            return 0
        lim = self.libtorrent.upload_rate_limit
        return min(self.upload, lim) if lim else self.upload

    @property
    def download_bps(self) -> int:
        lim = self.libtorrent.download_rate_limit
        return min(self.download, lim) if lim else self.download


class Simulation(_Strict):
    horizon_s: float = Field(6 * 3600.0, ge=limits.MIN_HORIZON_S, le=limits.MAX_HORIZON_S)
    replications: int = Field(100, ge=1, le=limits.MAX_REPLICATIONS)
    seed: int = Field(1, ge=0, lt=2**63)
    # libtorrent's tick_interval: the rate limiter's quota tick (500 ms); the once-a-second tick
    # runs every 1/tick_s quota ticks, so 1/tick_s must be a whole number.
    tick_s: float = Field(0.5, ge=limits.MIN_TICK_S, le=1)
    # the time series is sampled every so many ticks: a whole number of them, within the horizon
    sample_interval_s: float = Field(5.0, ge=limits.MIN_TICK_S, le=limits.MAX_HORIZON_S)

    @model_validator(mode="after")
    def _whole_ticks_per_second(self):
        per_s = 1.0 / self.tick_s
        if abs(per_s - round(per_s)) > 1e-9:
            raise ValueError(f"tick_s = {self.tick_s}: must divide one second evenly (0.5, 0.25, 0.1, 1, ...)")
        ticks = self.sample_interval_s / self.tick_s
        if ticks < 1 - 1e-9 or abs(ticks - round(ticks)) > 1e-9:
            raise ValueError(f"sample_interval_s = {self.sample_interval_s}: must be a whole number of ticks "
                             f"(tick_s = {self.tick_s}), at least one")
        return self


class ObservedEvidence(_Strict):
    """``[evidence]``: what the client's own counters (or other evidence) say happened, to be set
    against the simulated distribution of the same headline quantity. Names are headline names."""

    subject_upload_total_bytes: int | None = Field(None, ge=0, le=limits.MAX_SIZE_BYTES)
    subject_upload_leech_bytes: int | None = Field(None, ge=0, le=limits.MAX_SIZE_BYTES)  # upload at completion
    subject_download_bytes: int | None = Field(None, ge=0, le=limits.MAX_SIZE_BYTES)
    subject_download_time_s: Seconds | None = None
    peers_received_block: int | None = Field(None, ge=0, le=limits.MAX_LEECHERS + limits.MAX_SEEDS)
    # the client's own seeding-time counter: not a headline quantity, it sets T of the "seeds for T" policy
    subject_seeding_time_s: Seconds | None = None

    def observed(self) -> dict[str, float]:
        """The values given that are headline quantities, by name, in field order."""
        return {k: getattr(self, k) for k in type(self).model_fields
                if getattr(self, k) is not None and k != "subject_seeding_time_s"}


class Meta(_Strict):
    name: str = "unnamed"
    description: str = ""


class Scenario(_Strict):
    scenario: Meta = Meta()
    torrent: Torrent
    swarm: Swarm = Swarm()
    subject: Subject = Subject()
    simulation: Simulation = Simulation()
    evidence: ObservedEvidence | None = None  # observed values to test against the simulation
    # Where each value comes from, for the report: dotted key or table -> "evidence: ..." | "assumed: ..."
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "Scenario":
        if self.subject.join_s >= self.simulation.horizon_s:
            raise ValueError("subject.join_s must be before simulation.horizon_s")
        for key, text in self.sources.items():
            if not _is_scenario_key(key):
                raise ValueError(f"sources: '{key}' is not a key or table of the scenario")
            if not _SOURCE_RE.match(text):
                raise ValueError(f"sources.'{key}': must start with 'evidence:' or 'assumed:', got {text!r}")
        return self

    def with_changes(self, **changes: Any) -> "Scenario":
        """A validated copy with dotted-path overrides, e.g. ``{'subject.on_complete': 'stop'}``."""
        data = self.to_dict()
        for path, value in changes.items():
            set_path(data, path, value)
        return parse_scenario(data, "<override>")

    def to_dict(self) -> dict:
        return _dump(self)

    @property
    def name(self) -> str:
        return self.scenario.name


_SOURCE_RE = re.compile(r"^\s*(evidence|assumed)\s*:\s*\S", re.IGNORECASE)


def _is_scenario_key(dotted: str) -> bool:
    """True if ``dotted`` names a table or a key of the scenario schema (not 'sources' itself)."""
    parts = dotted.split(".")
    if not all(parts) or parts[0] == "sources":
        return False
    model: Any = Scenario
    for i, part in enumerate(parts):
        if model is None or part not in model.model_fields:
            return False
        model = _model_at((part,), model)
    return True


def _dump(model: BaseModel) -> dict:
    out: dict = {}
    for key in type(model).model_fields:
        v = getattr(model, key)
        if v is None:
            continue
        if isinstance(v, BaseModel):
            out[key] = _dump(v)
        elif isinstance(v, Dist):
            out[key] = v.to_toml(lambda x: x if x != float("inf") else "forever")
        elif isinstance(v, dict):
            if v:
                out[key] = dict(v)
        elif isinstance(v, tuple):
            if not v and type(model).model_fields[key].default == ():
                continue  # an empty list that is the default (no [[swarm.peer]]) is left out
            out[key] = [(_dump(x) if isinstance(x, BaseModel) else x) for x in v]
        else:
            out[key] = v
    return out


def set_path(data: dict, path: str, value: Any) -> None:
    node = data
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ScenarioError(f"override '{path}': '{p}' is not a table")
    node[parts[-1]] = value


def _lookup(data: Any, loc: tuple) -> Any:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def format_validation_error(err: ValidationError, data: dict, source: str, root: type[BaseModel] | None = None) -> str:
    lines = [f"{source}: invalid scenario ({err.error_count()} problem{'s' if err.error_count() > 1 else ''})"]
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            model = _model_at(loc[:-1], root or Scenario)
            allowed = sorted(model.model_fields) if model else []
            msg = f"unknown key; allowed keys here: {', '.join(allowed)}"
            lines.append(f"  - {path}: {msg}")
            continue
        value = _lookup(data, loc)
        shown = f" (got {_short_repr(value)})" if value is not None and not isinstance(value, dict) else ""
        lines.append(f"  - {path or '<top level>'}: {msg}{shown}")
    return "\n".join(lines)


def _short_repr(value: object, limit: int = 80) -> str:
    """A value as the message shows it: a 200,000-entry list must not become a 2 MB message."""
    try:
        text = repr(value)
    except RecursionError:
        text = "<nested too deeply to show>"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _model_at(loc: tuple, root: type[BaseModel]) -> type[BaseModel] | None:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return None
        ann = field.annotation
        for cand in getattr(ann, "__args__", (ann,)):
            inner = getattr(cand, "__args__", (cand,))
            found = next((c for c in (cand, *inner) if isinstance(c, type) and issubclass(c, BaseModel)), None)
            if found:
                model = found
                break
        else:
            return None
    return model


def parse_scenario(data: dict, source: str = "<scenario>") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err, data, source)) from None


def read_capped(path: str | Path, cap: int, what: str, error: type[Exception]) -> bytes:
    """A file's bytes, read once (a pipe such as ``<(cat case.toml)`` cannot be read twice) and at
    most ``cap`` of them: ``/dev/zero`` or a huge file is refused by its size, before it is read.
    ``what`` names the file in messages ("scenario file"); problems raise ``error``."""
    path = Path(path)
    too_big = f"{path}: larger than {format_bytes(cap)}, the most a {what} may hold; is this a {what}?"
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise error(f"{path}: is a directory, not a {what}")
            if stat.S_ISREG(st.st_mode) and st.st_size > cap:
                raise error(too_big)
            raw = f.read(cap + 1)  # a pipe or device has no size: read one byte past the cap
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a {what}") from None
    except OSError as e:
        raise error(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    if len(raw) > cap:
        raise error(too_big)
    return raw


def read_scenario_bytes(path: str | Path) -> bytes:
    """The scenario file's bytes: at most ``limits.MAX_SCENARIO_FILE_BYTES`` (read_capped)."""
    return read_capped(path, limits.MAX_SCENARIO_FILE_BYTES, "scenario file", ScenarioError)


def scenario_from_bytes(raw: bytes, source: str) -> Scenario:
    """Parse and validate a scenario file's bytes; ``source`` names it in every message."""
    try:
        data = tomllib.loads(raw.decode("utf-8").removeprefix("\ufeff"))  # a BOM some editors write
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: not UTF-8 text; a scenario is a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{source}: not valid TOML: {e}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: arrays or tables nested too deeply to read; a scenario nests a few levels") from None
    try:
        return parse_scenario(data, source)
    except RecursionError:
        raise ScenarioError(f"{source}: values nested too deeply to check; a scenario nests a few levels") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; every failure is a ScenarioError naming the file."""
    return scenario_from_bytes(read_scenario_bytes(path), str(path))


def scenario_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_scenario_path() -> Path:
    return Path(__file__).parent / "scenarios" / "default.toml"
