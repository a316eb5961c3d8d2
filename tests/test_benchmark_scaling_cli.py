"""benchmarks/scaling.py's command line: usage and a named error instead of a traceback."""

import pytest

from benchmarks.scaling import cli


def test_help_prints_usage(capsys):
    with pytest.raises(SystemExit) as e:
        cli(["--help"])
    assert e.value.code == 0
    assert "--breakdown" in capsys.readouterr().out


def test_a_missing_scenario_file_is_named(tmp_path, capsys):
    missing = tmp_path / "no-such-scenario.toml"
    assert cli([str(missing)]) == 2
    err = capsys.readouterr().err
    assert "no-such-scenario.toml" in err
    assert "Traceback" not in err


def test_a_bad_key_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[simulation]\nhorizon_s = "soon"\n')
    assert cli([str(bad)]) == 2
    err = capsys.readouterr().err
    assert "horizon_s" in err
