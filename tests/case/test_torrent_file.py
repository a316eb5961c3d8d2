"""Reading a .torrent with libtorrent's parser: versions, files, pad files, unsafe paths."""

import hashlib

import pytest

from forensics.case.evidence_file import read_evidence
from forensics.case.torrent_file import read_torrent_file
from forensics.errors import UserError

from .conftest import FILES, PIECE_BYTES, edit_torrent, make_torrent


def read(path):
    return read_torrent_file(read_evidence(path, ".torrent"))



@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_every_version_gives_the_files_and_piece_size(tmp_path, version):
    """Each version: the real files with their sizes, in order, and the piece size it was made with;
    v2 and hybrid align each file to a piece with a pad file (BEP 47/52), kept between files (it
    shifts the next file) and dropped at the end (it shifts nothing)."""
    import libtorrent as lt

    path = make_torrent(tmp_path, version)
    t = read(path)
    assert t.version == version and t.name == "book" and t.piece_bytes == PIECE_BYTES
    real = [(f"book/{p.split('/', 1)[1]}", s) for p, s in FILES.items()]
    assert [f for i, f in enumerate(t.files) if i not in t.pad_files] == real
    if version == "v1":
        assert t.pad_files == () and t.tail_pad_bytes == 0
        info = lt.bdecode(path.read_bytes())[b"info"]
        assert t.info_hash_v1 == hashlib.sha1(lt.bencode(info)).hexdigest()
        assert t.info_hash_v2 is None
    else:
        pad = -300_000 % PIECE_BYTES  # what aligns part2 to the next piece boundary
        assert t.pad_files == (1,) and t.files[1][1] == pad
        assert t.tail_pad_bytes == -70_000 % PIECE_BYTES
        assert (t.info_hash_v1 is not None) == (version == "hybrid")
        info = lt.bdecode(path.read_bytes())[b"info"]
        assert t.info_hash_v2 == hashlib.sha256(lt.bencode(info)).hexdigest()
    assert t.total_bytes % PIECE_BYTES == (370_000 if version == "v1" else 70_000) % PIECE_BYTES


def test_single_file(tmp_path):
    """A one-file torrent: its name is the file."""
    t = read(make_torrent(tmp_path, "v1", {"only.pdf": 100_000}))
    assert t.files == (("only.pdf", 100_000),) and t.name == "only.pdf"


@pytest.mark.parametrize("bad, field", [
    ([b"..", b"evil.bin"], "info.files[0].path"),
    ([b"/etc", b"passwd"], "info.files[0].path"),
    ([b"C:", b"x"], "info.files[0].path"),
    ([b"a\\..\\..\\b"], "info.files[0].path"),
])
def test_paths_that_leave_the_directory_are_refused(tmp_path, v1_torrent, bad, field):
    """libtorrent repairs such paths silently; the case builder refuses them, naming the field."""
    def change(d):
        d[b"info"][b"files"][0][b"path"] = bad
    path = edit_torrent(v1_torrent, tmp_path / "evil.torrent", change)
    with pytest.raises(UserError) as e:
        read(path)
    assert str(path) in str(e.value) and field in str(e.value) and "allowed" in str(e.value)


def test_v2_file_tree_traversal_is_refused(tmp_path):
    """v2 keeps paths as the keys of a file tree: a '..' key is refused too."""
    def change(d):
        tree = d[b"info"][b"file tree"]
        tree[b".."] = tree.pop(b"part1.bin")
    path = edit_torrent(make_torrent(tmp_path, "v2"), tmp_path / "e.torrent", change)
    with pytest.raises(UserError, match=r"info.file tree.*leaves the torrent's directory"):
        read(path)


@pytest.mark.parametrize("cut", [1, 50, -10])
def test_truncated_torrent(tmp_path, v1_torrent, cut):
    """A truncated file: libtorrent's own error, the file and what is allowed."""
    data = v1_torrent.read_bytes()
    path = tmp_path / "cut.torrent"
    path.write_bytes(data[:cut] if cut > 0 else data[:cut])
    with pytest.raises(UserError) as e:
        read(path)
    assert str(path) in str(e.value) and "<bencoding>" in str(e.value) and "allowed: a .torrent file" in str(e.value)
