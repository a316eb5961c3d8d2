"""leechsim trace on a hand-made traced replication: it writes its files, and bad input is refused
with a message naming the file or option (exit 2, no traceback)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from leechsim.env import Environment
from leechsim.main import main
from forensics.lab.trace import CONNECTION_COLUMNS


def run_cli(args: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], Environment(stdout=out, stderr=err, progress=False))
    return int(code), out.getvalue(), err.getvalue()


def make_run(root: Path, traced: bool = True) -> Path:
    """A run directory with one replication: subject (limit 2000 B/s) uploading to peers 1 and 2."""
    rep = root / "run" / "replications" / "0000"
    rep.mkdir(parents=True)
    (rep / "peers.csv").write_text("peer,role,upload_bps\n0,subject,2000.0\n1,seed,0\n2,leecher,500.0\n")
    if traced:
        lines = [",".join(CONNECTION_COLUMNS)]
        for t in range(8):
            for remote, total, choked in ((1, 1000 * t, int(t == 0)), (2, 500 * t, 0)):
                row = dict.fromkeys(CONNECTION_COLUMNS, "0")
                row.update(t_s=f"{t:.1f}", local="0", remote=str(remote), total_up_bytes=str(total),
                           choked=str(choked), remote_interested="1", target_dl_queue_length="",
                           read_state="idle", write_state="limit")
                lines.append(",".join(row[c] for c in CONNECTION_COLUMNS))
        (rep / "connections.csv").write_text("\n".join(lines) + "\n")
    return root / "run"


def test_writes_figure_and_tables(tmp_path):
    """PNG, per-connection and per-episode CSVs and the summary land in --out."""
    run = make_run(tmp_path)
    code, out, err = run_cli(["trace", run, "--uploader", "0", "--out", tmp_path / "fig"])
    assert code == 0, err
    assert (tmp_path / "fig" / "trace-r0000-u0000.png").read_bytes()[:4] == b"\x89PNG"
    summary = (tmp_path / "fig" / "trace-r0000-u0000-summary.md").read_text()
    assert "upload limit: 2 kB/s" in summary and "| 1 | seed |" in summary
    assert "trace-r0000-u0000-connections.csv" in out


@pytest.mark.parametrize("case, args, expected", [
    ("no run", ["trace", "{tmp}/nowhere"], "nowhere: no such run directory"),
    ("untraced", ["trace", "{untraced}"], "connections.csv: missing; this run was not traced"),
    ("uploader", ["trace", "{run}", "--uploader", "3"], "--uploader 3: out of range"),
    ("replication", ["trace", "{run}", "--replication", "4"], "--replication 4:"),
    ("negative", ["trace", "{run}", "--uploader", "-1"], "expected a whole number >= 0"),
])
def test_bad_input_is_refused(tmp_path, case, args, expected):
    """Each refusal: exit 2, 'leechsim: error: ...' naming the file or option, no traceback."""
    run = make_run(tmp_path / "a")
    untraced = make_run(tmp_path / "b", traced=False)
    args = [a.format(tmp=tmp_path, run=run, untraced=untraced) for a in args]
    code, _, err = run_cli(args)
    assert code == 2, err
    assert expected in err and "Traceback" not in err
    if case != "negative":
        assert err.startswith("leechsim: error: ")
