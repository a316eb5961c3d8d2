"""validation/traces/download_grants.py on peer logs written by hand."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location(
    "download_grants", Path(__file__).parents[1] / "validation/traces/download_grants.py")
download_grants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(download_grants)

COLS = ["t_s", "local", "remote", "direction", "event", "detail"]


def _rq(t, local, remote, asked, held, wanted):
    return (t, local, remote, "<<<", "REQUEST_BANDWIDTH",
            f"bytes: {asked} quota: {held} wanted_transfer: {wanted} prio: 1 num_channels: 1")


def _as(t, local, remote, granted):
    return (t, local, remote, "<<<", "ASSIGN_BANDWIDTH", f"bytes: {granted}")


LOG = pd.DataFrame([
    # leecher 2 reading the subject: asks 100 kB at 10.2 s holding 50 kB, granted at 10.5 s; asks
    # 60 kB at 11.0 s, granted at 12.0 s
    _rq(10.2, 2, 0, 100000, 50000, 150000), _as(10.5, 2, 0, 100000),
    _rq(11.0, 2, 0, 60000, 90000, 150000), _as(12.0, 2, 0, 60000),
    # leecher 2 reading leecher 3: one request, granted after 0.5 s
    _rq(10.1, 2, 3, 30000, 10000, 40000), _as(10.6, 2, 3, 30000),
    # the upload channel (>>>) and the subject's own reading (local 0) are not read
    (10.3, 2, 0, ">>>", "REQUEST_BANDWIDTH", "bytes: 68 quota: 0 wanted_transfer: 68 prio: 1 num_channels: 1"),
    _rq(10.3, 0, 2, 5000, 0, 5000), _as(10.5, 0, 2, 5000),
    # a request before the window, and one never granted: left out
    _rq(5.0, 3, 1, 20000, 0, 20000), _as(5.5, 3, 1, 20000),
    _rq(15.0, 3, 1, 20000, 0, 20000),
], columns=COLS)


def test_request_grants_by_hand():
    r = download_grants.request_grants(LOG, 10.0, 20.0).sort_values(["remote", "t_s"]).reset_index(drop=True)
    assert r.remote.tolist() == [0, 0, 3] and r.reader.tolist() == [2, 2, 2]
    assert r.wait_s.round(3).tolist() == [0.3, 1.0, 0.5]
    assert r.asked.tolist() == [100000, 60000, 30000] and r.held.tolist() == [50000, 90000, 10000]
    assert r.granted.tolist() == [100000, 60000, 30000]
    assert download_grants.request_grants(LOG, 10.0, 20.0, reader=0).remote.tolist() == [2]


def test_summarise_by_hand():
    r = download_grants.request_grants(LOG, 10.0, 20.0).assign(run=0)
    s = download_grants.summarise(r, 10.0)
    assert s.index.tolist() == ["subject", "leecher"]
    sub = s.loc["subject"]
    assert sub.requests == 2 and sub.connections == 1
    assert sub.wait_median_s == pytest.approx(0.65) and sub.asked_kB == pytest.approx(80.0)
    # 160 kB granted over 10 s on one connection; 2 grants over 10 s
    assert sub["kB/s per connection"] == pytest.approx(16.0) and sub["grants/s per connection"] == pytest.approx(0.2)
    assert s.loc["leecher", "fully_granted"] == 1.0


def test_main_errors_and_output(tmp_path, capsys):
    with pytest.raises(SystemExit, match="peer_log.csv"):
        download_grants.main([str(tmp_path)])
    d = tmp_path / "run" / "replications" / "0000"
    d.mkdir(parents=True)
    LOG.to_csv(d / "peer_log.csv", index=False)
    with pytest.raises(SystemExit):
        download_grants.main([str(tmp_path / "run"), "--from", "20", "--to", "10"])
    assert "must be after" in capsys.readouterr().err
    bad = tmp_path / "bad" / "replications" / "0000"
    bad.mkdir(parents=True)
    LOG.drop(columns="detail").to_csv(bad / "peer_log.csv", index=False)
    with pytest.raises(SystemExit, match="not a lab peer log .*detail"):
        download_grants.main([str(tmp_path / "bad")])
    with pytest.raises(SystemExit, match="no download-channel request"):
        download_grants.main([str(tmp_path / "run"), "--from", "30", "--to", "40"])
    assert download_grants.main([str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "(1 runs, requests made 10-40 s)" in out and "subject" in out and "leecher" in out
