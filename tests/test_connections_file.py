"""forensics.traces: a replication's connections table found as connections.csv, .csv.gz or .csv.xz,
and the readers that use it giving the same results for each form (h13's recording keeps it as
.xz). The files are written here with the standard library's gzip and lzma, not by the code
under test."""

from __future__ import annotations

import gzip
import importlib.util
import io
import lzma
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forensics.connection_report import load_traced_replication
from forensics.errors import UserError
from forensics.lab.sent import sent_from_merged_trace
from forensics.traces import connections_file, open_by_suffix
from leechsim.env import Environment
from leechsim.main import main
from sim.results import CONNECTION_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
H13 = ROOT / "validation/holdout/recorded/h13-default-scenario"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "validation/traces" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pair_rates = _script("pair_rates")
open_connections = _script("open_connections")
collect = _script("collect")

# (t_s, local, remote, total_up_bytes, choked): the subject (0) sends peer 1 1,000 B/s and peer 2
# 500 B/s; peer 1's own rows (local 1) are the other direction
ROWS = [(t, 0, 1, 1000 * t, int(t == 0)) for t in range(6)] + \
       [(t, 0, 2, 500 * t, 0) for t in range(6)] + \
       [(t, 1, 0, 0, 1) for t in range(6)]


def _table_text(rows=ROWS) -> str:
    lines = [",".join(CONNECTION_COLUMNS)]
    for t, local, remote, total, choked in rows:
        row = dict.fromkeys(CONNECTION_COLUMNS, "0")
        row.update(t_s=f"{t:.1f}", local=str(local), remote=str(remote), total_up_bytes=str(total),
                   choked=str(choked), remote_interested="1", target_dl_queue_length="",
                   read_state="idle", write_state="limit")
        lines.append(",".join(row[c] for c in CONNECTION_COLUMNS))
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> Path:
    data = text.encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".xz"):
        data = lzma.compress(data)
    path.write_bytes(data)
    return path


def _run(root: Path, forms: dict[str, str]) -> Path:
    """A run directory with replication 0000: peers.csv and the connections table in each of
    ``forms`` (file name -> its text)."""
    rep = root / "replications" / "0000"
    rep.mkdir(parents=True)
    (rep / "peers.csv").write_text("peer,role,upload_bps,complete_s\n0,subject,2000.0,\n1,seed,0,\n"
                                   "2,leecher,500.0,\n")
    for name, text in forms.items():
        _write(rep / name, text)
    return root


FORMS = ("connections.csv", "connections.csv.gz", "connections.csv.xz")


@pytest.mark.parametrize("name", FORMS)
def test_each_form_is_found_and_opened(tmp_path, name):
    path = _write(tmp_path / name, _table_text())
    assert connections_file(tmp_path) == path
    with open_by_suffix(path) as f:
        assert f.read() == _table_text()


def test_no_table_is_none(tmp_path):
    (tmp_path / "connections.csv.bz2").write_bytes(b"")  # not one of the forms
    (tmp_path / "connections.csv.gz").mkdir()  # nor is a directory
    assert connections_file(tmp_path) is None


@pytest.mark.parametrize("present, chosen", [
    (("connections.csv", "connections.csv.gz"), "connections.csv"),
    (("connections.csv", "connections.csv.xz"), "connections.csv"),
    (("connections.csv.gz", "connections.csv.xz"), "connections.csv.gz"),
    (FORMS, "connections.csv"),
])
def test_preference_order(tmp_path, present, chosen):
    for name in present:
        _write(tmp_path / name, _table_text())
    assert connections_file(tmp_path) == tmp_path / chosen


def test_readers_follow_the_preference(tmp_path):
    """.csv (rows up to 2 s) beside .gz (all rows): both readers read the .csv."""
    short = [r for r in ROWS if r[0] <= 2]
    run = _run(tmp_path / "run", {"connections.csv": _table_text(short), "connections.csv.gz": _table_text()})
    [(table, _)] = pair_rates.replications(run, None)
    assert len(table) == len(short)
    data = load_traced_replication(run, 0, 0)
    assert data.table["t_s"].tolist() == [0.0, 1.0, 2.0] * 2


def test_same_table_through_the_readers_for_each_form(tmp_path):
    frames, tables, sent, rows = [], [], [], []
    for name in FORMS:
        run = _run(tmp_path / name, {name: _table_text()})
        [(frame, peers)] = pair_rates.replications(run, None)
        assert peers == run / "replications/0000/peers.csv"
        frames.append(frame)
        tables.append(load_traced_replication(run, 0, 0).table)
        sent.append(sent_from_merged_trace(connections_file(run / "replications/0000"), local=0))
        out = tmp_path / f"{name}-rows.csv.gz"
        collect.uploader_rows_gz(connections_file(run / "replications/0000"), out, 1)
        rows.append(gzip.decompress(out.read_bytes()).decode())
    # by hand: 18 rows; the subject's 12, in file order
    assert len(frames[0]) == 18 and frames[0].columns.tolist() == list(CONNECTION_COLUMNS)
    for f in frames[1:]:
        pd.testing.assert_frame_equal(f, frames[0])
    expected_up = [1000 * t for t in range(6)] + [500 * t for t in range(6)]
    for t in tables:
        assert t["total_up_bytes"].tolist() == expected_up
        assert t["remote"].tolist() == [1] * 6 + [2] * 6
        assert t["choked"].tolist() == [1] + [0] * 11
    # the subject sent peer 1 5,000 B and peer 2 2,500 B, last read at 5 s
    assert all(s == ({1: 5000, 2: 2500}, {1: 5.0, 2: 5.0}) for s in sent)
    # peer 1's rows only: the header and its six lines as written
    header, *lines = _table_text().splitlines(keepends=True)
    assert all(r == header + "".join(ln for ln in lines if ln.split(",")[1] == "1") for r in rows)


@pytest.mark.parametrize("name", FORMS)
def test_leechsim_trace_reads_each_form(tmp_path, name):
    run = _run(tmp_path / "run", {name: _table_text()})
    out, err = io.StringIO(), io.StringIO()
    code = main(["trace", str(run), "--uploader", "0", "--out", str(tmp_path / "fig")],
                Environment(stdout=out, stderr=err, progress=False))
    assert code == 0, err.getvalue()
    per_remote = pd.read_csv(tmp_path / "fig" / "trace-r0000-u0000-connections.csv")
    assert sorted(per_remote.remote) == [1, 2]


def test_a_missing_table_is_refused_by_name(tmp_path):
    run = _run(tmp_path / "run", {})
    with pytest.raises(UserError, match=r"0000/connections.csv: missing; this run was not traced .*\.csv\.xz"):
        load_traced_replication(run, 0, 0)
    out, err = io.StringIO(), io.StringIO()
    code = main(["trace", str(run)], Environment(stdout=out, stderr=err, progress=False))
    assert code == 2 and "connections.csv: missing" in err.getvalue() and "Traceback" not in err.getvalue()
    with pytest.raises(SystemExit, match=r"no replications/NNNN/connections.csv\[\.gz\|\.xz\]"):
        pair_rates.replications(run, None)
    with pytest.raises(SystemExit, match=r"0000: no connections.csv\(\.gz/\.xz\)"):
        open_connections.open_connections(run, 0, [0, 5])


def test_h13_recording_is_read_from_its_xz():
    """The hold-out recording keeps replication 0000's table only as connections.csv.xz."""
    rep = H13 / "replications/0000"
    xz = rep / "connections.csv.xz"
    assert connections_file(rep) == xz and not (rep / "connections.csv").exists()
    whole = pd.read_csv(xz)
    [(frame, _)] = pair_rates.replications(H13, 1)
    assert len(frame) == len(whole) > 0
    data = load_traced_replication(H13, 0, 0)
    subject = whole[whole.local == 0]
    assert len(data.table["t_s"]) == len(subject) > 0
    assert set(np.unique(data.table["remote"])) == set(subject.remote)


def test_block_log_read_by_position_whatever_its_header(tmp_path):
    """read_block_log: the other peers' logs of 2026-11-30 to 2026-12-06 were headed with four names
    over five fields (the receiver's port); pandas going by that header shifts every column by one,
    reading by position does not. The fixed header reads the same; gzip as the recordings keep it."""
    rows = "1.25,127.9.0.4,69,0,34423\n1.5,127.9.0.2,70,15,33731\n"
    legacy = tmp_path / "peer-0001-blocks.csv"
    legacy.write_text("t_s,peer_ip,piece,block\n" + rows)
    fixed = tmp_path / "peer-0002-blocks.csv.gz"
    with gzip.open(fixed, "wt") as f:
        f.write("t_s,peer_ip,piece,block,peer_port\n" + rows)
    want = [(1.25, "127.9.0.4", 69, 0), (1.5, "127.9.0.2", 70, 15)]
    from forensics.traces import read_block_log

    assert read_block_log(legacy) == want
    assert read_block_log(fixed) == want
    assert list(pd.read_csv(legacy).t_s) != [1.25, 1.5]  # what going by the header gives
    bad = tmp_path / "peer-0003-blocks.csv"
    bad.write_text("time,ip,piece,block\n1,127.9.0.4,1,0\n")
    with pytest.raises(ValueError, match="peer-0003-blocks.csv: not a block log"):
        read_block_log(bad)
    short = tmp_path / "peer-0004-blocks.csv"
    short.write_text("t_s,peer_ip,piece,block\n1,127.9.0.4,1\n")
    with pytest.raises(ValueError, match=r"peer-0004-blocks.csv, line 2: expected t_s"):
        read_block_log(short)
