"""Lab command guards: a lab started on a busy machine is flagged (forensics.lab.run.busy_load), and a
session file refuses the one-torrent lab options. `leechsim lab` and `validate --record` warn when the
1-minute load average before the first run was above half the CPUs; later runs' load includes the
lab's own previous run, so only the first counts."""

from forensics.lab.run import busy_load, busy_warning


def test_busy_load_by_hand():
    assert busy_load({"0001": [4.5, 3.0], "0000": [1.2, 1.5]}, 2) == 1.2
    assert busy_load({"0000": [0.4, 2.2], "0001": [2.2, 4.5]}, 2) is None  # the lab's own run lifted it
    assert busy_load({"0000": [1.0, 0.2]}, 2) is None  # 1.0 on two CPUs is not above half of them
    assert busy_load({"0000": [1.2, 0.2]}, 8) is None
    assert busy_load({"0000": [0.6, 0.2]}, None) == 0.6  # unknown CPUs: taken as one
    assert busy_load({}, 2) is None


def test_the_warning_names_the_load_and_what_to_do():
    msg = busy_warning(3.46, 2)
    assert "3.5 on 2 CPUs" in msg and "quiet machine" in msg and "docs/lab.md" in msg


def test_session_lab_refuses_the_options_it_does_not_have(capsys):
    """A session file with --peer-log (or the other one-torrent lab options) is refused with exit 2
    and the option named, before any peer starts: nothing would honour it."""
    import io

    from leechsim.env import Environment
    from leechsim.main import main

    for opt in ("--peer-log", "--pcap", "--save-resume"):
        err = io.StringIO()
        code = main(["lab", "validation/sessions/s01-shared-slots.toml", opt, "--out", "/nonexistent/never"],
                    Environment(stdout=io.StringIO(), stderr=err, progress=False))
        assert code == 2 and opt in err.getvalue() and "session file" in err.getvalue()
