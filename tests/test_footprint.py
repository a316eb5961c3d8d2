"""The up-front memory estimate: an upper bound of what a replication really allocates, small
enough never to refuse the project's own scenarios, and a refusal that says what to reduce."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forensics.capacity import check_run_size
from forensics.errors import UserError
from sim.footprint import estimate
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
GiB = 1024**3

# The peak resident size of this process's own memory (VmHWM). Not getrusage's ru_maxrss: Linux
# carries the parent's high-water mark into a child across fork and exec (exec_mmap), so under a
# large pytest process the child's ru_maxrss starts above what the replication needs and the
# growth reads 0.
_MEASURE = """
import re, sys, numpy as np
from sim.scenario import load_scenario
from sim.engine import simulate_replication
def hwm():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", f.read()).group(1)) * 1024
sc = load_scenario(sys.argv[1]).with_changes(**{"subject.join_s": 0, "simulation.horizon_s": 30})
before = hwm()
simulate_replication(sc, 0, np.random.SeedSequence(1))
print(hwm() - before)
"""


def test_estimate_bounds_a_measured_replication():
    """10,000 peers x 4,096 pieces (every array is allocated at the start, so 30 simulated seconds
    suffice): the estimate is above the measured peak growth and within 3x of it."""
    scenario = ROOT / "benchmarks" / "scenarios" / "peers-10000.toml"
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(scenario)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, check=True)
    measured = int(out.stdout.split()[-1])
    sc = load_scenario(scenario).with_changes(**{"subject.join_s": 0, "simulation.horizon_s": 30})
    fp = estimate(sc, 1, 1)
    estimated = fp.total_bytes - fp.parts["processes"]  # measured is the growth over the loaded process
    assert fp.peers == 1 + 10 + 9990 and fp.pieces == 4096
    assert measured <= estimated <= 3 * measured, (measured, estimated)


@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "examples" / "*.toml")) + glob.glob(str(ROOT / "validation" / "*.toml"))
                                   + [str(ROOT / "sim" / "scenarios" / "default.toml")]), ids=lambda p: Path(p).name)
def test_the_projects_scenarios_fit_a_small_machine(path):
    """Every shipped scenario, at its replications on 4 workers, is estimated under 2 GiB."""
    sc = load_scenario(path)
    assert estimate(sc, sc.simulation.replications, 4).total_bytes < 2 * GiB


def test_a_run_over_the_available_memory_is_refused_with_what_to_reduce():
    sc = load_scenario(ROOT / "benchmarks" / "scenarios" / "peers-10000.toml")
    check_run_size(sc, 1, 1, "case.toml", available_bytes=4 * GiB)  # fits
    with pytest.raises(UserError) as e:
        check_run_size(sc, 1, 8, "case.toml", available_bytes=4 * GiB)
    msg = str(e.value)
    assert msg.startswith("case.toml: this run would need about") and "4.00 GiB is available" in msg
    assert "10,001 peers x 4,096 pieces" in msg and "swarm.leechers" in msg and "--workers" in msg
