"""The lab's subject log cut to what each connection sent (forensics/lab/sent.py), on hand-made
cases: blocks queued on a connection leave first in, first out, so what a connection sent is the
blocks queued first on it, up to its payload counter."""

from __future__ import annotations

import numpy as np

from forensics.lab.sent import SentCounter, cut_to_sent, sent_from_trace_rows, top_up_to_counter
from sim.layout import BLOCK_BYTES
from sim.results import TransferLog

B = BLOCK_BYTES


def _log(rows):
    """rows: (t, peer, piece, block, bytes)"""
    t, peer, piece, block, nbytes = (list(c) for c in zip(*rows))
    return TransferLog.from_columns(t, peer, piece, block, [1] * len(rows), nbytes)


def test_each_connection_keeps_the_blocks_queued_first():
    # peer 1 sent 2 blocks and a half of its 3 queued ones; peer 2 sent all its 2; peer 3 is unknown
    log = _log([(0.1, 1, 0, 0, B), (0.2, 2, 0, 1, B), (0.3, 1, 0, 2, B), (0.4, 2, 1, 0, B),
                (0.5, 1, 1, 1, B), (0.6, 3, 2, 0, B)])
    cut, dropped = cut_to_sent(log, list(log.peer), {1: 2 * B + B // 2, 2: 2 * B})
    assert dropped == 1
    assert list(zip(cut.peer, cut.piece, cut.first_block)) == [(1, 0, 0), (2, 0, 1), (1, 0, 2), (2, 1, 0), (3, 2, 0)]


def test_nothing_queued_after_an_unsent_block_was_sent():
    # a short last block (the torrent's end) would fit after an unsent full block: FIFO says no
    log = _log([(0.1, 1, 0, 0, B), (0.2, 1, 0, 1, B), (0.3, 1, 5, 0, 100)])
    cut, dropped = cut_to_sent(log, [1, 1, 1], {1: B + 200})
    assert list(cut.first_block) == [0] and dropped == 2


def test_cutting_twice_changes_nothing():
    log = _log([(0.1, 1, 0, 0, B), (0.2, 1, 0, 1, B), (0.3, 2, 0, 2, B)])
    once, _ = cut_to_sent(log, list(log.peer), {1: B, 2: B})
    twice, dropped = cut_to_sent(once, list(once.peer), {1: B, 2: B})
    assert dropped == 0 and list(twice.t_s) == list(once.t_s)


def test_trace_counts_restart_on_a_new_connection():
    # peer 4: a connection that reached 3 blocks, then a new one reaching 2 -> 5 blocks in all
    t = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    remote = np.array([4, 4, 5, 4, 4, 5])
    total = np.array([B, 3 * B, 0, 0, 2 * B, 7])
    sent, last = sent_from_trace_rows(t, remote, total)
    assert sent == {4: 5 * B, 5: 7} and last == {4: 0.5, 5: 0.6}


def test_the_torrent_counter_tops_up_the_connections_read_last():
    # readings: a 1 block, b 1 block; logs: a 3, b 2; the torrent counter says 4 blocks left in all.
    # b was read last (open longest): it gets its missing block first, a the other one.
    sent = top_up_to_counter({"a": B, "b": B}, {"a": 1.0, "b": 2.0}, {"a": 3 * B, "b": 2 * B}, 4 * B)
    assert sent == {"a": 2 * B, "b": 2 * B}
    # a counter below the readings adds nothing
    assert top_up_to_counter({"a": B}, {"a": 1.0}, {"a": 3 * B}, 0) == {"a": B}


def test_bytes_a_closed_connection_sent_unread_go_to_it_not_to_one_read_later():
    """The torrent's counter says 2 blocks went unread. Connection a closed at 1.0 s with 2 blocks
    queued and unread (the readings say so: ``unread``); b, still open, was read last, just before the
    counter, and has 6 blocks left in its send buffer. a gets both blocks; before 2026-12-07 b took
    them (read last first), which a CI run's capture showed wrong by two blocks."""
    sent = {"a": 3 * B, "b": 74 * B}
    last = {"a": 0.9, "b": 9.2}
    logs = {"a": 5 * B, "b": 80 * B}
    got = top_up_to_counter(sent, last, logs, 79 * B, {"a": (1.0, 2 * B)})
    assert got == {"a": 5 * B, "b": 74 * B}
    # what the readings put down to closed connections is more than their logs hold: the rest of
    # the counter's shortfall goes the old way (the last read first)
    got = top_up_to_counter(sent, last, {"a": 4 * B, "b": 80 * B}, 79 * B, {"a": (1.0, 2 * B)})
    assert got == {"a": 4 * B, "b": 75 * B}
    # two intervals, each its own amount; within one, the connection read last first
    sent = {"a": B, "c": B, "d": B, "b": B}
    last = {"a": 0.9, "c": 1.8, "d": 1.85, "b": 3.0}
    logs = {"a": 3 * B, "c": 3 * B, "d": 2 * B, "b": 9 * B}
    unread = {"a": (1.0, B), "c": (1.9, 2 * B), "d": (1.9, 2 * B)}
    got = top_up_to_counter(sent, last, logs, 4 * B + 3 * B, unread)
    assert got == {"a": 2 * B, "c": 2 * B, "d": 2 * B, "b": B}


def test_the_counter_names_the_connections_that_closed_with_bytes_unread(tmp_path):
    """Readings with the torrent's counter: a connection gone since the previous reading takes what
    the counter holds beyond every reading; open ones take nothing (their second read is after the
    counter); a reading at which nothing closed attributes nothing. The file round-trips."""
    from forensics.atomic import write_csv
    from forensics.lab.sent import SENT_COLUMNS, read_sent_file
    c = SentCounter()
    a, b = ("127.0.0.2", 6881), ("127.0.0.3", 7000)
    c.update([_Info(*a, B), _Info(*b, B)], 0.1, 2 * B, [_Info(*a, B), _Info(*b, B)])
    # b sent one more block between the first read and the counter: the second read has it
    c.update([_Info(*a, 2 * B), _Info(*b, B)], 0.2, 4 * B, [_Info(*a, 2 * B), _Info(*b, 2 * B)])
    assert c.unread == {}
    # a closed after sending 3 blocks more (read: 2); b sent one more
    c.update([_Info(*b, 3 * B)], 0.3, 8 * B, [_Info(*b, 3 * B)])
    assert c.unread == {0.3: 3 * B}
    rows = c.rows()
    assert rows == [("127.0.0.2", 6881, 2 * B, "0.2000", "0.3000", 3 * B), ("127.0.0.3", 7000, 3 * B, "0.3000", "", "")]
    write_csv(tmp_path / "s.csv", SENT_COLUMNS, rows)
    sent, last, unread = read_sent_file(tmp_path / "s.csv")
    assert sent == {a: 2 * B, b: 3 * B} and last == {a: 0.2, b: 0.3} and unread == {a: (0.3, 3 * B)}
    # an older file (no such columns): nothing is known of closed connections
    (tmp_path / "old.csv").write_text("peer_ip,peer_port,sent_bytes,last_read_s\n127.0.0.2,6881,5,0.1000\n")
    assert read_sent_file(tmp_path / "old.csv") == ({a: 5}, {a: 0.1}, {})


class _Info:
    def __init__(self, ip, port, up):
        self.ip, self.total_upload = (ip, port), up


def test_subject_counter_adds_a_reused_port_s_connections():
    c = SentCounter()
    c.update([_Info("127.0.0.2", 6881, 3 * B)], 0.1)
    c.update([_Info("127.0.0.2", 6881, B)], 0.2)  # the count dropped: a new connection, same port
    c.update([_Info("127.0.0.2", 6881, 2 * B), _Info("127.0.0.3", 7000, 5)], 0.3)
    assert c.rows() == [("127.0.0.2", 6881, 5 * B, "0.3000", "", ""), ("127.0.0.3", 7000, 5, "0.3000", "", "")]


def test_cut_log_tops_up_then_cuts():
    """One connection read at 1 block, its log 3 blocks, the torrent's counter 2 blocks: the block
    sent after the last reading is kept, the third (never sent) is dropped."""
    from forensics.lab.sent import cut_log
    log = _log([(0.1, 1, 0, 0, B), (0.2, 1, 0, 1, B), (0.3, 1, 0, 2, B)])
    cut, dropped = cut_log(log, [1, 1, 1], {1: B}, {1: 0.15}, 2 * B)
    assert list(cut.first_block) == [0, 1] and dropped == 1


def test_recut_command_refuses_a_non_run_directory(tmp_path, capsys):
    """python -m forensics.calibration cut-to-sent on something that is not a recorded run: a
    one-line error naming it, exit status 2, no traceback and nothing written."""
    from forensics.calibration import _main
    assert _main(["cut-to-sent", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nothing" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
