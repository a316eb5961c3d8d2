"""Every class of bad scenario input gets exit code 2 and a message naming file, key, value, allowed."""

import io
from pathlib import Path

import pytest

from leechsim.env import Environment
from leechsim.main import main

GOOD = (Path(__file__).resolve().parent.parent / "examples" / "lab-small.toml").read_text()


def run_cli(args):
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(args, env)
    return code, env.stdout.getvalue(), env.stderr.getvalue()


def write(tmp_path, text, name="case.toml"):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


CASES = [
    # (description, transform of the good file, fragments the message must contain)
    ("unknown key (typo)", lambda s: s.replace("upload = \"1MB/s\"\ndownload = \"2MB/s\"", "uplaod = \"1MB/s\"\ndownload = \"2MB/s\""),
     ["subject.uplaod", "unknown key", "allowed keys here", "upload"]),
    ("wrong type", lambda s: s.replace("count = 6", "count = \"six\""), ["swarm.leechers.count", "'six'"]),
    ("out of range", lambda s: s.replace("connectable_share = 1.0", "connectable_share = 1.5"),
     ["swarm.connectable_share", "1.5", "less than or equal to 1"]),
    ("bad unit", lambda s: s.replace('upload = "500kB/s"', 'upload = "500 furlongs"'),
     ["swarm.leechers.upload", "furlongs", "500kB/s"]),
    ("bad enum", lambda s: s.replace('on_complete = "stop"', 'on_complete = "halt"'),
     ["subject.on_complete", "halt", "'stop'", "'never_stop'"]),
    ("missing companion key", lambda s: s.replace('on_complete = "stop"', 'on_complete = "seed_for"'),
     ["subject", "seed_for_s"]),
    ("piece size", lambda s: s.replace('piece_size = "256KiB"', 'piece_size = "100KiB"'),
     ["torrent", "power of two"]),
    ("class shares", lambda s: s.replace('upload = "500kB/s"', 'upload = { classes = [ { share = 0.5, value = "1MB/s" } ] }'),
     ["swarm.leechers.upload", "add up to 1"]),
    ("keys of another arrival mode", lambda s: s.replace("spread_s = 2", "spread_s = 2\nrate_per_s = 0.1"),
     ["swarm.leechers", "rate_per_s", "flash_crowd"]),
    ("libtorrent setting out of range", lambda s: s + "\n[subject.libtorrent]\nmax_out_request_queue = 3\n",
     ["subject.libtorrent.max_out_request_queue", "3", "greater than or equal to 4"]),
    ("libtorrent size setting", lambda s: s + "\n[swarm.libtorrent]\nsend_buffer_watermark = \"500 furlongs\"\n",
     ["swarm.libtorrent.send_buffer_watermark", "furlongs", "256KiB"]),
    ("unknown section", lambda s: s + "\n[subjet]\njoin_s = 1\n", ["subjet", "unknown key", "subject"]),
    ("source of an unknown key", lambda s: s + '\n[sources]\n"swarm.seedz" = "evidence: scrape"\n',
     ["sources", "swarm.seedz", "not a key"]),
    ("source without its kind", lambda s: s + '\n[sources]\n"swarm.seeds.count" = "from the scrape"\n',
     ["sources", "evidence:", "assumed:", "from the scrape"]),
]


@pytest.mark.parametrize("desc,transform,fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_message(tmp_path, desc, transform, fragments):
    bad = transform(GOOD)
    assert bad != GOOD, "the transform must change the file"
    path = write(tmp_path, bad)
    code, out, err = run_cli(["simulate", str(path), "--runs", "1", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "Traceback" not in err
    assert str(path) in err
    for frag in fragments:
        assert frag in err, (frag, err)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.incomplete").exists()


def test_not_toml(tmp_path):
    path = write(tmp_path, "this is = = not toml")
    code, _, err = run_cli(["simulate", str(path)])
    assert code == 2 and "not valid TOML" in err and str(path) in err


def test_not_utf8(tmp_path):
    path = write(tmp_path, b"\xff\xfe\x00garbage")
    code, _, err = run_cli(["simulate", str(path)])
    assert code == 2 and "UTF-8" in err


def test_missing_file(tmp_path):
    code, _, err = run_cli(["simulate", str(tmp_path / "nope.toml")])
    assert code == 2 and "no such scenario file" in err


def test_bad_override(tmp_path):
    code, _, err = run_cli(["simulate", "--set", "subject.upload=fast", "--out", str(tmp_path / "o")])
    assert code == 2 and "subject.upload" in err and "fast" in err and "--set" in err


def test_bad_option_value():
    code, _, err = run_cli(["simulate", "--runs", "0"])
    assert code == 2 and "--runs" in err


def test_existing_out_is_not_touched(tmp_path):
    """An existing run directory is refused and left exactly as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code, _, err = run_cli(["simulate", "--runs", "1", "--out", str(out)])
    assert code == 2 and "already exists" in err
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Some editors start a UTF-8 file with a BOM; the scenario reads the same without it."""
    from sim.scenario import load_scenario
    plain = tmp_path / "plain.toml"
    plain.write_text('[scenario]\nname = "bom"\n[torrent]\ntotal_size = "1MiB"\n')
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert load_scenario(bom).to_dict() == load_scenario(plain).to_dict()


def test_default_run_directory_names_are_safe():
    """A scenario name becomes one path component under runs/: no separators, no '..', no NUL."""
    from forensics.runs import default_out, safe_name
    for name in ("../../x/y", "/etc/passwd", "a\0b", "..", "", "x" * 400, "book corpus (2024)"):
        out = default_out(name)
        assert out.parent.as_posix() == "runs" and "/" not in out.name and "\0" not in out.name
        assert ".." not in out.name.split("-")[0] and len(out.name) < 120
    assert safe_name("book corpus (2024)") == "book-corpus-2024"
    assert safe_name("../../x/y") == "x-y" and safe_name("") == "run"
