"""Packets out of a capture file: pcap or pcapng, decoded to IP and TCP/UDP by ``dpkt``.

The file formats and the link, IP, TCP and UDP headers are dpkt's business; this module only
chooses the decoder for the capture's link type, keeps what the transport layers need and counts
what it cannot use (fragments, other protocols, headers cut short). A record cut short by the
capture's snaplen keeps its claimed length (``missing_bytes``), so reassembly knows a hole is there.

A capture that ends inside a record (a copy cut off, a disk that filled up) raises
``CaptureTruncated`` after the whole records have been read, unless the caller accepts it.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import dpkt

from ..errors import UserError

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
TCP, UDP = 6, 17


class CaptureError(UserError):
    """The file is not a capture this reader can use; the message says why."""


class CaptureTruncated(CaptureError):
    """The capture ends inside a record."""


@dataclass
class CaptureStats:
    linktype: int = -1
    records: int = 0
    tcp_packets: int = 0
    udp_packets: int = 0
    other_packets: int = 0  # not IPv4/IPv6 TCP/UDP (ARP, ICMP, ...)
    ip_fragments: int = 0  # not reassembled: counted, their payload is a hole
    undecodable_packets: int = 0  # headers cut short or malformed
    snaplen_cut_packets: int = 0  # payload shorter than the IP header claims
    snaplen_cut_bytes: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    truncated_at_record: int | None = None
    notes: list[str] = field(default_factory=list)


# (ts, src, sport, dst, dport, proto, tcp_seq, tcp_flags, payload, missing_bytes)
Packet = tuple[float, str, int, str, int, int, int, int, bytes, int]


def _link_decoder(linktype: int) -> Callable[[bytes], object]:
    # LINKTYPE_ numbers as stored in pcap/pcapng files (dpkt's DLT_ constants follow the platform)
    if linktype == 1:  # Ethernet
        # Untagged IPv4/IPv6 frames (all of them on loopback) go straight to dpkt's IP decoder: the
        # fixed 14-byte Ethernet header needs no object, and skipping it is a third of the time.
        # Everything else (VLAN tags, ...) takes dpkt's Ethernet decoder.
        ip4, ip6, eth = dpkt.ip.IP, dpkt.ip6.IP6, dpkt.ethernet.Ethernet

        def decode(b: bytes):
            kind = b[12:14]
            if kind == b"\x08\x00":
                return ip4(b[14:])
            if kind == b"\x86\xdd":
                return ip6(b[14:])
            return eth(b).data
        return decode
    if linktype == 113:  # Linux cooked
        return lambda b: dpkt.sll.SLL(b).data
    if linktype == 276:  # Linux cooked v2
        return lambda b: dpkt.sll2.SLL2(b).data
    if linktype in (0, 108):  # BSD loopback (NULL, LOOP)
        return lambda b: dpkt.loopback.Loopback(b).data
    if linktype in (101, 228, 229):  # raw IP, IPv4, IPv6
        return lambda b: (dpkt.ip6.IP6(b) if b and b[0] >> 4 == 6 else dpkt.ip.IP(b))
    raise CaptureError(f"link type {linktype} is not supported (Ethernet, Linux cooked, loopback, raw IP are)")


def _open(path: Path) -> tuple[BinaryIO, str]:
    try:
        f = open(path, "rb")
    except OSError as e:
        raise CaptureError(f"{path}: cannot read ({e.strerror})") from None
    magic = f.read(4)
    f.seek(0)
    if magic in PCAP_MAGICS:
        return f, "pcap"
    if magic == PCAPNG_MAGIC:
        return f, "pcapng"
    f.close()
    raise CaptureError(f"{path}: not a packet capture (neither pcap nor pcapng: the file starts with "
                       f"{magic.hex() or 'nothing'}); give the capture file itself, e.g. as written by tcpdump -w")


def _pcap_records(f: BinaryIO, path: Path, stats: CaptureStats) -> Iterator[tuple[float, bytes]]:
    """The classic format, record by record; dpkt reads the file header, the records are read here
    so that a record cut off at the end of the file is seen (dpkt would return it short)."""
    try:
        reader = dpkt.pcap.Reader(f)
    except (ValueError, dpkt.NeedData, dpkt.UnpackError) as e:
        raise CaptureError(f"{path}: not a usable pcap file ({e})") from None
    stats.linktype = reader.datalink()
    f.seek(0)
    magic = f.read(4)
    f.seek(24)  # after the file header dpkt has checked
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    divisor = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
    unpack = struct.Struct(endian + "IIII").unpack
    read = f.read
    n = 0
    while True:
        hdr = read(16)
        if not hdr:
            return
        if len(hdr) < 16:
            stats.truncated_at_record = n
            return
        sec, frac, caplen, _wirelen = unpack(hdr)
        buf = read(caplen)
        if len(buf) < caplen:
            stats.truncated_at_record = n
            return
        n += 1
        yield sec + frac / divisor, buf


def _pcapng_records(f: BinaryIO, path: Path, stats: CaptureStats) -> Iterator[tuple[float, bytes]]:
    try:
        reader = dpkt.pcapng.Reader(f)
    except (ValueError, dpkt.NeedData, dpkt.UnpackError, struct.error) as e:
        raise CaptureError(f"{path}: not a usable pcapng file ({e})") from None
    stats.linktype = reader.datalink()
    n = 0
    it = iter(reader)
    while True:
        try:
            ts, buf = next(it)
        except StopIteration:
            return
        except (ValueError, dpkt.NeedData, dpkt.UnpackError, struct.error):
            stats.truncated_at_record = n
            return
        n += 1
        yield ts, buf


def read_packets(path: Path, stats: CaptureStats, keep: Callable[[str, str], bool] = lambda s, d: True,
                 ) -> Iterator[Packet]:
    """Every TCP and UDP packet whose addresses pass ``keep(src, dst)``, in capture order."""
    f, kind = _open(path)
    with f:
        records = _pcap_records(f, path, stats) if kind == "pcap" else _pcapng_records(f, path, stats)
        first = next(records, None)
        decode = _link_decoder(stats.linktype)
        if first is None:
            return
        ntoa4 = socket.inet_ntoa
        IP, IP6, TCPc, UDPc = dpkt.ip.IP, dpkt.ip6.IP6, dpkt.tcp.TCP, dpkt.udp.UDP
        stats.first_ts = first[0]
        ts = first[0]
        for ts, buf in _chain(first, records):
            stats.records += 1
            try:
                ip = decode(buf)
            except (dpkt.NeedData, dpkt.UnpackError, struct.error, IndexError):
                stats.undecodable_packets += 1
                continue
            if isinstance(ip, IP):
                if ip.mf or ip.offset:
                    stats.ip_fragments += 1
                    continue
                src, dst = ntoa4(ip.src), ntoa4(ip.dst)
                ip_payload_len = ip.len - ip.hl * 4 if ip.len else None
            elif isinstance(ip, IP6):
                src, dst = socket.inet_ntop(socket.AF_INET6, ip.src), socket.inet_ntop(socket.AF_INET6, ip.dst)
                ip_payload_len = ip.plen or None
            else:
                stats.other_packets += 1
                continue
            l4 = ip.data
            if isinstance(l4, TCPc):
                stats.tcp_packets += 1
                if not keep(src, dst):
                    continue
                payload = l4.data
                missing = 0
                if ip_payload_len is not None:
                    missing = max(0, ip_payload_len - l4.off * 4 - len(payload))
                if missing:
                    stats.snaplen_cut_packets += 1
                    stats.snaplen_cut_bytes += missing
                yield ts, src, l4.sport, dst, l4.dport, TCP, l4.seq, l4.flags, payload, missing
            elif isinstance(l4, UDPc):
                stats.udp_packets += 1
                if not keep(src, dst):
                    continue
                payload = l4.data
                missing = max(0, l4.ulen - 8 - len(payload))
                if missing:
                    stats.snaplen_cut_packets += 1
                    stats.snaplen_cut_bytes += missing
                yield ts, src, l4.sport, dst, l4.dport, UDP, 0, 0, payload, missing
            elif (ip.p if isinstance(ip, IP) else ip.nxt) in (TCP, UDP):
                stats.undecodable_packets += 1  # a TCP/UDP header dpkt could not decode (cut short)
            else:
                stats.other_packets += 1
        stats.last_ts = ts


def _chain(first, rest):
    yield first
    yield from rest
