"""benchmarks/corpus_throughput.py's command line: bad input is named (file, flag, what is allowed)
before any work, not a traceback."""

import pytest

from benchmarks.corpus_throughput import main


def test_a_missing_corpus_file_is_named(tmp_path, capsys):
    missing = tmp_path / "no-such-corpus.toml"
    assert main(["--corpus", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "no-such-corpus.toml" in err and "Traceback" not in err


def test_counts_must_be_positive(capsys):
    for flag in ("--torrents", "--runs", "--workers", "--cpu-rounds"):
        with pytest.raises(SystemExit) as e:
            main([flag, "0"])
        assert e.value.code == 2
        assert f"argument {flag}: '0': a whole number >= 1" in capsys.readouterr().err


def test_a_torrent_beyond_the_corpus_is_named(capsys):
    assert main(["--tick-profile", "5000"]) == 2
    assert "--tick-profile 5000: a torrent index from 0 to 4999" in capsys.readouterr().err
    assert main(["--torrents", "5001"]) == 2
    assert "--torrents 5001: the corpus has 5000 torrents" in capsys.readouterr().err
