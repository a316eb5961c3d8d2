"""``leechsim case new OUT.toml --torrent F [--peers LOG.csv] [--client-state F] [--client-settings F]``

Builds a case file (a scenario) from the evidence an expert receives; the work is done in
``forensics.case``, this module is only the command line.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path

from forensics.case.build import build_case, check_case_path, write_case

from .env import Environment, ExitStatus


def _utc_instant(text: str) -> _dt.datetime:
    try:
        t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (e.g. 2026-03-01T12:00:00Z)")
    return t


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("case", help="build a case file from the evidence (.torrent, monitoring log, client files)",
                       description="Build a case: a scenario file whose every value is marked as resting on "
                                   "evidence or assumed.")
    kinds = p.add_subparsers(dest="case_action", required=True, parser_class=type(p))
    c = kinds.add_parser("new", help="a new case file from evidence files (docs/evidence.md)",
                         description="Read the evidence and write a scenario file with [sources] for every value.")
    c.add_argument("out", type=Path, help="case file to write (TOML; refused if it exists, unless --force)")
    c.add_argument("--torrent", required=True, metavar="FILE.torrent", help="the .torrent file (v1, v2 or hybrid); a magnet link is refused")
    c.add_argument("--peers", type=Path, metavar="LOG.csv",
                   help="monitoring log: peer, first_seen, last_seen[, role, rate_bps, bytes, connectable]")
    c.add_argument("--client-state", type=Path, metavar="FILE",
                   help="the client's state for this torrent: .fastresume (libtorrent, qBittorrent) or .resume (Transmission)")
    c.add_argument("--client-settings", type=Path, metavar="FILE",
                   help="the client's settings: qBittorrent.conf or Transmission's settings.json")
    c.add_argument("--case-start", type=_utc_instant, metavar="ISO8601",
                   help="t = 0 of the case for a log with ISO times (default: the log's first sighting)")
    c.add_argument("--force", action="store_true", help="replace an existing case file")
    c.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    check_case_path(ns.out, ns.force)
    case = build_case(ns.torrent, ns.peers, ns.client_state, ns.client_settings, ns.case_start)
    written = write_case(case, ns.out, force=ns.force)
    con = env.console()
    evidence = sorted(k for k, v in case.sources.items() if v.startswith("evidence:"))
    assumed = sorted(k for k, v in case.sources.items() if v.startswith("assumed:"))
    con.print(f"From evidence ({len(evidence)}): {', '.join(evidence)}")
    con.print(f"Assumed ({len(assumed)}): {', '.join(assumed)}")
    for f, key, value, why in case.unmapped:
        con.print(f"Not mapped: {f}: {key} = {value!r}: {why}", highlight=False)
    con.print(f"Case file: {written}")
    return ExitStatus.SUCCESS
