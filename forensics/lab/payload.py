"""The content: random bytes from the run's seed, written as the scenario's files, and a torrent
made by libtorrent itself (v1 only, no pad files, so pieces straddle file boundaries exactly as
``sim.layout`` assumes)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from sim.layout import Layout
from sim.scenario import Scenario

from .errors import LabRunError

CHUNK_BYTES = 4 * 1024 * 1024


def write_payload(sc: Scenario, root: Path, payload_seed: int) -> None:
    """Write every file of the torrent under ``root/<torrent name>/``."""
    rng = np.random.default_rng(payload_seed)
    for rel, size in zip(_rel_paths(sc), sc.torrent.file_sizes):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            left = int(size)
            while left:
                n = min(left, CHUNK_BYTES)
                f.write(rng.bytes(n))
                left -= n


def _rel_paths(sc: Scenario) -> list[str]:
    if sc.torrent.files is None:
        return [sc.torrent.name]
    return [f"{sc.torrent.name}/{p}" for p in sc.torrent.file_paths]


def make_torrent(sc: Scenario, root: Path, announce_url: str | None) -> bytes:
    """Hash the payload under ``root`` and return the bencoded .torrent."""
    import libtorrent as lt

    fs = lt.file_storage()
    for rel, size in zip(_rel_paths(sc), sc.torrent.file_sizes):
        fs.add_file(rel, int(size))
    with warnings.catch_warnings():  # the file_storage constructor is deprecated in 2.1, still the portable one
        warnings.simplefilter("ignore", DeprecationWarning)
        ct = lt.create_torrent(fs, sc.torrent.piece_size, flags=lt.create_torrent.v1_only)
    if announce_url:
        ct.add_tracker(announce_url)
    ct.set_creator("leechsim lab")
    ct.set_priv(bool(sc.torrent.private))  # a private torrent: libtorrent runs no peer exchange for it
    lt.set_piece_hashes(ct, str(root))
    return lt.bencode(ct.generate())


def check_layout(torrent_bytes: bytes, layout: Layout) -> str:
    """The torrent's v1 info-hash, after checking that its pieces are the simulator's pieces."""
    import libtorrent as lt

    ti = lt.torrent_info(lt.bdecode(torrent_bytes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        files = ti.files()
    sizes = [files.file_size(k) for k in range(files.num_files())]
    if (ti.piece_length() != layout.piece_bytes or ti.num_pieces() != layout.num_pieces
            or sizes != [int(x) for x in layout.file_bytes]):
        raise LabRunError(f"libtorrent made a torrent whose layout differs from the scenario's: "
                           f"piece {ti.piece_length()} x {ti.num_pieces()}, files {sizes}")
    return str(ti.info_hashes().v1)
