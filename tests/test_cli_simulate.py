"""The simulate command in-process: output files, table, provenance."""

import csv
import io
import json

from leechsim.env import Environment
from leechsim.main import main
from forensics.provenance import check_hash_list
from sim.results import HEADLINE_FIELDS, LOG_COLUMNS


def test_simulate_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["simulate", "--runs", "3", "--seed", "5", "--out", str(out), "--workers", "1"], env)
    assert code == 0, env.stderr.getvalue()
    text = env.stdout.getvalue()
    assert "Subject upload while leeching" in text and "90% interval" in text
    for name in ("manifest.json", "scenario.toml", "scenario.resolved.toml", "results.csv", "summary.json", "SHA256SUMS"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 3 and list(rows[0]) == ["replication", *HEADLINE_FIELDS]
    for i in range(3):
        d = out / "replications" / f"{i:04d}"
        with open(d / "transfer_log.csv") as f:
            assert next(csv.reader(f)) == list(LOG_COLUMNS)
        for name in ("files.csv", "peers.csv", "timeseries.csv"):
            assert (d / name).is_file()
    man = json.loads((out / "manifest.json").read_text())
    assert man["master_seed"] == 5 and man["replications"] == 3 and man["workers"] == 1
    assert man["command"][:2] == ["leechsim", "simulate"]
    assert len(man["scenario_sha256"]) == 64
    assert man["software"]["numba"] and man["software"]["simpy"]
    summary = json.loads((out / "summary.json").read_text())
    leech = [float(r["subject_upload_leech_bytes"]) for r in rows]
    assert summary["headline"]["subject_upload_leech_bytes"]["median"] == sorted(leech)[1]
    assert check_hash_list(out) == []
    assert not (tmp_path / "run.incomplete").exists()


def test_hash_list_detects_a_changed_byte(tmp_path):
    out = tmp_path / "run"
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    assert main(["simulate", "--runs", "1", "--out", str(out)], env) == 0
    target = out / "replications" / "0000" / "transfer_log.csv"
    data = bytearray(target.read_bytes())
    data[-2] = ord("7") if data[-2] != ord("7") else ord("8")
    target.write_bytes(bytes(data))
    problems = check_hash_list(out)
    assert problems and "transfer_log.csv" in problems[0]


def test_overrides_are_applied_and_recorded(tmp_path):
    out = tmp_path / "run"
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["simulate", "--runs", "2", "--out", str(out), "--set", "subject.profile=free_rider"], env)
    assert code == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert all(int(r["subject_upload_total_bytes"]) == 0 for r in rows)
    man = json.loads((out / "manifest.json").read_text())
    assert man["overrides"] == ["subject.profile=free_rider"]
    assert 'profile = "free_rider"' in (out / "scenario.resolved.toml").read_text()


def test_first_run_compile_notice_is_on_stderr_without_a_terminal(tmp_path):
    """A cold kernel cache (an empty directory here) gets the notice on a plain stream; a warm one none."""
    from leechsim.notices import compile_notice
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    compile_notice("simulate", env, tmp_path / "cold")
    assert "compiling the model's kernels (one to four minutes, once" in env.stderr.getvalue()
    warm = tmp_path / "warm" / "sub"
    warm.mkdir(parents=True)
    (warm / "engine.tick-1.py311.nbi").write_bytes(b"")
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    compile_notice("simulate", env, tmp_path / "warm")
    compile_notice("trace", env, tmp_path / "cold")  # a command that compiles nothing
    assert env.stderr.getvalue() == ""


def test_compile_notice_waits_and_bad_input_comes_first(tmp_path, monkeypatch):
    """With a cold kernel cache a command that refuses its input at once prints its error first and
    no notice (the notice waits NOTICE_DELAY_S); one still running after the delay gets it."""
    import time

    import sim.kernels
    from leechsim.notices import compile_notice_unless_done_soon
    monkeypatch.setattr(sim.kernels, "CACHE_DIR", tmp_path / "cold")
    bad = tmp_path / "bad.toml"
    bad.write_text('[torrent]\ntotal_size = "lots"\n')
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["simulate", str(bad), "--runs", "1", "--out", str(tmp_path / "out")], env)
    time.sleep(0.1)
    assert code == 2
    assert env.stderr.getvalue().startswith("leechsim: error: ") and "compiling" not in env.stderr.getvalue()
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    timer = compile_notice_unless_done_soon("simulate", env, delay_s=0.05)
    (tmp_path / "cold").mkdir()  # numba writes its first files while compiling: the notice still comes
    (tmp_path / "cold" / "engine.tick-1.py311.nbi").write_bytes(b"")
    timer.join(5.0)
    assert "compiling the model's kernels" in env.stderr.getvalue()
    assert compile_notice_unless_done_soon("simulate", env) is None  # now warm: no timer at all
    assert compile_notice_unless_done_soon("trace", env) is None  # compiles nothing
