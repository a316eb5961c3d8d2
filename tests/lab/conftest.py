"""Fixtures for the real-swarm tests: small scenarios written to TOML files, one lab run per scenario
shared by every test that reads it (a real swarm costs real seconds), and probes for leftovers."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest
import tomli_w

from leechsim.env import Environment
from leechsim.main import main

pytestmark = pytest.mark.lab

# 1 seed capped at 1 MB/s, 3 leechers, the subject stops at completion; a two-file torrent whose
# pieces straddle the file boundary. About 10 s of real time.
STOP_SCENARIO = {
    "scenario": {"name": "lab-test-stop"},
    "torrent": {"piece_size": "256KiB",
                "files": [{"path": "book/part1.bin", "size": 2_500_000}, {"path": "book/part2.bin", "size": "2MiB"}]},
    "swarm": {"seeds": {"count": 1, "upload": "1MB/s"},
              "leechers": {"count": 3, "spread_s": 1, "upload": "300kB/s", "download": "4MB/s", "seed_time": "leave"},
              "announce_interval_s": 5,
              # as the lab ran every session before 2026-11-30: these tests check the lab's own
              # measurements, which were built and checked against the wire that way (the limits'
              # IP overhead is tested in tests/test_ip_overhead.py and validation/v15)
              "libtorrent": {"rate_limit_ip_overhead": False}},
    "subject": {"join_s": 0.5, "upload": "600kB/s", "download": "4MB/s", "on_complete": "stop",
                "libtorrent": {"rate_limit_ip_overhead": False}},
    "simulation": {"horizon_s": 90, "replications": 1, "seed": 11},
}

# The subject's send buffer and request queue settings, not libtorrent's defaults: a free rider sends
# nothing, so the send buffer ones change nothing, and its request queue stays below these limits.
SUBJECT_QUEUE_SETTINGS = {"send_buffer_low_watermark": 32 * 1024, "send_buffer_watermark": 1024 * 1024,
                          "send_buffer_watermark_factor": 100, "request_queue_time": 4, "max_out_request_queue": 400}

# The subject is a non-connectable free rider that never stops; half the others are not connectable.
FREE_RIDER_SCENARIO = {
    "scenario": {"name": "lab-test-free-rider"},
    "torrent": {"piece_size": "256KiB", "total_size": "3MiB"},
    "swarm": {"seeds": {"count": 1, "upload": "1MB/s"}, "connectable_share": 0.5,
              "leechers": {"count": 4, "upload": "400kB/s", "download": "4MB/s", "seed_time": "forever"},
              "announce_interval_s": 3},
    "subject": {"upload": "1MB/s", "download": "4MB/s", "connectable": False, "profile": "free_rider",
                "on_complete": "never_stop", "libtorrent": SUBJECT_QUEUE_SETTINGS},
    "simulation": {"horizon_s": 90, "replications": 1, "seed": 4},
}

# Never finishes within a few seconds: for the interrupt and timeout tests.
SLOW_SCENARIO = {
    "scenario": {"name": "lab-test-slow"},
    "torrent": {"piece_size": "256KiB", "total_size": "8MiB"},
    "swarm": {"seeds": {"count": 1, "upload": "100kB/s"},
              "leechers": {"count": 2, "upload": "50kB/s", "download": "1MB/s"}},
    "subject": {"upload": "100kB/s", "download": "1MB/s"},
    "simulation": {"horizon_s": 300, "replications": 1, "seed": 1},
}


def write_scenario(tmp: Path, data: dict) -> Path:
    path = tmp / f"{data['scenario']['name']}.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], Environment(stdout=out, stderr=err, progress=False))
    return int(code), out.getvalue(), err.getvalue()


def require_opentracker() -> None:
    """Skip without opentracker on a developer machine; in CI (CI set) a missing tracker fails."""
    if shutil.which("opentracker") is None and not os.path.exists("/usr/bin/opentracker"):
        msg = "opentracker is not installed (apt-get install opentracker)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def _lab_run(tmp_path_factory, data: dict, *extra: str) -> Path:
    if "none" not in extra:
        require_opentracker()
    tmp = tmp_path_factory.mktemp(data["scenario"]["name"])
    scenario = write_scenario(tmp, data)
    with contextlib.chdir(tmp):  # a relative --out, as users type it (the peers run in another directory)
        code, stdout, stderr = run_cli(["lab", scenario.name, "--runs", "1", "--out", "run", *extra])
    assert code == 0, f"lab exited {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    return tmp / "run"


@pytest.fixture(scope="session")
def stop_run(tmp_path_factory) -> Path:
    return _lab_run(tmp_path_factory, STOP_SCENARIO, "--all-blocks")


@pytest.fixture(scope="session")
def free_rider_run(tmp_path_factory) -> Path:
    return _lab_run(tmp_path_factory, FREE_RIDER_SCENARIO)


# ----- leftovers -----------------------------------------------------------------------------------
# Probes are scoped to one lab (a tag in its environment, its own TMPDIR, its own 127.B.* range),
# so they stay right when other labs run at the same time (pytest -n, a developer's own run).
def processes_with(marker: bytes) -> set[int]:
    """PIDs whose command line or environment contains ``marker`` (children inherit both)."""
    found = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if marker in (d / "cmdline").read_bytes() or marker in (d / "environ").read_bytes():
                found.add(int(d.name))
        except OSError:
            continue
    return found


def listening_loopback_ports() -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state on 127.0.0.0/8."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if state != "0A":
            continue
        hexip, hexport = local.split(":")
        ip = ".".join(str(int(hexip[i:i + 2], 16)) for i in (6, 4, 2, 0))
        if ip.startswith("127."):
            out.add((ip, int(hexport, 16)))
    return out


def lab_range_of(pid: int) -> str:
    """The 127.B. prefix a lab process with this PID gives its peers (plan.base_octet_for_this_process)."""
    return f"127.{100 + pid % 100}."
