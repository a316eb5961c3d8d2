"""validation/traces/grants.py on a peer log written by hand."""

import importlib.util
from pathlib import Path

import pandas as pd

_spec = importlib.util.spec_from_file_location("grants", Path(__file__).parents[1] / "validation/traces/grants.py")
grants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(grants)


def _log(rows):
    return pd.DataFrame(rows, columns=["t_s", "local", "remote", "direction", "event", "detail"])


def test_grant_pairs_by_hand():
    a, r = "ASSIGN_BANDWIDTH", "REQUEST_BANDWIDTH"
    log = _log([
        (10.0, 1, 7, ">>>", a, "bytes: 16397"),
        (10.0, 1, 7, ">>>", r, "bytes: 10092 quota: 16397 wanted_transfer: 26489 prio: 1 num_channels: 1"),
        (10.5, 1, 7, ">>>", a, "bytes: 10092"),
        (10.5, 1, 7, ">>>", r, "bytes: 16397 quota: 10092 wanted_transfer: 26489 prio: 1 num_channels: 1"),
        (11.0, 1, 7, ">>>", a, "bytes: 16397"),
        (11.0, 1, 7, ">>>", r, "bytes: 5000 quota: 21489 wanted_transfer: 26489 prio: 1 num_channels: 1"),
        (11.5, 1, 7, ">>>", a, "bytes: 30000"),
        (11.6, 1, 7, ">>>", r, "bytes: 6489 quota: 20000 wanted_transfer: 26489 prio: 1 num_channels: 1"),
        (9.0, 1, 7, ">>>", a, "bytes: 99999"),  # before the window
        (10.0, 2, 7, ">>>", a, "bytes: 99999"),  # another uploader
        (10.0, 1, 7, "<<<", "REQUEST", "piece: 1 s: 0 l: 4000"),
    ])
    t = grants.grant_pairs(log, 1, 10.0, 40.0)
    assert t.remote.tolist() == [7]
    assert t.pairs.tolist() == [3]
    # pairs (16397, 10092), (10092, 16397), (16397, 30000): larger shares .619, .619, .647
    assert abs(t.larger_share_median[0] - 16397 / 26489) < 1e-9
    # the first two requests came with the grant just assigned (before a write); the fourth
    # with less than it (after writes); the third with more (held quota besides): neither
    assert t.requests_before_write.tolist() == [2]
    assert t.requests_after_writes.tolist() == [1]


def test_missing_peer_log_is_a_clear_error(tmp_path, capsys):
    assert grants.main([str(tmp_path), "1"]) == 2
    assert "no peer log" in capsys.readouterr().err


def test_request_waits_by_hand():
    """Requests granted at the next quota tick against those that waited longer: each request is
    paired with the next grant on its connection; a request outside the window, or with no grant
    after it, is not counted."""
    a, r = "ASSIGN_BANDWIDTH", "REQUEST_BANDWIDTH"
    log = _log([
        (10.00, 1, 7, ">>>", r, "bytes: 100 quota: 0"),
        (10.46, 1, 7, ">>>", a, "bytes: 100"),  # next tick: 0.46 s
        (10.47, 1, 7, ">>>", r, "bytes: 200 quota: 100"),
        (11.46, 1, 7, ">>>", a, "bytes: 200"),  # two ticks: 0.99 s
        (11.47, 1, 8, ">>>", r, "bytes: 300 quota: 0"),
        (12.05, 1, 8, ">>>", a, "bytes: 300"),  # 0.58 s: still the next tick (0.5 + 0.1)
        (12.10, 1, 8, ">>>", r, "bytes: 300 quota: 0"),  # never granted: left out
        (9.00, 1, 9, ">>>", r, "bytes: 1 quota: 0"),  # before the window
        (10.80, 1, 9, ">>>", a, "bytes: 1"),
        (10.00, 2, 7, ">>>", r, "bytes: 5 quota: 0"),  # another uploader
        (12.00, 2, 7, ">>>", a, "bytes: 5"),
    ])
    assert grants.request_waits(log, 1, 10.0, 40.0) == {"requests": 3, "waited_longer": 1}
    assert grants.request_waits(log, 2, 10.0, 40.0) == {"requests": 1, "waited_longer": 1}
    assert grants.request_waits(log, 1, 10.0, 40.0, tick_s=1.0) == {"requests": 3, "waited_longer": 0}


def test_model_waits_counts_what_a_limited_channel_carries():
    """The model's count for v06's 1 MB/s seed, one replication, 10-40 s: its seven connections'
    requests queue on its channel every tick, and a few of them - a large request when the
    quota tick's equal share is less - wait past a quota tick. The two counts are of different
    requests' states, so neither can reach the other."""
    root = Path(__file__).parents[1]
    seed = grants.model_waits(root / "validation/v06-seed-after.toml", 1, 1, 10.0, 40.0)
    assert seed["requests"] > 100 and 0 < seed["waited_longer"] < seed["requests"] / 10
