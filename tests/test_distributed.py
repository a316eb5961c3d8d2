"""Replications on a Dask distributed cluster (a local one on loopback) are bit-identical to a
single-process run."""

import io

import pytest

from leechsim.env import Environment
from leechsim.main import main
from sim.montecarlo import run_replications
from tests.conftest import make_scenario
from tests.test_determinism import digest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, protocol="tcp") as c:
        yield c


def test_dask_results_equal_single_process(cluster):
    sc = make_scenario(**{"simulation.replications": 6})
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    on_cluster = run_replications(sc, scheduler=cluster.scheduler_address)
    local = run_replications(sc, workers=1)
    assert digest(on_cluster) == digest(local)


def test_cli_scheduler_option(cluster, tmp_path):
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["simulate", "--runs", "3", "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "r")], env)
    assert code == 0, env.stderr.getvalue()
    assert (tmp_path / "r" / "results.csv").is_file()


def test_bad_scheduler_address_is_refused():
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    assert main(["simulate", "--scheduler", "localhost"], env) == 2
    assert "tcp://HOST:PORT" in env.stderr.getvalue()


def test_scheduler_without_the_distributed_extra(tmp_path, monkeypatch):
    """--scheduler on an install without 'distributed': exit 2 and how to install it, no traceback."""
    import sys
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    err = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=err, progress=False)
    code = main(["simulate", "--runs", "1", "--out", str(tmp_path / "r"), "--scheduler", "tcp://127.0.0.1:8786"], env)
    assert code == 2
    assert "leechsim[distributed]" in err.getvalue() and "Traceback" not in err.getvalue()
    assert not (tmp_path / "r").exists()


def test_ctrl_c_stops_a_run_on_the_cluster(cluster, tmp_path):
    """A real `leechsim simulate --scheduler` process gets SIGINT: exit 130 without a traceback, the
    run left incomplete, and the scheduler holds none of its tasks afterwards."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "leechsim", "simulate", str(root / "examples" / "book-corpus.toml"),
                             "--runs", "300", "--scheduler", cluster.scheduler_address, "--out", "run"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

    def scheduler_tasks() -> int:
        with distributed.Client(cluster.scheduler_address, timeout="10s") as c:
            return c.run_on_scheduler(lambda dask_scheduler: sum(
                1 for k in dask_scheduler.tasks if "_one" in str(k)))

    deadline = time.monotonic() + 120
    while scheduler_tasks() == 0 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "interrupted by SIGINT" in (tmp_path / "run.incomplete" / "INCOMPLETE").read_text()
    deadline = time.monotonic() + 30
    while scheduler_tasks() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert scheduler_tasks() == 0


def test_case_study_slice_on_the_cluster_equals_local(cluster, tmp_path):
    """A slice of the case-study corpus (2 torrents x 3 replications, blocks of 2) on the two-worker
    cluster: the per-replication table and totals are the bytes of a one-process local run."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    corpus = root / "examples" / "case-study" / "corpus.toml"
    outs = {}
    for name, where in (("dask", ["--scheduler", cluster.scheduler_address]), ("local", ["--workers", "1"])):
        env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
        code = main(["corpus", str(corpus), "--limit", "2", "--runs", "3", "--block", "2", "--out", str(tmp_path / name),
                     *where], env)
        assert code == 0, env.stderr.getvalue()
        outs[name] = tmp_path / name
    for f in ("per_replication.parquet", "totals.csv", "torrents.csv", "summary.json"):
        assert (outs["dask"] / f).read_bytes() == (outs["local"] / f).read_bytes(), f
    import json
    assert json.loads((outs["dask"] / "manifest.json").read_text())["scheduler"] == cluster.scheduler_address


def test_session_corpus_on_the_cluster_equals_local(cluster, tmp_path):
    """A corpus run through client sessions (model = "session", 4 torrents in one session, blocks of 2)
    on the two-worker cluster: the same bytes as a one-process local run."""
    from tests.test_corpus_session import session_corpus

    corpus = session_corpus(tmp_path)
    outs = {}
    for name, where in (("dask", ["--scheduler", cluster.scheduler_address]), ("local", ["--workers", "1"])):
        env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
        code = main(["corpus", str(corpus), "--runs", "3", "--block", "2", "--out", str(tmp_path / name), *where], env)
        assert code == 0, env.stderr.getvalue()
        outs[name] = tmp_path / name
    for f in ("per_replication.parquet", "totals.csv", "torrents.csv", "summary.json"):
        assert (outs["dask"] / f).read_bytes() == (outs["local"] / f).read_bytes(), f


def test_distributeds_interrupted_cancel_is_not_logged():
    """distributed's sync() cancel callback failing with NameError after a Ctrl-C (seen in CI: a
    tornado traceback after leechsim's own message) is dropped from tornado's log while a run waits
    on the cluster; any other record, NameError included, still reaches it."""
    import logging
    import sys

    from sim.montecarlo import quiet_interrupted_dask
    ns: dict = {}
    exec(compile("def cancel():\n    if future is not None:\n        pass\n    future = 1\n",
                 "/env/site-packages/distributed/utils.py", "exec"), ns)

    def record(fn):
        try:
            fn()
        except NameError:
            return logging.LogRecord("tornado.application", logging.ERROR, __file__, 1, "Exception in callback",
                                     None, sys.exc_info())

    def other():
        raise NameError("a real bug elsewhere")

    log = logging.getLogger("tornado.application")
    with quiet_interrupted_dask():
        assert not log.filter(record(ns["cancel"]))
        assert log.filter(record(other))
    assert log.filter(record(ns["cancel"]))  # the filter is gone once the run ends
