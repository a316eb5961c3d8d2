"""A .torrent file (v1, v2 or hybrid; one file or many; BEP 47 pad files), read by libtorrent.

libtorrent's own parser (``libtorrent.torrent_info``) gives the name, files, sizes, piece size
and info-hashes. libtorrent silently *repairs* unsafe file paths (``..`` becomes ``_``, an
absolute path loses its root), so the raw paths are checked here first: a torrent whose paths
try to leave its directory is refused, since in a real matter it is itself a finding.

Pad files stay in the file list where they separate files (they shift every later file's
offset, so dropping them would move piece boundaries); a pad file at the very end is dropped
(it shifts nothing). libtorrent never requests a block that lies wholly inside a pad file; the
model moves whole pieces, so a case overstates by at most the interior pad bytes — reported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .evidence_file import EvidenceFile

ALLOWED = "a .torrent file: a bencoded dictionary with an 'info' dictionary (BEP 3, BEP 52), v1, v2 or hybrid"


@dataclass(frozen=True)
class TorrentEvidence:
    source: EvidenceFile
    name: str
    piece_bytes: int
    files: tuple[tuple[str, int], ...]  # (path, size) in torrent order, interior pad files included
    pad_files: tuple[int, ...]  # indices into files of the pad files kept
    tail_pad_bytes: int  # the dropped final pad file
    empty_files: tuple[str, ...]  # zero-length files, dropped
    info_hash_v1: str | None
    info_hash_v2: str | None

    @property
    def total_bytes(self) -> int:
        return sum(s for _, s in self.files)

    @property
    def interior_pad_bytes(self) -> int:
        return sum(self.files[i][1] for i in self.pad_files)

    @property
    def version(self) -> str:
        return "hybrid" if self.info_hash_v1 and self.info_hash_v2 else ("v2" if self.info_hash_v2 else "v1")


def read_torrent_file(ev: EvidenceFile) -> TorrentEvidence:
    import libtorrent as lt

    if ev.data.lstrip().startswith(b"magnet:"):
        raise ev.error("<file>", "holds a magnet link, not torrent metadata", ALLOWED)
    try:
        ti = lt.torrent_info(ev.data)  # libtorrent's own bdecode and metadata checks
    except RuntimeError as e:
        raise ev.error("<bencoding>", f"libtorrent cannot read it ({e})", ALLOWED) from None
    _check_raw_paths(ev, lt.bdecode(ev.data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        fs = ti.files()
    files, pads = [], []
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            pads.append(i)
        files.append((fs.file_path(i).replace("\\", "/"), int(fs.file_size(i))))
    tail = 0
    if pads and pads[-1] == len(files) - 1:
        tail = files.pop()[1]
        pads.pop()
    empty = [p for p, s in files if s == 0]  # an empty file shifts nothing and holds no piece
    keep = [k for k, (_, s) in enumerate(files) if s > 0]
    pads = [keep.index(i) for i in pads]
    files = [files[k] for k in keep]
    hashes = ti.info_hashes()
    return TorrentEvidence(
        source=ev, name=ti.name(), piece_bytes=int(ti.piece_length()), files=tuple(files), pad_files=tuple(pads),
        tail_pad_bytes=tail, empty_files=tuple(empty),
        info_hash_v1=str(hashes.v1) if hashes.has_v1() else None,
        info_hash_v2=str(hashes.v2) if hashes.has_v2() else None,
    )


def _unsafe(element: bytes) -> bool:
    text = element.decode("utf-8", "replace")
    return (text in ("", ".", "..") or "/" in text or "\\" in text
            or (len(text) >= 2 and text[1] == ":" and text[0].isalpha()))


def _check_raw_paths(ev: EvidenceFile, top: object) -> None:
    """Refuse path elements that leave the torrent's directory: '..', '.', empty, separators, drives."""
    info = top.get(b"info", {}) if isinstance(top, dict) else {}
    name = info.get(b"name", b"")
    if isinstance(name, bytes) and _unsafe(name):
        raise ev.error("info.name", f"{name.decode('utf-8', 'replace')!r} is not a safe directory or file name",
                       "one path element: no '..', '.', '/', '\\' or drive letter")
    for k, f in enumerate(info.get(b"files", []) or []):
        path = f.get(b"path", []) if isinstance(f, dict) else []
        for el in path:
            if isinstance(el, bytes) and _unsafe(el):
                shown = "/".join(x.decode("utf-8", "replace") for x in path if isinstance(x, bytes))
                raise ev.error(f"info.files[{k}].path", f"{shown!r} leaves the torrent's directory",
                               "relative path elements: no '..', '.', '/', '\\' or drive letter")
    _check_tree(ev, info.get(b"file tree"), [])


def _check_tree(ev: EvidenceFile, node: object, at: list[str]) -> None:
    if not isinstance(node, dict):
        return
    for key, child in node.items():
        if key == b"":  # a file's leaf dictionary
            continue
        if _unsafe(key):
            shown = "/".join([*at, key.decode("utf-8", "replace")])
            raise ev.error("info.file tree", f"{shown!r} leaves the torrent's directory",
                           "relative path elements: no '..', '.', '/', '\\' or drive letter")
        _check_tree(ev, child, [*at, key.decode("utf-8", "replace")])
