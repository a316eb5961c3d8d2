"""Assemble a case file (a scenario TOML) from the evidence, every value marked in ``[sources]``.

Precedence, lowest first: leechsim's documented defaults (``assumed: ...``), the client's own
defaults for a settings key its file leaves out (``assumed: ...``), the settings file (global),
the client state (per torrent). The case is validated by the scenario schema before anything is
written, and written atomically; an existing file is replaced only with ``force``.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from sim.scenario import ScenarioError, parse_scenario, set_path

from ..atomic import write_text
from ..errors import UserError
from .client_settings import read_client_settings
from .client_state import read_client_state
from .evidence_file import read_evidence
from .mapping import Reading
from .monitor_log import MonitorLog, read_monitor_log
from .torrent_file import TorrentEvidence, read_torrent_file

DEFAULT_PEER_UPLOAD_BPS = 1_000_000  # the scenario's default leecher upload, for a peer whose rate is unknown
HORIZON_MARGIN_S = 3600.0  # the run continues this long after the last sighting (case without a client state)


@dataclass
class Case:
    data: dict  # the scenario, as TOML data
    sources: dict[str, str]
    unmapped: list[tuple[str, str, object, str]] = field(default_factory=list)  # (file, field, value, why)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file, note)
    files: list[tuple[str, str, str]] = field(default_factory=list)  # (role, file name, sha256)

    def toml(self) -> str:
        head = ["# leechsim case file, built by 'leechsim case new' from:"]
        head += [f"#   {role}: {name} (sha256 {sha})" for role, name, sha in self.files]
        if self.unmapped:
            head.append("# Read but not mapped (docs/evidence.md):")
            head += [f"#   {f}: {k} = {v!r}: {why}" for f, k, v, why in self.unmapped]
        if self.notes:
            head.append("# Also read (not used by the model):")
            head += [f"#   {f}: {n}" for f, n in self.notes]
        return "\n".join(head) + "\n\n" + tomli_w.dumps({**self.data, "sources": dict(sorted(self.sources.items()))})


def build_case(torrent: str | Path, peers: str | Path | None = None, client_state: str | Path | None = None,
               client_settings: str | Path | None = None, case_start: _dt.datetime | None = None) -> Case:
    t = read_torrent_file(read_evidence(torrent, ".torrent"))
    log = read_monitor_log(read_evidence(peers, "monitoring log"), case_start) if peers else None
    state = read_client_state(read_evidence(client_state, "client state"), t) if client_state else None
    settings = read_client_settings(read_evidence(client_settings, "client settings")) if client_settings else None
    case = Case(data={}, sources={})
    _torrent(case, t)
    _swarm(case, log)
    _subject(case, settings, state, log)
    _evidence(case, state)
    _horizon(case, log)
    try:
        parse_scenario({**case.data, "sources": case.sources}, "the case built from the evidence")
    except ScenarioError as e:
        raise UserError(str(e)) from None
    return case


def write_case(case: Case, out: str | Path, force: bool = False) -> Path:
    out = Path(out)
    check_case_path(out, force)
    try:
        write_text(out, case.toml())
    except OSError as e:
        raise UserError(f"{out}: cannot write the case file ({e.strerror}); allowed: a writable file path") from None
    return out


def check_case_path(out: Path, force: bool) -> None:
    """Refuse, before any evidence is read, a case path that cannot or must not be written."""
    if out.is_dir():
        raise UserError(f"{out}: is a directory; allowed: a file name for the case (e.g. my-case.toml)")
    if not out.parent.is_dir():
        raise UserError(f"{out}: no directory {out.parent}; allowed: a file in an existing directory")
    if out.exists() and not force:
        raise UserError(f"{out}: exists; allowed: a new file name, or --force to replace it")


def _torrent(case: Case, t: TorrentEvidence) -> None:
    ps = t.piece_bytes
    if ps < 16384 or ps & (ps - 1):
        raise t.source.error("info.piece length", f"{ps} bytes", "a power of two >= 16 KiB (the model's pieces are "
                             "whole 16 KiB blocks); such a torrent cannot be modelled")
    case.files.append(("torrent", t.source.name, t.source.sha256))
    hashes = ", ".join(f"info-hash {v} {h}" for v, h in (("v1", t.info_hash_v1), ("v2", t.info_hash_v2)) if h)
    case.data["scenario"] = {"name": t.name, "description": f"Case built from {t.source.name} ({t.version}; {hashes})"}
    tor: dict = {"name": t.name, "piece_size": ps}
    if len(t.files) == 1 and not t.pad_files:
        tor["total_size"] = t.files[0][1]
    else:
        tor["files"] = [{"path": p, "size": s} for p, s in t.files]
    case.data["torrent"] = tor
    what = f"name, piece length, files ({t.version})"
    if t.pad_files:
        what += (f"; {len(t.pad_files)} pad file(s) of {t.interior_pad_bytes} bytes kept so pieces align "
                 "(the model moves them as payload: at most that many bytes overstated)")
    if t.tail_pad_bytes:
        what += f"; final pad file of {t.tail_pad_bytes} bytes dropped"
    if t.empty_files:
        what += f"; {len(t.empty_files)} empty file(s) dropped"
    case.sources["torrent"] = t.source.cite(what)


def _swarm(case: Case, log: MonitorLog | None) -> None:
    if log is None:
        case.sources["swarm"] = ("assumed: leechsim's default swarm (1 seed at 1 MB/s, a flash crowd of 4 leechers); "
                                 "no monitoring log given")
        return
    case.files.append(("monitoring log", log.source.name, log.source.sha256))
    peers, rates, seen_once = [], 0, 0
    for p in log.peers:
        leave = p.last_seen_s if p.last_seen_s > p.first_seen_s else p.first_seen_s + 1.0
        seen_once += p.last_seen_s <= p.first_seen_s
        entry: dict = {"id": p.opaque_id, "role": p.role or "leecher", "join_s": p.first_seen_s, "leave_s": leave}
        rate = p.rate_bps
        if rate is None and p.bytes_received is not None and p.last_seen_s > p.first_seen_s:
            rate = p.bytes_received / (p.last_seen_s - p.first_seen_s)
        if rate is not None and rate > 0:
            entry["upload"] = int(math.ceil(rate))
            rates += 1
        else:
            entry["upload"] = DEFAULT_PEER_UPLOAD_BPS
        if p.connectable is not None:
            entry["connectable"] = p.connectable
        peers.append(entry)
    case.data["swarm"] = {"seeds": {"count": 0}, "leechers": {"count": 0}, "peer": peers}
    unknown_role = sum(p.role is None for p in log.peers)
    start = f"; t = 0 is {log.case_start.isoformat()}" if log.case_start else "; times given as seconds from the case start"
    case.sources["swarm.peer"] = log.source.cite(
        f"{len(peers)} peers from {log.rows} rows, addresses replaced by opaque ids: join_s = first_seen, "
        f"leave_s = last_seen{start}; upload = observed rate for {rates}, assumed "
        f"{DEFAULT_PEER_UPLOAD_BPS} B/s for {len(peers) - rates}; role assumed 'leecher' for {unknown_role}; "
        f"{seen_once} seen once kept 1 s; download capacity and connectable (where not in the log) assumed defaults")
    case.sources["swarm.seeds"] = "assumed: no generated seeds: the monitoring log lists the swarm"
    case.sources["swarm.leechers"] = "assumed: no generated leechers: the monitoring log lists the swarm"


def _subject(case: Case, settings: Reading | None, state: Reading | None, log: MonitorLog | None) -> None:
    values: dict[str, tuple[object, str]] = {}
    for reading in (settings, state):
        if reading is None:
            continue
        case.files.append((reading.kind, reading.source.name, reading.source.sha256))
        case.unmapped += [(reading.source.name, f, v, why) for f, v, why in reading.unmapped]
        case.notes += [(reading.source.name, n) for n in reading.notes]
        if reading is state and reading.no_seeding_limit and "subject.on_complete" in values:
            case.notes.append((reading.source.name, "this torrent's own setting is 'no ratio or seeding-time limit': "
                                                    "the settings file's global limit does not apply to it"))
            for k in ("subject.on_complete", "subject.seed_until_ratio", "subject.seed_for_s"):
                values.pop(k, None)
        for key, (value, what) in reading.assumed.items():
            values[key] = (value, f"assumed: {what}")
        if reading.settings.get("subject.on_complete"):  # a new policy replaces the old one and its parameter
            for k in ("subject.seed_until_ratio", "subject.seed_for_s"):
                values.pop(k, None)
        for key, (value, what) in reading.settings.items():
            values[key] = (value, reading.source.cite(what))
    for key in ("subject.libtorrent.upload_rate_limit", "subject.libtorrent.download_rate_limit"):
        # both a session limit and a torrent limit: libtorrent applies both, so the lower one binds
        if settings and state and key in settings.settings and key in state.settings:
            both = [(r.settings[key][0], r, r.settings[key][1]) for r in (settings, state) if r.settings[key][0] > 0]
            if both:
                value, r, what = min(both, key=lambda x: x[0])
                values[key] = (value, r.source.cite(what + "; the lower of the session's and the torrent's limits"))
    for key, (value, why) in sorted(values.items()):
        set_path(case.data, key, value)
        case.sources[key] = why
    if "subject.on_complete" not in values:
        set_path(case.data, "subject.on_complete", "stop")
        case.sources["subject.on_complete"] = ("assumed: stop at completion (the claim to test; the report's "
                                               "counterfactuals cover the other policies)")
    case.sources["subject.upload"] = "assumed: leechsim's default link capacity (10 MB/s); no evidence of the line"
    case.sources["subject.download"] = "assumed: leechsim's default link capacity (10 MB/s); no evidence of the line"
    if log is not None and log.case_start is not None and state is not None and state.added_unix is not None:
        join = state.added_unix - log.case_start.timestamp()
        last = max(p.last_seen_s for p in log.peers)
        added = _dt.datetime.fromtimestamp(state.added_unix, _dt.timezone.utc).isoformat()
        if -1.0 < join < 0:  # the client stores whole seconds: up to 1 s before the first sighting is t = 0
            join = 0.0
        if not 0 <= join <= last:
            case.notes.append((state.source.name, f"the client added the torrent at {added}, outside the monitoring "
                                                  f"log's window (t = 0 .. {last:.0f} s from {log.case_start.isoformat()}): "
                                                  "not used for subject.join_s"))
        else:
            set_path(case.data, "subject.join_s", join)
            case.sources["subject.join_s"] = state.source.cite(
                f"added time {added} - the case start {log.case_start.isoformat()}")
            return
    case.sources["subject.join_s"] = "assumed: 0 (the subject joins at the case start)"


def _horizon(case: Case, log: MonitorLog | None) -> None:
    if log is None:
        return
    last = max(max(p.last_seen_s for p in log.peers), case.data.get("subject", {}).get("join_s", 0.0))
    set_path(case.data, "simulation.horizon_s", float(last + HORIZON_MARGIN_S))
    case.sources["simulation.horizon_s"] = (f"assumed: the last sighting in {log.source.name} (or the subject's "
                                            f"join, if later) + {HORIZON_MARGIN_S:.0f} s")


def _evidence(case: Case, state: Reading | None) -> None:
    if state is None or not state.observed:
        return
    case.data["evidence"] = {k: v for k, (v, _) in state.observed.items()}
    for k, (_, what) in state.observed.items():
        case.sources[f"evidence.{k}"] = state.source.cite(what)
