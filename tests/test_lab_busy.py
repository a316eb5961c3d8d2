"""A lab run started on a busy machine is flagged (forensics.lab.run.busy_runs): `leechsim lab` and
`validate --record` warn when the 1-minute load average before the first run was above half the
machine's CPUs. Later runs' load includes the lab's own previous run, so only the first counts."""

from forensics.lab.run import busy_runs, busy_warning


def test_busy_runs_by_hand():
    assert busy_runs({"0001": [4.5, 3.0], "0000": [1.2, 1.5]}, 2) == {"0000": 1.2}
    assert busy_runs({"0000": [0.4, 2.2], "0001": [2.2, 4.5]}, 2) == {}  # the lab's own run lifted it
    assert busy_runs({"0000": [1.0, 0.2]}, 2) == {}  # 1.0 on two CPUs is not above half of them
    assert busy_runs({"0000": [1.2, 0.2]}, 8) == {}
    assert busy_runs({"0000": [0.6, 0.2]}, None) == {"0000": 0.6}  # unknown CPUs: taken as one
    assert busy_runs({}, 2) == {}


def test_the_warning_names_the_run_its_load_and_what_to_do():
    msg = busy_warning({"0000": 3.46}, 2)
    assert "0000 (3.5)" in msg and "2 CPUs" in msg
    assert "quiet machine" in msg and "docs/lab.md" in msg
