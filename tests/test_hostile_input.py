"""A corpus of hostile inputs, one of every kind found by hand (issue 14): each is refused with exit
code 2, a message naming the key (or file, or option), no traceback, and nothing written.

The scenarios are the small test scenario with one change, written as TOML by tomli_w (which
writes ``inf`` and ``nan`` as TOML does), or raw text where TOML itself is the attack.
"""

from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from leechsim.env import Environment
from leechsim.main import main
from sim.scenario import set_path
from tests.conftest import SMALL

ROOT = Path(__file__).resolve().parent.parent
INF, NAN = float("inf"), float("nan")
POISSON = {"swarm.leechers.arrival": "poisson", "swarm.leechers.count": None, "swarm.leechers.spread_s": None,
           "swarm.leechers.rate_per_s": 0.1, "swarm.leechers.window_s": [0, 600]}


def scenario_text(changes: dict) -> str:
    data = copy.deepcopy(SMALL)
    for key, value in changes.items():
        if value is None:  # remove the key
            *parents, last = key.split(".")
            node = data
            for p in parents:
                node = node[p]
            node.pop(last, None)
        else:
            set_path(data, key, value)
    return tomli_w.dumps(data)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(args, env)  # an exception here (a traceback for a user) fails the test
    return int(code), env.stdout.getvalue(), env.stderr.getvalue()


# (id, changes to the small scenario, fragment the message must contain)
SCENARIO_CASES = [
    # numbers that used to overflow into a traceback
    ("inf-rate", {"subject.upload": INF}, "subject.upload"),
    ("-inf-rate", {"swarm.seeds.upload": -INF}, "swarm.seeds.upload"),
    ("inf-size", {"torrent.total_size": INF}, "torrent.total_size"),
    ("inf-time", {"subject.join_s": INF}, "subject.join_s"),
    ("inf-distribution-mean", {"swarm.leechers.upload": {"dist": "exponential", "mean": INF}}, "swarm.leechers.upload"),
    ("inf-seed-time", {"swarm.leechers.seed_time": -INF}, "swarm.leechers.seed_time"),
    # sizes that asked for terabytes
    ("size-1e30", {"torrent.total_size": 1e30}, "torrent.total_size"),
    ("file-2^62-bytes", {"torrent.total_size": None, "torrent.files": [{"path": "a", "size": 2**62}]},
     "torrent.files[0].size"),
    ("upload-1e30", {"subject.upload": 1e30}, "subject.upload"),
    ("a-million-leechers", {"swarm.leechers.count": 1_000_000}, "swarm.leechers.count"),
    ("200000-join-times", {"swarm.leechers.arrival": "list", "swarm.leechers.count": None,
                           "swarm.leechers.spread_s": None, "swarm.leechers.join_s": [1.0] * 200_000},
     "swarm.leechers.join_s"),
    # values that hung or grew without bound
    ("tick-1e-9", {"simulation.tick_s": 1e-9}, "simulation.tick_s"),
    ("announce-1e-9", {"swarm.announce_interval_s": 1e-9}, "swarm.announce_interval_s"),
    ("100000-seeds", {"swarm.seeds.count": 100_000}, "swarm.seeds.count"),
    ("poisson-infinite-window", {**POISSON, "swarm.leechers.window_s": [0, INF]}, "swarm.leechers.window_s"),
    ("poisson-1e12-window", {**POISSON, "swarm.leechers.window_s": [0, 1e12]}, "swarm.leechers.window_s"),
    ("poisson-inf-rate", {**POISSON, "swarm.leechers.rate_per_s": INF}, "swarm.leechers.rate_per_s"),
    ("poisson-1e9-rate-no-count", {**POISSON, "swarm.leechers.rate_per_s": 1e9}, "swarm.leechers.rate_per_s"),
    ("poisson-no-count-long-window", {**POISSON, "swarm.leechers.rate_per_s": 10.0,
                                      "swarm.leechers.window_s": [0, 1e6]}, "expected arrivals"),
    # values that were silently wrong
    ("nan-join-time", {"swarm.leechers.arrival": "list", "swarm.leechers.count": None,
                       "swarm.leechers.spread_s": None, "swarm.leechers.join_s": [1.0, NAN]}, "swarm.leechers.join_s[1]"),
    ("inf-join-time", {"swarm.leechers.arrival": "list", "swarm.leechers.count": None,
                       "swarm.leechers.spread_s": None, "swarm.leechers.join_s": [INF]}, "swarm.leechers.join_s[0]"),
    ("nan-at", {"swarm.leechers.at_s": NAN}, "swarm.leechers.at_s"),
    ("nan-seed-time", {"swarm.leechers.seed_time": NAN}, "swarm.leechers.seed_time"),
    ("nan-distribution-mean", {"swarm.leechers.seed_time": {"dist": "exponential", "mean": NAN}},
     "swarm.leechers.seed_time"),
    ("inf-announce-interval", {"swarm.announce_interval_s": INF}, "swarm.announce_interval_s"),
    ("horizon-1e-9", {"simulation.horizon_s": 1e-9}, "simulation.horizon_s"),
    ("sample-interval-1e-9", {"simulation.sample_interval_s": 1e-9}, "simulation.sample_interval_s"),
    ("sample-interval-not-whole-ticks", {"simulation.sample_interval_s": 0.7}, "whole number of ticks"),
    ("connectable-yes", {"subject.connectable": "yes"}, "subject.connectable"),
    ("connectable-1", {"subject.connectable": 1}, "subject.connectable"),
    ("count-string", {"swarm.leechers.count": "3"}, "swarm.leechers.count"),
    ("count-float", {"swarm.leechers.count": 3.0}, "swarm.leechers.count"),
    ("replications-string", {"simulation.replications": "4"}, "simulation.replications"),
    ("horizon-string", {"simulation.horizon_s": "1200"}, "simulation.horizon_s"),
    ("slots-bool", {"subject.libtorrent.unchoke_slots_limit": True}, "subject.libtorrent.unchoke_slots_limit"),
    # more than the machine's memory: refused by the up-front estimate, naming what to reduce
    ("too-many-pieces", {"torrent.total_size": "60TiB", "torrent.piece_size": "16KiB"}, "pieces"),
]


@pytest.mark.parametrize("changes, fragment", [c[1:] for c in SCENARIO_CASES], ids=[c[0] for c in SCENARIO_CASES])
def test_hostile_scenario_is_refused(tmp_path, changes, fragment):
    """Exit 2, the key named, no traceback, no run directory (complete or not)."""
    path = tmp_path / "case.toml"
    path.write_text(scenario_text(changes))
    code, out, err = run_cli(["simulate", str(path), "--runs", "1", "--workers", "1", "--out", str(tmp_path / "out")])
    assert code == 2, err
    assert err.startswith("leechsim: error: ") and str(path) in err and fragment in err, err
    assert "Traceback" not in err and len(err) < 2000  # a 200,000-entry list is not echoed back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.toml"]


RAW_CASES = [
    ("deeply-nested-array", "x = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    ("deeply-nested-table", "x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n", "nested too deeply"),
    ("not-utf8", b"\xff\xfe[torrent]\n", "not UTF-8"),
    ("nul-bytes", b"\x00" * 100, "not valid TOML"),
    ("too-big", b"# padding\n" * (1024 * 1024 + 1), "larger than 10.00 MiB"),
]


@pytest.mark.parametrize("content, fragment", [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
def test_hostile_scenario_file_is_refused(tmp_path, content, fragment):
    path = tmp_path / "case.toml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    code, out, err = run_cli(["simulate", str(path), "--runs", "1", "--out", str(tmp_path / "out")])
    assert code == 2 and fragment in err and str(path) in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.toml"]


def test_dev_zero_is_refused_by_size(tmp_path):
    """An endless device: at most 10 MiB + 1 byte is read, then it is refused."""
    code, out, err = run_cli(["simulate", "/dev/zero", "--runs", "1", "--out", str(tmp_path / "out")])
    assert code == 2 and "/dev/zero: larger than 10.00 MiB" in err
    assert list(tmp_path.iterdir()) == []


def test_a_directory_as_scenario(tmp_path):
    code, out, err = run_cli(["simulate", str(tmp_path), "--runs", "1", "--out", str(tmp_path / "out")])
    assert code == 2 and "is a directory" in err


CLI_CASES = [
    ("runs-huge", ["--runs", "100000000000"], "--runs"),
    ("runs-zero", ["--runs", "0"], "--runs"),
    ("runs-negative", ["--runs", "-3"], "--runs"),
    ("runs-word", ["--runs", "many"], "--runs"),
    ("workers-huge", ["--workers", "100000"], "--workers"),
    ("seed-negative", ["--seed", "-1"], "--seed"),
    ("set-no-equals", ["--set", "subject.upload"], "KEY=VALUE"),
    ("set-unknown-key", ["--set", "subject.uplod=1"], "subject.uplod"),
    ("set-inf", ["--set", "subject.upload=inf"], "subject.upload"),
    ("set-nan", ["--set", "simulation.horizon_s=nan"], "simulation.horizon_s"),
    ("set-string-bool", ["--set", "subject.connectable=yes"], "subject.connectable"),
    ("set-deeply-nested", ["--set", "subject.upload=" + "[" * 50_000 + "]" * 50_000], "nested too deeply"),
    ("set-through-a-value", ["--set", "subject.upload.x=1"], "subject.upload"),
    ("scheduler-http", ["--scheduler", "http://localhost:8786"], "--scheduler"),
    ("scheduler-no-port", ["--scheduler", "tcp://localhost"], "--scheduler"),
]


@pytest.mark.parametrize("options, fragment", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_hostile_option_is_refused(tmp_path, options, fragment):
    path = tmp_path / "case.toml"
    path.write_text(scenario_text({}))
    code, out, err = run_cli(["simulate", str(path), "--out", str(tmp_path / "out"), *options])
    assert code == 2 and fragment in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.toml"]


def test_a_scenario_from_a_pipe_is_read_once_and_hashed_as_read(tmp_path):
    """``simulate <(cat case.toml)``: the stored scenario.toml and its SHA-256 are the bytes that came
    through the pipe (they used to be empty), so ``verify`` passes."""
    import hashlib
    import json
    text = scenario_text({"simulation.replications": 2}).encode()
    r, w = os.pipe()
    writer = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=w)
    os.close(w)
    writer.stdin.write(text)
    writer.stdin.close()
    try:
        code, out, err = run_cli(["simulate", f"/dev/fd/{r}", "--workers", "1", "--out", str(tmp_path / "run")])
    finally:
        os.close(r)
        writer.wait()
    assert code == 0, err
    assert (tmp_path / "run" / "scenario.toml").read_bytes() == text
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == hashlib.sha256(text).hexdigest()
    code, out, err = run_cli(["verify", str(tmp_path / "run"), "--workers", "1"])
    assert code == 0, err


def test_hostile_scenario_in_a_real_process_gives_no_traceback(tmp_path):
    """The same refusal through the installed entry point's path: a real process, its real streams."""
    path = tmp_path / "case.toml"
    path.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    proc = subprocess.run([sys.executable, "-m", "leechsim", "simulate", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("content, fragment", [
    ("x = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    (None, "larger than 10.00 MiB"),
], ids=["deeply-nested", "dev-zero"])
def test_hostile_corpus_file_is_refused(tmp_path, content, fragment):
    path = Path("/dev/zero") if content is None else tmp_path / "corpus.toml"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(["corpus", str(path), "--runs", "1", "--out", str(tmp_path / "out")])
    assert code == 2 and fragment in err and str(path) in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.incomplete").exists()


@pytest.mark.parametrize("field, value", [("replications", "abc"), ("replications", 1.5), ("replications", True),
                                          ("replications", 10**11), ("master_seed", -1), ("overrides", "x=1"),
                                          ("trace_connections", "yes")])
def test_a_forged_manifest_field_fails_verify_without_a_traceback(tmp_path, field, value):
    """A manifest edited and re-hashed (so only the re-run can judge it): verify fails naming the field."""
    import hashlib
    import json
    run = tmp_path / "run"
    assert run_cli(["simulate", "--runs", "1", "--workers", "1", "--out", str(run)])[0] == 0
    man = json.loads((run / "manifest.json").read_text())
    man[field] = value
    (run / "manifest.json").write_text(json.dumps(man))
    digest = hashlib.sha256((run / "manifest.json").read_bytes()).hexdigest()
    sums = [(digest + "  manifest.json") if line.endswith("  manifest.json") else line
            for line in (run / "SHA256SUMS").read_text().splitlines()]
    (run / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    code, out, err = run_cli(["verify", str(run), "--workers", "1"])
    assert code == 1 and f"field '{field}' is {value!r}" in err and "Traceback" not in err, err


FORGED = [  # (file, new content): each re-hashed into SHA256SUMS, so only the content can give it away
    ("manifest.json", "[]", "not a leechsim manifest"),
    ("manifest.json", "{}", "not a leechsim manifest"),
    ("summary.json", "[1", "summary.json: cannot be read"),
    ("results.csv", "", "results.csv: empty"),
    ("results.csv", "replication\n1,2\n", "line 2 has 2 cells"),
    ("replications/0000/peers.csv", "peer\n0\n", "columns ["),
    ("replications/0000/transfer_log.csv", "t_s,peer,piece,first_block,blocks,bytes\n1,x,2,3,4,5\n", "column 'peer'"),
    ("scenario.toml", "x = 1\n", "does not match the manifest's scenario_sha256"),
]


@pytest.mark.parametrize("rel, content, fragment", FORGED, ids=[f"{r}:{c[:8]!r}" for r, c, _ in FORGED])
def test_a_forged_run_directory_is_refused_by_report_without_a_traceback(tmp_path, rel, content, fragment):
    import hashlib
    run = tmp_path / "run"
    assert run_cli(["simulate", "--runs", "1", "--workers", "1", "--out", str(run)])[0] == 0
    (run / rel).write_text(content)
    digest = hashlib.sha256((run / rel).read_bytes()).hexdigest()
    sums = [(f"{digest}  {rel}") if line.endswith(f"  {rel}") else line
            for line in (run / "SHA256SUMS").read_text().splitlines()]
    (run / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    code, out, err = run_cli(["report", str(run), "--no-counterfactuals", "--no-sensitivity"])
    assert code == 2 and fragment in err and "Traceback" not in err, err
    assert not (run / "report.md").exists()
