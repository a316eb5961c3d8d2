"""A monitoring log: the peers a rights holder's monitor saw in the swarm, as a CSV file.

Columns (header row required, any order; docs/evidence.md):

- ``peer`` — the peer's id or address as the monitor recorded it. Never written anywhere: each
  distinct value becomes an opaque id ``P001``, ``P002``, ... in order of first sighting.
- ``first_seen``, ``last_seen`` — ISO 8601 with a UTC offset (``2026-03-01T12:00:00Z``) or
  seconds from the case start; one kind for the whole file. A naive ISO time (no offset) is
  refused: the same text means different instants in different time zones.
- optional ``role`` (``seed``, ``leecher`` or empty: unknown), ``rate_bps`` (the peer's observed
  upload rate to the monitor, bytes/s), ``bytes`` (bytes the monitor received from it),
  ``connectable`` (``true``/``false``/``yes``/``no``/``1``/``0`` or empty).

Several rows for one peer are merged: first sighting, last sighting, largest rate, summed bytes;
it is a seed only if every row that gives a role says so (a leecher that completed is seen first
as a leecher).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
from dataclasses import dataclass

from .evidence_file import EvidenceFile

REQUIRED = ("peer", "first_seen", "last_seen")
OPTIONAL = ("role", "rate_bps", "bytes", "connectable")
TIME_ALLOWED = "ISO 8601 with a UTC offset (e.g. 2026-03-01T12:00:00Z) or seconds from the case start, one kind per file"
BOOL = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class SeenPeer:
    opaque_id: str
    role: str | None  # "seed", "leecher" or None (unknown)
    first_seen_s: float  # from the case start
    last_seen_s: float
    rate_bps: float | None
    bytes_received: int | None
    connectable: bool | None


@dataclass(frozen=True)
class MonitorLog:
    source: EvidenceFile
    peers: tuple[SeenPeer, ...]
    case_start: _dt.datetime | None  # the instant of t = 0 when the times were absolute
    rows: int


def read_monitor_log(ev: EvidenceFile, case_start: _dt.datetime | None = None) -> MonitorLog:
    try:
        text = ev.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ev.error("<file>", "not UTF-8 text", "a UTF-8 CSV file with a header row") from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise ev.error("header", f"unknown column(s) {unknown}", f"columns {', '.join(REQUIRED + OPTIONAL)}")
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise ev.error("header", f"missing column(s) {missing}", f"columns {', '.join(REQUIRED + OPTIONAL)}"
                       f" of which {', '.join(REQUIRED)} are required")
    raw = []
    for line, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ev.error(f"line {line}", f"{len(row)} cells for {len(header)} columns", "one cell per column")
        raw.append((line, dict(zip(header, (c.strip() for c in row)))))
    if not raw:
        raise ev.error("<rows>", "no peer rows", "at least one row after the header")
    times = [_parse_time(ev, line, col, r[col]) for line, r in raw for col in ("first_seen", "last_seen")]
    kinds = {type(t) for t in times}
    if len(kinds) > 1:
        raise ev.error("first_seen/last_seen", "ISO times and seconds mixed", TIME_ALLOWED)
    absolute = kinds == {_dt.datetime}
    if absolute:
        start = case_start or min(times)
        secs = [(t - start).total_seconds() for t in times]
    else:
        if case_start is not None:
            raise ev.error("first_seen", "times are seconds, so --case-start does not apply", TIME_ALLOWED)
        start, secs = None, times
    merged: dict[str, dict] = {}
    for k, (line, r) in enumerate(raw):
        first, last = secs[2 * k], secs[2 * k + 1]
        if last < first:
            raise ev.error(f"line {line}: last_seen", f"{r['last_seen']!r} is before first_seen {r['first_seen']!r}",
                           "last_seen at or after first_seen")
        if first < 0:
            raise ev.error(f"line {line}: first_seen", f"{r['first_seen']!r} is before the case start", 
                           "times at or after the case start (--case-start)")
        if not r["peer"]:
            raise ev.error(f"line {line}: peer", "empty", "the peer's id or address")
        role = r.get("role", "").lower() or None
        if role not in (None, "seed", "leecher"):
            raise ev.error(f"line {line}: role", repr(r["role"]), "seed, leecher or empty (unknown)")
        rate = _number(ev, line, "rate_bps", r.get("rate_bps", ""))
        nbytes = _number(ev, line, "bytes", r.get("bytes", ""))
        conn = r.get("connectable", "").lower()
        if conn and conn not in BOOL:
            raise ev.error(f"line {line}: connectable", repr(r["connectable"]), "true, false, yes, no, 1, 0 or empty")
        m = merged.setdefault(r["peer"], {"first": first, "last": last, "roles": [], "rate": None, "bytes": None,
                                           "conn": None})
        m["first"], m["last"] = min(m["first"], first), max(m["last"], last)
        m["roles"].append(role)
        if rate is not None:
            m["rate"] = max(m["rate"] or 0.0, rate)
        if nbytes is not None:
            m["bytes"] = (m["bytes"] or 0) + int(nbytes)
        if conn:
            m["conn"] = BOOL[conn] if m["conn"] is None else (m["conn"] or BOOL[conn])
    order = sorted(merged, key=lambda p: (merged[p]["first"], merged[p]["last"], p))
    width = max(3, len(str(len(order))))
    peers = []
    for n, key in enumerate(order, start=1):
        m = merged[key]
        known = [x for x in m["roles"] if x]  # a row of unknown role says nothing either way
        role = ("seed" if all(x == "seed" for x in known) else "leecher") if known else None
        peers.append(SeenPeer(f"P{n:0{width}d}", role, m["first"], m["last"], m["rate"], m["bytes"], m["conn"]))
    return MonitorLog(ev, tuple(peers), start, len(raw))


def _parse_time(ev: EvidenceFile, line: int, col: str, text: str) -> float | _dt.datetime:
    try:
        v = float(text)
        if not math.isfinite(v):
            raise ValueError
        return v
    except ValueError:
        pass
    try:
        t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ev.error(f"line {line}: {col}", f"{text!r} is not a time", TIME_ALLOWED) from None
    if t.tzinfo is None:
        raise ev.error(f"line {line}: {col}", f"{text!r} has no UTC offset", TIME_ALLOWED)
    return t


def _number(ev: EvidenceFile, line: int, col: str, text: str) -> float | None:
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v >= 0):
        raise ev.error(f"line {line}: {col}", f"{text!r}", "a number >= 0 or empty")
    return v
