"""validation/traces/request_chain.py and origins.py on lab files written by hand."""

import copy
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from tests.conftest import SMALL


def _load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / f"validation/traces/{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


request_chain = _load("request_chain")
origins = _load("origins")

PEERS = pd.DataFrame({"peer": [0, 1, 2, 3], "role": ["subject", "seed", "leecher", "leecher"]})
LOG_COLS = ["t_s", "local", "remote", "direction", "event", "detail"]


def _log(rows):
    return pd.DataFrame(rows, columns=LOG_COLS)


def test_request_chain_by_hand():
    # the subject (0) completes piece 7 at 10.0 s, before both leechers; leecher 2 reads the HAVE at
    # 10.1, writes its REQUEST at 10.3, the subject reads it at 11.2 and sends the block at 11.25;
    # leecher 3 never asks. Piece 8: leecher 2 had it first (9.0 s), so it does not count.
    log = _log([
        (10.0, 0, 1, "<<<", "RECEIVED", "piece: 7"),
        (10.0, 0, 2, "==>", "HAVE", "piece: 7"), (10.0, 0, 3, "==>", "HAVE", "piece: 7"),
        (10.05, 2, 0, "***", "PIECE_PICKER", "dlq: 0 rqq: 0 target: 4 req: 4 endgame: 0"),
        (10.1, 2, 0, "<==", "HAVE", "piece: 7"),
        (10.2999, 2, 0, "***", "UPDATE_INTEREST", "interesting, piece: 7"),
        (10.2999, 2, 0, "***", "PIECE_PICKER", "prefer_contiguous: 0 picked: 4"),
        (10.3, 2, 0, "==>", "REQUEST", "piece: 7 s: 0 l: 4000"),
        (10.4, 2, 0, "==>", "REQUEST", "piece: 7 s: 4000 l: 4000"),
        (11.2, 0, 2, "<==", "REQUEST", "piece: 7 s: 0 l: 4000"),
        (11.25, 0, 2, "==>", "PIECE", "piece: 7 s: 0 l: 4000"),
        (9.0, 2, 1, "<<<", "RECEIVED", "piece: 8"), (12.0, 0, 1, "<<<", "RECEIVED", "piece: 8"),
        (12.5, 0, 2, "==>", "PIECE", "piece: 8 s: 0 l: 4000"),
    ])
    c = request_chain.chains(log, PEERS).set_index("leecher")
    assert list(c.piece) == [7, 7]
    assert c.loc[2, "have_out"] == 0.0 and c.loc[2, "have_in"] == pytest.approx(0.1)
    assert c.loc[2, "request_out"] == pytest.approx(0.3) and c.loc[2, "request_in"] == pytest.approx(1.2)
    assert c.loc[2, "piece_out"] == pytest.approx(1.25)
    assert c.loc[2, "in_buffer"] == pytest.approx(0.9)  # written at 10.3, read at 11.2
    assert pd.isna(c.loc[3, "in_buffer"])
    assert c.loc[3, "have_out"] == 0.0 and pd.isna(c.loc[3, "request_out"]) and pd.isna(c.loc[3, "piece_out"])
    # leecher 2 had asked the subject for nothing, and picked the piece when it completed one of its own
    assert c.loc[2, "trigger"] == "its own piece completed" and c.loc[2, "idle"] is True
    assert pd.isna(c.loc[3, "trigger"]) and pd.isna(c.loc[3, "idle"])


def test_request_trigger_is_the_nearest_within_10_ms():
    """A block from the subject 1 ms before the REQUEST made it (PIECE_PICKER and REQUEST lines in
    between are not triggers); one 20 ms before did not ("other"); a queue not empty is not idle."""
    rows = [(4.98, 2, 0, "<==", "PIECE", "piece: 3 s: 0 l: 4000"),
            (4.99, 2, 0, "***", "PIECE_PICKER", "dlq: 2 rqq: 1 target: 4 req: 1 endgame: 0"),
            (5.0, 2, 0, "<==", "HAVE", "piece: 7")]
    c = _log(rows + [(5.199, 2, 0, "<==", "PIECE", "piece: 3 s: 4000 l: 4000"),
                     (5.1995, 2, 0, "***", "PIECE_PICKER", "prefer_contiguous: 0 picked: 1"),
                     (5.2, 2, 0, "==>", "REQUEST", "piece: 9 s: 0 l: 4000")])
    assert request_chain._trigger(c, 7, 5.0, 5.2) == ("a block from the subject", False)
    c = _log(rows + [(5.18, 2, 0, "<==", "PIECE", "piece: 3 s: 4000 l: 4000")])
    assert request_chain._trigger(c, 7, 5.0, 5.2) == ("other", False)


def test_request_chain_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit, match="no such run directory"):
        request_chain.lab_chains(tmp_path / "nothing")
    (tmp_path / "run" / "replications" / "0000").mkdir(parents=True)
    with pytest.raises(SystemExit, match="--peer-log"):
        request_chain.lab_chains(tmp_path / "run")
    pd.DataFrame(columns=LOG_COLS).to_csv(tmp_path / "run" / "replications" / "0000" / "peer_log.csv", index=False)
    with pytest.raises(SystemExit, match="peers.csv: missing"):
        request_chain.lab_chains(tmp_path / "run")
    with pytest.raises(SystemExit):
        request_chain.main([])
    assert "RUN_DIR" in capsys.readouterr().err


def test_origins_by_hand(tmp_path):
    # two-block pieces 0 and 1. Piece 0: the subject's second block at 5 s, leecher 2's at 6 s, leecher
    # 3's at 9 s (its block 0 sent twice, counted once) -> the subject first, median leecher 2.5 s later.
    # Piece 1: leecher 2 complete at 3 s, before the subject (4 s) -> not counted.
    rep = tmp_path / "run" / "replications" / "0000"
    (rep / "blocks").mkdir(parents=True)
    PEERS.to_csv(rep / "peers.csv", index=False)
    ip = {0: "127.9.0.2", 2: "127.9.0.4", 3: "127.9.0.5"}
    seed = [(4.0, ip[0], 0, 0), (5.0, ip[0], 0, 1), (5.5, ip[2], 0, 0), (2.0, ip[2], 1, 0), (3.0, ip[2], 1, 1),
            (1.0, ip[0], 1, 0), (4.0, ip[0], 1, 1)]
    subject = [(6.0, ip[2], 0, 1), (7.0, ip[3], 0, 0), (8.0, ip[3], 0, 0), (9.0, ip[3], 0, 1)]
    pd.DataFrame(seed, columns=["t_s", "peer_ip", "piece", "block"]).to_csv(rep / "blocks" / "peer-0001-blocks.csv.gz",
                                                                              index=False)
    # a later recording's log, with the receiver's port as a fifth field under a four-name header
    with open(rep / "blocks" / "subject-blocks.csv", "w") as fh:
        fh.write("t_s,peer_ip,piece,block\n" + "".join(f"{t},{a},{p},{b},40000\n" for t, a, p, b in subject))
    counts, lags = origins.lab_origins(tmp_path / "run")
    assert counts == [1] and lags == [pytest.approx(2.5)]


def test_origins_bad_input(tmp_path):
    with pytest.raises(SystemExit, match="no such run directory"):
        origins.lab_origins(tmp_path / "nothing")
    (tmp_path / "run" / "replications" / "0000").mkdir(parents=True)
    with pytest.raises(SystemExit, match="--all-blocks"):
        origins.lab_origins(tmp_path / "run")



def test_model_modes_run_the_model(tmp_path):
    # the shared small scenario (tests/conftest.py), its subject joining with the flash crowd
    data = copy.deepcopy(SMALL)
    data["subject"]["join_s"] = 0
    data["simulation"]["horizon_s"] = 120
    path = tmp_path / "s.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    lags = request_chain.model_lags(path, 2)
    # the subject never sends a piece before the tick it completed it in (0: later in that tick)
    assert len(lags) > 0 and (lags >= 0).all()
    assert ((lags / 0.5) - (lags / 0.5).round() == 0).all()  # whole ticks
    assert request_chain.model_tick_s(path) == 0.5  # the default quota tick
    data["simulation"]["tick_s"] = 0.25
    path.write_bytes(tomli_w.dumps(data).encode())
    assert request_chain.model_tick_s(path) == 0.25  # the scenario's own, not the lab's
    data["simulation"]["tick_s"] = 0.5
    path.write_bytes(tomli_w.dumps(data).encode())
    counts, med = origins.model_origins(path, 2)
    assert len(counts) == 2 and all(0 <= n <= 64 for n in counts) and sum(counts) > 0
    assert all(x >= 0 for x in med)


def test_peer_index_inverts_peer_ip():
    from forensics.lab.plan import peer_ip, peer_index
    for i in (0, 1, 7, 249, 250, 251, 999, 12_345):
        assert peer_index(peer_ip(9, i)) == i
        assert peer_index(peer_ip(9, i, outgoing=True)) == i  # a non-connectable peer's second address
