"""Same inputs + same seed => bit-identical results, in one process or split across workers."""

import hashlib
from pathlib import Path

from leechsim.env import Environment
from leechsim.main import main
from sim.montecarlo import run_replications
from tests.conftest import make_scenario
import io


def digest(results):
    h = hashlib.sha256()
    for r in results:
        h.update(repr(sorted(r.headline.items())).encode())
        for col in r.log.columns().values():
            h.update(col.tobytes())
        for k in sorted(r.peers):
            h.update(k.encode() + r.peers[k].tobytes())
    return h.hexdigest()


def test_same_seed_same_results_any_worker_count():
    sc = make_scenario(**{"simulation.replications": 6})
    one = run_replications(sc, workers=1)
    two = run_replications(sc, workers=2)
    again = run_replications(sc, workers=1)
    assert digest(one) == digest(two) == digest(again)


def test_different_seed_different_results():
    sc = make_scenario(**{"simulation.replications": 3})
    assert digest(run_replications(sc, master_seed=1)) != digest(run_replications(sc, master_seed=2))


def test_run_directories_identical_across_workers(tmp_path: Path):
    """Every output file except the manifest (which records times and the worker count) is identical."""
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
        assert main(["simulate", "--runs", "4", "--workers", str(workers), "--out", str(out)], env) == 0
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    for rel in files:
        if rel.name in ("manifest.json", "SHA256SUMS"):
            continue
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel
