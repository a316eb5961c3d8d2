"""What a .torrent file says about content: piece length, piece hashes, files, v1 info-hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sim.layout import Layout

from ..errors import UserError
from .bencode import BencodeError, bdecode_info_span


@dataclass(frozen=True)
class TorrentMeta:
    info_hash: bytes  # v1: SHA-1 of the bencoded info dictionary
    piece_bytes: int
    piece_hashes: tuple[bytes, ...]
    file_sizes: tuple[int, ...]
    file_paths: tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        return sum(self.file_sizes)

    def piece_length(self, i: int) -> int:
        return min(self.piece_bytes, self.total_bytes - i * self.piece_bytes)

    def layout(self) -> Layout:
        return Layout.of(self.piece_bytes, self.file_sizes, self.file_paths)


def read_torrent(path: Path) -> TorrentMeta:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read the torrent ({e.strerror})") from None
    try:
        top, span = bdecode_info_span(raw)
        info = top[b"info"]
        piece_bytes = int(info[b"piece length"])
        pieces = info[b"pieces"]
        if b"files" in info:
            sizes = tuple(int(f[b"length"]) for f in info[b"files"])
            paths = tuple("/".join(p.decode("utf-8", "replace") for p in f[b"path"]) for f in info[b"files"])
        else:
            sizes, paths = (int(info[b"length"]),), (info[b"name"].decode("utf-8", "replace"),)
    except (BencodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{path}: not a usable v1 .torrent file ({type(e).__name__}: {e})") from None
    if len(pieces) % 20 or piece_bytes <= 0:
        raise UserError(f"{path}: malformed piece hashes or piece length")
    return TorrentMeta(hashlib.sha1(raw[span[0]:span[1]]).digest(), piece_bytes,
                       tuple(pieces[i:i + 20] for i in range(0, len(pieces), 20)), sizes, paths)
