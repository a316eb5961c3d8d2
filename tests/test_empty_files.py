"""0-byte files, as real torrents contain them: accepted in ``files``, mapped to no piece, never
counted as a copy, and built into a real torrent by libtorrent with the simulator's layout."""

from __future__ import annotations

import numpy as np

from forensics.lab.payload import check_layout, make_torrent, write_payload
from sim.engine import simulate_replication
from sim.layout import Layout
from tests.conftest import make_scenario

KiB = 1024
FILES = [{"path": "a.bin", "size": 100 * KiB}, {"path": "empty-middle", "size": 0},
         {"path": "b.bin", "size": 92 * KiB}, {"path": "empty-end", "size": 0}]


def test_an_empty_file_overlaps_no_piece():
    """64 KiB pieces: a = [0, 100K) pieces 0-1, the empty file at 100K none, b = [100K, 192K) pieces 1-2;
    the empty file at the very start, on a piece boundary, none either."""
    lay = Layout.of(64 * KiB, [0, 100 * KiB, 0, 92 * KiB, 0], ["e0", "a", "e1", "b", "e2"])
    first, last = lay.file_piece_ranges()
    assert lay.num_pieces == 3
    assert list(last - first + 1) == [0, 2, 0, 2, 0]
    assert (first[[1, 3]] == [0, 1]).all() and (last[[1, 3]] == [1, 2]).all()


def test_a_scenario_with_empty_files_runs_and_never_copies_them():
    sc = make_scenario(**{"torrent.total_size": None, "torrent.files": FILES, "torrent.piece_size": "64KiB",
                          "subject.on_complete": "never_stop"})
    copied = 0
    for seed in range(4, 10):  # whether the subject hands out a whole file depends on the draw
        files = simulate_replication(sc, 0, np.random.SeedSequence(seed)).files
        empty = np.asarray(files["size_bytes"]) == 0
        assert list(np.asarray(files["path"])[empty]) == ["empty-middle", "empty-end"]
        assert (np.asarray(files["bytes_uploaded"])[empty] == 0).all()
        assert not np.asarray(files["complete_copy"])[empty].any()
        assert (np.asarray(files["pieces_touched"])[empty] == 0).all()
        copied += int(np.asarray(files["complete_copy"])[~empty].sum())
    assert copied > 0  # the real files were copied in some replications (the check can fail)


def test_libtorrent_builds_the_torrent_with_the_simulators_layout(tmp_path):
    """The lab's payload and torrent (real libtorrent): the empty files are in it, the pieces match."""
    sc = make_scenario(**{"torrent.total_size": None, "torrent.files": FILES, "torrent.piece_size": "64KiB"})
    write_payload(sc, tmp_path, payload_seed=1)
    assert (tmp_path / sc.torrent.name / "empty-middle").stat().st_size == 0
    torrent = make_torrent(sc, tmp_path, None)
    layout = Layout.of(sc.torrent.piece_size, sc.torrent.file_sizes, sc.torrent.file_paths)
    assert len(check_layout(torrent, layout)) == 40  # raises if libtorrent's layout differed
