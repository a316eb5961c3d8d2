"""Torrents made by libtorrent itself (the program that reads them), for the case builder's tests."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest

from leechsim.env import Environment
from leechsim.main import main

FILES = {"book/part1.bin": 300_000, "book/sub/part2.bin": 70_000}
PIECE_BYTES = 32768


def make_torrent(tmp: Path, version: str, files: dict[str, int] = FILES, piece_bytes: int = PIECE_BYTES) -> Path:
    """A real .torrent made by libtorrent's create_torrent over real files: v1, v2 or hybrid."""
    import libtorrent as lt

    root = tmp / f"content-{version}"
    for rel, size in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(bytes((i * 7 + len(rel)) % 251 for i in range(size)))
    fs = lt.file_storage()
    for rel, size in files.items():
        fs.add_file(rel, size)
    flags = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}[version]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ct = lt.create_torrent(fs, piece_bytes, flags=flags)
    lt.set_piece_hashes(ct, str(root))
    out = tmp / f"{version}.torrent"
    out.write_bytes(lt.bencode(ct.generate()))
    return out


def edit_torrent(src: Path, out: Path, change) -> Path:
    """A copy of a real torrent with its decoded dictionary changed (what no client would write)."""
    import libtorrent as lt

    d = lt.bdecode(src.read_bytes())
    change(d)
    out.write_bytes(lt.bencode(d))
    return out


def run_cli(args: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], Environment(stdout=out, stderr=err, progress=False))
    return int(code), out.getvalue(), err.getvalue()


@pytest.fixture
def v1_torrent(tmp_path) -> Path:
    return make_torrent(tmp_path, "v1")


def libtorrent_fastresume(torrent: Path, content_root: Path, out: Path) -> Path:
    """A real .fastresume: libtorrent's own session adds the torrent (as a seed of files on disk,
    no network) and its own writer (write_resume_data_buf) saves the state."""
    import libtorrent as lt

    ses = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                      "enable_upnp": False, "enable_natpmp": False})
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(str(torrent))
    p.save_path = str(content_root)
    p.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(p)
    h.save_resume_data(lt.torrent_handle.save_info_dict)
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, lt.save_resume_data_alert):
                out.write_bytes(lt.write_resume_data_buf(a.params))
                return out
    raise AssertionError("libtorrent wrote no resume data within 10 s")
