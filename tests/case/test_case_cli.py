"""``leechsim case new``: the case file, its [sources], and bad input (exit 2, nothing written)."""

import tomllib

import pytest

from sim.scenario import load_scenario

from .conftest import edit_torrent, libtorrent_fastresume, make_torrent, run_cli

LOG = ("peer,first_seen,last_seen,role,rate_bps\n"
       "198.51.100.7:6881,2026-03-01T12:00:00Z,2026-03-01T13:00:00Z,seed,200000\n"
       "198.51.100.8:51413,2026-03-01T12:10:00Z,2026-03-01T12:20:00Z,,\n")


def test_case_from_torrent_and_log(tmp_path):
    """The case file: the torrent's files, the log's peers as explicit peers with opaque ids,
    every evidence value cited with the file's SHA-256, everything else marked assumed; it loads
    as a scenario."""
    import hashlib
    torrent = make_torrent(tmp_path, "hybrid")
    monitor = tmp_path / "monitor.csv"
    monitor.write_text(LOG)
    out = tmp_path / "case.toml"
    code, stdout, stderr = run_cli(["case", "new", out, "--torrent", torrent, "--peers", monitor])
    assert code == 0, stderr
    sc = load_scenario(out)
    data = tomllib.loads(out.read_text())
    assert "198.51.100" not in out.read_text()
    assert [(p.id, p.role, p.join_s, p.leave_s, p.upload) for p in sc.swarm.peer] == [
        ("P001", "seed", 0.0, 3600.0, 200000), ("P002", "leecher", 600.0, 1200.0, 1_000_000)]
    assert sc.swarm.seeds.count == 0 and sc.swarm.leechers.count == 0
    assert sc.torrent.piece_size == 32768 and sc.torrent.file_paths[0] == "book/part1.bin"
    t_sha = hashlib.sha256(torrent.read_bytes()).hexdigest()
    m_sha = hashlib.sha256(monitor.read_bytes()).hexdigest()
    assert data["sources"]["torrent"].startswith(f"evidence: hybrid.torrent, sha256 {t_sha}")
    assert data["sources"]["swarm.peer"].startswith(f"evidence: monitor.csv, sha256 {m_sha}")
    assert data["sources"]["subject.on_complete"].startswith("assumed:")
    assert data["sources"]["subject.upload"].startswith("assumed:")


def test_existing_case_is_not_overwritten(tmp_path):
    out = tmp_path / "case.toml"
    out.write_text("keep")
    code, _, err = run_cli(["case", "new", out, "--torrent", make_torrent(tmp_path, "v1")])
    assert code == 2 and "exists" in err and out.read_text() == "keep"


def _traversal(tmp_path):
    def change(d):
        d[b"info"][b"files"][1][b"path"] = [b"..", b"..", b"home", b"x"]
    return edit_torrent(make_torrent(tmp_path, "v1"), tmp_path / "evil.torrent", change)


@pytest.mark.parametrize("make, args, words", [
    (lambda t: t / "cut.torrent", [], "<bencoding>"),
    (_traversal, [], "info.files[1].path"),
    (lambda t: "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567", [], "a magnet link"),
    (lambda t: t / "magnet.torrent", [], "holds a magnet link"),
    (lambda t: make_torrent(t, "v1"), ["--peers", "log"], "unknown column(s) ['ip']"),
    (lambda t: make_torrent(t, "v1"), ["--client-state", "state"], "truncated or corrupt"),
    (lambda t: make_torrent(t, "v1"), ["--client-settings", "settings"], "no such section"),
    (lambda t: make_torrent(t, "v1"), ["--client-settings", "qbt-bad"], "[BitTorrent] Session\\MaxUploads: 'many'"),
    (lambda t: make_torrent(t, "v1"), ["--client-settings", "tr-bad"], "speed-limit-up: 'fast'"),
    (lambda t: make_torrent(t, "v1"), ["--client-settings", "tr-broken"], "<json>: not valid JSON"),
])
def test_bad_input_exit_2_and_nothing_written(tmp_path, make, args, words):
    """Each bad input: 'leechsim: error:' naming the file and field and what is allowed, exit 2,
    no case file."""
    (tmp_path / "cut.torrent").write_bytes(make_torrent(tmp_path, "v2").read_bytes()[:-7])
    (tmp_path / "magnet.torrent").write_text("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567\n")
    (tmp_path / "log").write_text("ip,first_seen,last_seen\n1.2.3.4,0,1\n")
    (tmp_path / "state").write_bytes(b"d4:infod6:lengthi12")
    (tmp_path / "settings").write_text("[Preferences]\nGeneral\\Locale=en\n")
    (tmp_path / "qbt-bad").write_text("[BitTorrent]\nSession\\MaxUploads=many\n")
    (tmp_path / "tr-bad").write_text('{"speed-limit-up": "fast", "speed-limit-up-enabled": true}')
    (tmp_path / "tr-broken").write_text('{"speed-limit-up": ')
    args = [tmp_path / a if a in ("log", "state", "settings", "qbt-bad", "tr-bad", "tr-broken") else a for a in args]
    out = tmp_path / "case.toml"
    code, stdout, err = run_cli(["case", "new", out, "--torrent", make(tmp_path), *args])
    assert code == 2, (stdout, err)
    assert err.startswith("leechsim: error: ") and words in err and "allowed" in err, err
    assert not out.exists() and not list(tmp_path.glob(".case.toml*"))
    assert "Traceback" not in err


def test_resume_of_another_torrent_is_refused(tmp_path):
    """A real fastresume (libtorrent's own writer) of torrent A given with torrent B: exit 2,
    naming the file, the info-hash field and what is allowed; nothing written."""
    a = make_torrent(tmp_path, "v1")
    b = make_torrent(tmp_path, "hybrid")
    resume = libtorrent_fastresume(a, tmp_path / "content-v1", tmp_path / "a.fastresume")
    out = tmp_path / "case.toml"
    code, _, err = run_cli(["case", "new", out, "--torrent", b, "--client-state", resume])
    assert code == 2 and not out.exists()
    assert f"{resume}: info-hash: " in err and "is another torrent than hybrid.torrent" in err
    assert "allowed: the resume file of hybrid.torrent" in err
    code, _, err = run_cli(["case", "new", out, "--torrent", a, "--client-state", resume])
    assert code == 0, err  # the right torrent: accepted


def test_v2_torrent_keeps_pad_files_and_says_so(tmp_path):
    """A v2 torrent: the interior pad file stays in the case's files (pieces stay aligned), the
    final one is dropped, and [sources].torrent says how many pad bytes the model moves."""
    out = tmp_path / "case.toml"
    code, _, err = run_cli(["case", "new", out, "--torrent", make_torrent(tmp_path, "v2")])
    assert code == 0, err
    sc = load_scenario(out)
    pad = -300_000 % 32768
    assert sc.torrent.file_sizes == (300_000, pad, 70_000)
    assert sc.torrent.file_paths[1] == f"book/.pad/{pad}"
    src = tomllib.loads(out.read_text())["sources"]["torrent"]
    assert f"1 pad file(s) of {pad} bytes kept" in src and f"final pad file of {-70_000 % 32768} bytes dropped" in src


@pytest.mark.parametrize("where", ["dir", "missing-parent"])
def test_unwritable_case_path_exit_2_nothing_created(tmp_path, where):
    """A directory, or a file in a directory that does not exist: exit 2, no directory created."""
    out = tmp_path / "d" if where == "dir" else tmp_path / "no" / "such" / "case.toml"
    if where == "dir":
        out.mkdir()
    code, _, err = run_cli(["case", "new", out, "--torrent", make_torrent(tmp_path, "v1"), "--force"])
    assert code == 2 and err.startswith("leechsim: error: ") and "allowed" in err, err
    assert not (tmp_path / "no").exists()


def test_an_endless_or_huge_evidence_file_is_refused_by_its_size(tmp_path, monkeypatch):
    """/dev/zero as the .torrent, or a regular file over the cap: exit 2, named, nothing written."""
    import forensics.case.evidence_file as ef
    out = tmp_path / "case.toml"
    code, _, err = run_cli(["case", "new", str(out), "--torrent", "/dev/zero"])
    assert code == 2 and "/dev/zero" in err and "larger than" in err and "Traceback" not in err
    monkeypatch.setattr(ef, "MAX_EVIDENCE_FILE_BYTES", 1000)
    big = tmp_path / "big.torrent"
    big.write_bytes(b"d" + b"0" * 2000)
    code, _, err = run_cli(["case", "new", str(out), "--torrent", str(big)])
    assert code == 2 and "big.torrent" in err and "larger than" in err
    assert not out.exists()
