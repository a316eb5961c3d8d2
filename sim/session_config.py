"""The session file: one subject client session holding several torrents (issue 15 §1).

A TOML file with a ``[session]`` table — the subject's settings that libtorrent applies to the
whole session (link capacities, rate limits, unchoke slots, connection limit, the auto-manage
queue, what the client does when a torrent completes) — a ``[simulation]`` table shared by every
torrent (one clock, one horizon, one master seed), and a ``[[torrent]]`` list. Each torrent names
a scenario file (relative to the session file) or holds one inline (``[torrent.scenario]``); the
scenario supplies that torrent's swarm (seeds, leechers, tracker, content). Its ``[subject]`` and
``[simulation]`` tables are replaced by the session's: the subject is one client.

Validated like scenarios (sim/scenario.py): unknown keys, wrong types and out-of-range values are
refused with a message naming the file, the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from .scenario import (LibtorrentSettings, Rate, Scenario, ScenarioError, Seconds, Simulation, Subject, _Strict,
                       format_validation_error, parse_scenario, read_scenario_bytes, scenario_from_bytes)

MAX_TORRENTS = 10_000


class SessionError(ScenarioError):
    """A session file that cannot be used; the message is meant for the user, verbatim."""


class SessionSettings(_Strict):
    """The subject's session: everything libtorrent shares among the session's torrents."""

    name: str = "session"
    description: str = ""
    upload: Rate = 10_000_000  # link capacity (bytes/s); libtorrent's upload_rate_limit applies on top
    download: Rate = 10_000_000
    connectable: bool = True
    # settings_pack names and defaults: session-wide choker, rate limits and connection limit
    libtorrent: LibtorrentSettings = LibtorrentSettings()
    # the auto-manage queue (settings_pack active_downloads / active_seeds / active_limit). A client
    # adds torrents auto-managed by default (add_torrent_params); false: each torrent starts when
    # it is added, outside the queue (as the one-torrent lab adds its torrent).
    auto_managed: bool = True
    active_downloads: int = Field(3, ge=1, le=MAX_TORRENTS)
    active_seeds: int = Field(5, ge=0, le=MAX_TORRENTS)
    active_limit: int = Field(500, ge=1, le=MAX_TORRENTS)
    # the client's policy when a torrent completes (as a scenario's [subject])
    on_complete: Literal["stop", "seed_for", "seed_until_ratio", "never_stop"] = "stop"
    seed_for_s: Seconds | None = None
    seed_until_ratio: float | None = Field(None, gt=0, le=1e6)

    @model_validator(mode="after")
    def _check(self) -> "SessionSettings":
        self.subject(0.0)  # the per-torrent subject must validate (on_complete and its parameter)
        return self

    def subject(self, added_s: float) -> Subject:
        """The subject as one torrent's swarm sees it: the session's settings, joining when added."""
        try:
            return Subject(join_s=added_s, upload=self.upload, download=self.download, connectable=self.connectable,
                           on_complete=self.on_complete, seed_for_s=self.seed_for_s,
                           seed_until_ratio=self.seed_until_ratio, libtorrent=self.libtorrent)
        except ValidationError as e:  # e.g. on_complete 'seed_for' without seed_for_s
            raise ValueError("; ".join(x["msg"].removeprefix("Value error, ") for x in e.errors())) from None


class TorrentEntry(_Strict):
    """One torrent of the session: its swarm's scenario, when it is added, its queue position."""

    scenario: str | dict  # a path relative to the session file, or an inline table
    added_s: Seconds = 0.0
    queue_position: int | None = Field(None, ge=0, le=MAX_TORRENTS)  # default: its place in the file


class SessionFile(_Strict):
    session: SessionSettings = SessionSettings()
    simulation: Simulation = Simulation()
    torrent: tuple[TorrentEntry, ...] = Field(strict=False, max_length=MAX_TORRENTS)

    @model_validator(mode="after")
    def _some_torrent(self) -> "SessionFile":
        if not self.torrent:  # checked here, not by min_length: a bad entry must not read as "no entry"
            raise ValueError("a session needs at least one [[torrent]] (scenario = \"FILE.toml\")")
        return self


class Session:
    """A validated session: its settings and each torrent's scenario, in queue order (frozen)."""

    def __init__(self, settings: SessionSettings, simulation: Simulation, scenarios: tuple[Scenario, ...],
                 added_s: tuple[float, ...], labels: tuple[str, ...]) -> None:
        self.settings = settings
        self.simulation = simulation
        self.scenarios = scenarios  # queue order; each with the session's subject and simulation
        self.added_s = added_s
        self.labels = labels  # each torrent's scenario file (or "inline-N")

    @property
    def name(self) -> str:
        return self.settings.name

    def __len__(self) -> int:
        return len(self.scenarios)


def session_from_bytes(raw: bytes, source: str, base: Path) -> tuple[Session, dict[str, str]]:
    """Parse and validate a session file's bytes; scenario paths are read relative to ``base``.
    Returns the session and the sha256 of every input file (the session file's under ``source``)."""
    try:
        data = tomllib.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise SessionError(f"{source}: not UTF-8 text; a session file is a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise SessionError(f"{source}: not valid TOML: {e}") from None
    try:
        sf = SessionFile.model_validate(data)
    except ValidationError as err:
        raise SessionError(format_validation_error(err, data, source, SessionFile)
                           .replace("invalid scenario", "invalid session file")) from None
    hashes = {source: hashlib.sha256(raw).hexdigest()}
    order = sorted(range(len(sf.torrent)), key=lambda i: (sf.torrent[i].queue_position
                                                         if sf.torrent[i].queue_position is not None else i, i))
    scenarios, added, labels = [], [], []
    for i in order:
        entry = sf.torrent[i]
        if isinstance(entry.scenario, str):
            path = base / entry.scenario
            scenario_raw = read_scenario_bytes(path)
            sc = scenario_from_bytes(scenario_raw, f"{source}: torrent[{i}].scenario = {path}")
            hashes[entry.scenario] = hashlib.sha256(scenario_raw).hexdigest()
            label = entry.scenario
        else:
            label = f"inline-{i}"
            sc = parse_scenario(entry.scenario, f"{source}: torrent[{i}].scenario (inline)")
        try:
            sc = sc.with_changes(subject=sf.session.subject(entry.added_s).model_dump(),
                                 simulation=sf.simulation.model_dump())
        except ScenarioError as e:
            raise SessionError(f"{source}: torrent[{i}] ({label}) with the session's subject: {e}") from None
        scenarios.append(sc)
        added.append(entry.added_s)
        labels.append(label)
    return Session(sf.session, sf.simulation, tuple(scenarios), tuple(added), tuple(labels)), hashes


def load_session(path: str | Path) -> tuple[Session, dict[str, str], bytes]:
    """Read and validate a session file; every failure is a SessionError (or ScenarioError) naming
    the file. Returns the session, the input hashes and the session file's bytes."""
    path = Path(path)
    raw = read_scenario_bytes(path)
    session, hashes = session_from_bytes(raw, str(path), path.parent)
    return session, hashes, raw


def is_session_file(path: str | Path) -> bool:
    """True if the file reads as a session file (a ``[session]`` table or a ``[[torrent]]`` list)
    rather than a scenario: commands that take either (``leechsim lab``) dispatch on it. Anything
    unreadable is not: the scenario reader then reports the problem."""
    try:
        data = tomllib.loads(read_scenario_bytes(path).decode("utf-8").removeprefix("\ufeff"))
    except (ScenarioError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False
    return isinstance(data.get("torrent"), list) or "session" in data
