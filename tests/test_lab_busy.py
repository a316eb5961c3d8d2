"""A lab run on a busy machine is flagged (forensics.lab.run.busy_runs): other work changes a real
swarm, so `leechsim lab` and `validate --record` warn when a run started with the machine's
1-minute load average above half its CPUs."""

from forensics.lab.run import busy_runs, busy_warning


def test_busy_runs_by_hand():
    load = {"0001": [1.2, 3.0], "0000": [0.4, 1.5], "0002": [1.0, 0.2]}
    assert busy_runs(load, 2) == {"0001": 1.2}  # 1.0 on two CPUs is not above half of them
    assert busy_runs(load, 8) == {}
    assert busy_runs(load, None) == {"0001": 1.2, "0002": 1.0}  # unknown CPUs: taken as one
    assert list(busy_runs({"0003": [5.0, 5.0], "0001": [4.0, 1.0]}, 2)) == ["0001", "0003"]


def test_the_warning_names_the_runs_their_load_and_what_to_do():
    msg = busy_warning({"0001": 1.2, "0004": 3.46}, 2)
    assert "0001 (1.2)" in msg and "0004 (3.5)" in msg and "2 CPUs" in msg
    assert "quiet machine" in msg and "docs/lab.md" in msg
