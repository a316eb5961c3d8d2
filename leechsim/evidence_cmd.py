"""``leechsim evidence pcap CAPTURE --subject ADDRESS[:PORT] [--torrent FILE.torrent] [--out DIR]``

Reads a packet capture (pcap or pcapng; TCP and uTP) and reports what the subject sent and
received, per remote peer, from the wire. The work is done in ``forensics.evidence``; this module
is only the command line.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

from rich.table import Table

from forensics.evidence.outputs import peer_rows, summary, write_evidence
from forensics.evidence.pcap import SubjectAddress, read_capture
from forensics.evidence.torrent import read_torrent
from .env import Environment, ExitStatus


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evidence", help="read evidence from outside leechsim (packet captures)",
                       description="Read evidence gathered outside leechsim.")
    kinds = p.add_subparsers(dest="evidence_kind", required=True, parser_class=type(p))
    c = kinds.add_parser("pcap", help="what the subject sent and received, per peer, from a packet capture",
                         description="Reassemble TCP and uTP streams to and from the subject, read the BitTorrent "
                                     "wire protocol and report, per remote peer, the payload sent and received.")
    c.add_argument("capture", type=Path, help="capture file, pcap or pcapng (e.g. tcpdump -w, or a lab run's "
                                              "replications/NNNN/raw/capture.pcap)")
    c.add_argument("--subject", required=True, action="append", metavar="ADDRESS[:PORT]",
                   help="the subject's IP address (repeat for several); a port keeps only connections that use "
                        "that port at the subject's end (its listen port: incoming TCP, and uTP)")
    c.add_argument("--torrent", type=Path, metavar="FILE.torrent",
                   help="check every block sent against the piece hashes; only this torrent's streams count")
    c.add_argument("--out", type=Path, help="directory to write (default: runs/evidence-<capture name>-<UTC time>)")
    c.add_argument("--t0", type=float, metavar="UNIX_S",
                   help="time zero of transfer_log.csv, in Unix seconds (default: the capture's first packet)")
    c.add_argument("--accept-truncated", action="store_true",
                   help="read a capture that ends inside a packet record up to the cut (default: refuse, exit 2)")
    c.add_argument("--force", action="store_true", help="replace an existing --out directory")
    c.set_defaults(run=run)


def run(ns: argparse.Namespace, env: Environment) -> ExitStatus:
    subjects = [SubjectAddress.parse(s) for s in ns.subject]
    torrent = read_torrent(ns.torrent) if ns.torrent else None
    ev = read_capture(ns.capture, subjects, torrent, accept_truncated=ns.accept_truncated)
    t0 = ns.t0 if ns.t0 is not None else ev.stats.first_ts
    out = ns.out or Path("runs") / f"evidence-{ns.capture.stem}-{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%SZ}"
    command = getattr(ns, "command_line", ["leechsim", *sys.argv[1:]])
    written = write_evidence(ev, out, t0, command, force=ns.force)
    _print(env, ev, t0, written)
    return ExitStatus.SUCCESS


def _print(env: Environment, ev, t0: float, written: Path) -> None:
    con = env.console()
    table = Table(title=f"Subject {', '.join(map(str, ev.subjects))} in {ev.capture.name}")
    for col in ("peer", "address", "via", "sent bytes", "blocks", "pieces", "received bytes",
                "sent from-to (s)", "verified", "unreadable"):
        table.add_column(col, justify="right" if col not in ("address", "via") else "left", no_wrap=True)
    for r in peer_rows(ev, t0):
        span = "" if r["first_sent_s"] is None else f"{r['first_sent_s']:.2f}-{r['last_sent_s']:.2f}"
        unread = r["encrypted_streams"] + r["mid_stream_streams"]
        table.add_row(str(r["peer"]), r["address"], r["transports"], f"{r['sent_bytes']:,}", str(r["sent_blocks"]),
                      "-" if r["sent_whole_pieces"] is None else str(r["sent_whole_pieces"]),
                      f"{r['received_bytes']:,}", span,
                      "-" if r["blocks_verified"] is None else f"{r['blocks_verified']}/{r['sent_blocks']}",
                      str(unread) if unread else "")
    con.print(table)
    s = summary(ev, t0)
    g, c = s["gaps"], s["capture"]
    con.print(f"Sent: {s['sent']['bytes']:,} bytes in {s['sent']['blocks']} blocks to {s['sent']['peers_received_block']} "
              f"peers; received {s['received']['bytes']:,} bytes. Streams: "
              + ", ".join(f"{k} {v}" for k, v in s["streams"].items()))
    unread_sent = sum(p.unreadable_sent_bytes for p in ev.peers.values())
    con.print(f"Not readable or not whole: {sum(v for k, v in s['streams'].items() if k.startswith('encrypted'))} "
              f"encrypted, {unread_sent:,} bytes sent in unreadable streams, {sum(v for k, v in s['streams'].items() if k.startswith('mid_stream'))} begun before the capture; "
              f"{g['retransmitted_packets']} retransmitted packets, {g['hole_bytes']:,} bytes missing in "
              f"{g['streams_with_holes']} streams, {g['streams_unframed']} streams not read to the end, "
              f"{c['packets_cut_by_snaplen']} packets cut by the snaplen")
    con.print(f"Evidence directory: {written}")
