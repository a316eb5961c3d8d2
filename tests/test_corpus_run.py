"""Corpus runs: the subject's numbers equal simulate's, results do not depend on workers or blocks,
the per-replication table in Parquet and CSV, drawn file sizes, and refusals of bad corpus files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from forensics import corpus_table
from forensics.analysis.exposure import monitor_counts
from forensics.corpus import load_corpus
from forensics.corpus_run import run_corpus
from leechsim.env import Environment
from leechsim.main import main
from sim.engine import layout_of
from sim.montecarlo import run_replications
from sim.results import ROLE_NAMES

BASE = """[scenario]
name = "t-base"
[torrent]
piece_size = "64KiB"
total_size = "4MiB"
[swarm]
announce_interval_s = 60
connectable_share = 0.7
[swarm.seeds]
count = 1
upload = "300kB/s"
[swarm.leechers]
arrival = "poisson"
rate_per_s = 0.02
window_s = [0, 3000]
upload = { classes = [ { share = 0.5, value = "100kB/s" }, { share = 0.5, value = "400kB/s" } ] }
download = "1MB/s"
seed_time = { dist = "exponential", mean = 60 }
[subject]
join_s = 100
upload = "2MB/s"
download = "2MB/s"
on_complete = "stop"
[simulation]
horizon_s = 4000
"""

CSV = """name,files,seeds,leecher_arrivals_per_h,subject_join_s
a,40,1,60,100
b,25,2,30,400
c,1,1,90,50
"""


def write_corpus(d: Path, extra: str = "", csv: str = CSV, base: str = BASE) -> Path:
    (d / "base.toml").write_text(base)
    (d / "torrents.csv").write_text(csv)
    p = d / "corpus.toml"
    p.write_text('[corpus]\nname = "t"\nbase = "base.toml"\nreplications = 4\nseed = 9\ntorrents_csv = "torrents.csv"\n'
                 + extra + '[corpus.file_sizes]\ndist = "lognormal"\nmedian = 150000\nsigma = 0.8\nseed = 5\n')
    return p


def cli(args: list[str], progress: bool = False, terminal: bool = False):
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=progress)
    if terminal:  # a console that behaves as a terminal: rich draws the live progress display
        env.err_console = lambda: Console(file=env.stderr, width=200, force_terminal=True)
    return main(args, env), env.stdout.getvalue(), env.stderr.getvalue()


RESULT_FILES = ("per_replication.parquet", "totals.csv", "torrents.csv", "summary.json", "corpus.toml",
                "base.resolved.toml", "torrents.input.csv")


def test_subject_numbers_equal_simulate_of_each_torrent(tmp_path):
    """Row (torrent i, replication r) holds what simulate gives replication r of torrent i's scenario
    with its master seed, run to the end — stopping once the subject left changes none of them."""
    corpus = load_corpus(write_corpus(tmp_path))
    run = run_corpus(tmp_path / "corpus.toml", tmp_path / "out", workers=1)
    table = corpus_table.read_table(run.root)
    seeds = corpus.torrent_seeds()
    for i in range(3):
        sc = corpus.scenario_for(i)
        full = run_replications(sc, 4, seeds[i], workers=1)
        for r, res in enumerate(full):
            row = i * 4 + r
            for key in corpus_table.SUBJECT_HEADLINE:
                if key == "end_s":
                    assert table[key][row] <= res.headline[key]
                    continue
                want, got = res.headline[key], table[key][row]
                assert (np.isnan(want) and np.isnan(got)) or want == got, (i, r, key, want, got)
            peers = dict(res.peers)
            peers["role"] = np.asarray([ROLE_NAMES[int(x)] for x in peers["role"]], dtype=object)
            counts = monitor_counts(peers, res.log.columns(), layout_of(sc), res.headline["end_s"])
            assert counts == tuple(int(table[k][row]) for k in ("monitors_present", "monitors_got_block",
                                                                  "monitors_got_piece", "monitors_got_file"))
            assert table["files_touched"][row] == int(np.count_nonzero(res.files["bytes_uploaded"]))
    # the replications really were cut short for at least some rows (else the test proves nothing)
    assert np.any(table["end_s"] < 3000)


def assert_identical_for_any_workers_and_block_size(corpus: Path, tmp_path: Path) -> None:
    """Run ``corpus`` on 1 and 2 workers and blocks of 1 and 3 replications (w1, w2, b1, b3 under
    tmp_path): every result file is byte-identical."""
    outs = []
    for name, extra in (("w1", ["--workers", "1"]), ("w2", ["--workers", "2"]), ("b1", ["--workers", "2", "--block", "1"]),
                        ("b3", ["--workers", "1", "--block", "3"])):
        code, _, err = cli(["corpus", str(corpus), "--out", str(tmp_path / name), *extra])
        assert code == 0, err
        outs.append(tmp_path / name)
    for f in RESULT_FILES:
        data = {o.name: (o / f).read_bytes() for o in outs}
        assert len(set(data.values())) == 1, f


def test_identical_files_for_any_workers_and_block_size(tmp_path):
    assert_identical_for_any_workers_and_block_size(write_corpus(tmp_path), tmp_path)


def test_totals_are_per_replication_sums_and_the_ratio(tmp_path):
    import pandas as pd
    out = run_corpus(write_corpus(tmp_path), tmp_path / "out", workers=1).root
    df = pd.read_parquet(out / "per_replication.parquet")
    assert list(df["torrent"]) == [0] * 4 + [1] * 4 + [2] * 4 and list(df["replication"]) == [0, 1, 2, 3] * 3
    totals = pd.read_csv(out / "totals.csv")
    up = df.groupby("replication")["subject_upload_total_bytes"].sum()
    down = df.groupby("replication")["subject_download_bytes"].sum()
    assert list(totals["subject_upload_total_bytes"]) == list(up)
    assert np.allclose(totals["subject_ratio_total"], up / down, rtol=0, atol=1e-15)
    assert up.sum() > 0  # the subject did upload: the sums above are of something


def test_parquet_and_csv_tables_hold_the_same_numbers(tmp_path):
    corpus = write_corpus(tmp_path)
    a = run_corpus(corpus, tmp_path / "pq", workers=1, table_format="parquet").root
    b = run_corpus(corpus, tmp_path / "csv", workers=1, table_format="csv").root
    assert (a / "per_replication.parquet").is_file() and not (a / "per_replication.csv").exists()
    assert (b / "per_replication.csv").is_file() and not (b / "per_replication.parquet").exists()
    ta, tb = corpus_table.read_table(a), corpus_table.read_table(b)
    for k in corpus_table.COLUMNS:
        assert np.array_equal(ta[k], tb[k], equal_nan=True), k
    assert (a / "totals.csv").read_bytes() == (b / "totals.csv").read_bytes()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_report_reads_either_table(tmp_path, fmt):
    """`leechsim report` on a corpus run: the ratio it states is the one computed here from the raw rows."""
    import pandas as pd
    out = tmp_path / "run"
    assert cli(["corpus", str(write_corpus(tmp_path)), "--out", str(out), "--workers", "1", "--table-format", fmt])[0] == 0
    code, text, err = cli(["report", str(out)])
    assert code == 0, err
    md = (out / "report.md").read_text()
    df = pd.read_parquet(out / "per_replication.parquet") if fmt == "parquet" else pd.read_csv(out / "per_replication.csv")
    sums = df.groupby("replication")[["subject_upload_total_bytes", "subject_download_bytes"]].sum()
    ratio = float(np.median(sums["subject_upload_total_bytes"] / sums["subject_download_bytes"]))
    assert f"**{ratio:.3f}** times what it downloaded" in md
    # the independent model, stated as such, and the session model named as the alternative
    assert "as if the client had it to itself" in md and 'model = "session"' in md
    assert (out / "report.html").read_text().count("<table>") >= 2
    assert "per_replication." + fmt in md
    assert (out / "report.SHA256SUMS").is_file()


def test_report_refuses_a_changed_table(tmp_path):
    out = tmp_path / "run"
    assert cli(["corpus", str(write_corpus(tmp_path)), "--out", str(out), "--workers", "1"])[0] == 0
    with open(out / "per_replication.parquet", "ab") as f:
        f.write(b"x")
    code, _, err = cli(["report", str(out)])
    assert code == 2 and "per_replication.parquet" in err and "Traceback" not in err


def test_drawn_file_sizes(tmp_path):
    """Each torrent's files are drawn from corpus.file_sizes: the same sizes whatever follows the torrent,
    different per torrent, lognormal around the median."""
    corpus = load_corpus(write_corpus(tmp_path))
    a = corpus.scenario_for(0).torrent
    assert len(a.files) == 40 and a.files[0].path == "a/00000"
    sizes = np.array(a.file_sizes)
    assert 150000 / 3 < np.median(sizes) < 150000 * 3 and len(set(sizes)) > 30
    fewer = load_corpus(write_corpus(tmp_path, csv="name,files,seeds,leecher_arrivals_per_h\na,40,1,60\n"))
    assert fewer.scenario_for(0).torrent.file_sizes == a.file_sizes
    assert corpus.scenario_for(1).torrent.file_sizes[:25] != a.file_sizes[:25]


@pytest.mark.parametrize("extra, csv, base_edit, words", [
    ('model = "shared"\n', CSV, None, ["corpus.model", "unknown model", "independent", "session"]),
    ("", "name,files,seeds,leecher_arrivals_per_h,colour\na,4,1,60,red\n", None, ["unknown column 'colour'", "subject_join_s"]),
    ("", "name,files,seeds,leecher_arrivals_per_h\na,4,1,fast\n", None, ["line 2", "leecher_arrivals_per_h", "fast"]),
    ("", "name,files,seeds,leecher_arrivals_per_h\na,4,1,-2\n", None, ["line 2", "leecher_arrivals_per_h", "-2"]),
    ("", "name,files,seeds,total_size\na,4,1,999\n", None, ["total_size 999", "differs", "corpus.file_sizes"]),
    ("", "name,files,seeds,subject_join_s\na,4,1,5000\n", None, ["torrent 'a'", "join_s"]),
    ("", "name,files,seeds,leecher_arrivals_per_h\na,4,1,60\n", ('arrival = "poisson"\nrate_per_s = 0.02\nwindow_s = [0, 3000]',
                                                               'arrival = "flash_crowd"\ncount = 3'),
     ["leecher_arrivals_per_h", "poisson", "flash_crowd"]),
    ("", "name,files,seeds\na/b,4,1\n", None, ["line 2", "name", "'/'"]),
])
def test_bad_corpus_input_exit_2_without_traceback(tmp_path, extra, csv, base_edit, words):
    base = BASE.replace(*base_edit) if base_edit else BASE
    corpus = write_corpus(tmp_path, extra=extra, csv=csv, base=base)
    code, _, err = cli(["corpus", str(corpus), "--out", str(tmp_path / "o")])
    assert code == 2 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.incomplete").exists()


def test_progress_display_shows_torrents_rate_and_time_left_and_changes_no_file(tmp_path):
    corpus = write_corpus(tmp_path)
    code, _, err = cli(["corpus", str(corpus), "--out", str(tmp_path / "shown"), "--workers", "1"], progress=True,
                       terminal=True)
    assert code == 0
    assert "torrents 3/3" in err and "rep/s" in err and "left" in err and "12/12 rep" in err
    code, _, quiet = cli(["corpus", str(corpus), "--out", str(tmp_path / "quiet"), "--workers", "1"])
    assert code == 0 and quiet == ""  # not a terminal: no display at all
    for f in RESULT_FILES:
        assert (tmp_path / "shown" / f).read_bytes() == (tmp_path / "quiet" / f).read_bytes(), f
    man = json.loads((tmp_path / "shown" / "manifest.json").read_text())
    assert man["per_replication_table"] == "per_replication.parquet" and man["work_unit_replications"] == 10
    import hashlib
    stored = (tmp_path / "shown" / "torrents.input.csv").read_bytes()  # the whole input is kept with the run
    assert stored == CSV.encode() and man["torrents_csv_sha256"] == hashlib.sha256(CSV.encode()).hexdigest()


@pytest.mark.parametrize("csv_path, content, words", [
    ("/dev/zero", None, ["/dev/zero", "larger than 64.00 MiB", "torrents CSV file"]),
    ("bin.csv", b"name,files\n\xff\xfe,3\n", ["bin.csv", "not UTF-8"]),
    ("missing.csv", None, ["missing.csv", "no such torrents CSV file"]),
], ids=["dev-zero", "not-utf8", "missing"])
def test_hostile_torrents_csv_is_refused(tmp_path, csv_path, content, words):
    corpus = write_corpus(tmp_path)
    if content is not None:
        (tmp_path / csv_path).write_bytes(content)
    corpus.write_text(corpus.read_text().replace('torrents_csv = "torrents.csv"', f'torrents_csv = "{csv_path}"'))
    code, _, err = cli(["corpus", str(corpus), "--out", str(tmp_path / "o")])
    assert code == 2 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_verify_re_runs_a_corpus_from_what_it_stores(tmp_path, fmt):
    """verify re-runs a corpus from its stored inputs (the original files moved away) and finds every
    output identical; a result edited and re-hashed is caught by the re-run, naming the file."""
    import shutil
    from forensics.provenance import HASH_FILE, hash_list
    corpus = write_corpus(tmp_path)
    out = tmp_path / "run"
    assert cli(["corpus", str(corpus), "--out", str(out), "--workers", "2", "--table-format", fmt])[0] == 0
    shutil.move(tmp_path / "torrents.csv", tmp_path / "elsewhere.csv")  # the re-run must not need the inputs
    (tmp_path / "base.toml").unlink()
    code, text, err = cli(["verify", str(out), "--workers", "1"])
    assert code == 0, err + text
    assert "verified: 7 output files identical" in text
    totals = (out / "totals.csv").read_text().splitlines()
    cells = totals[1].split(",")
    cells[3] = str(int(cells[3]) + 1)  # one byte more uploaded in replication 0, and the hash list redone
    (out / "totals.csv").write_text("\n".join([totals[0], ",".join(cells), *totals[2:]]) + "\n")
    (out / HASH_FILE).write_text(hash_list(out))
    code, text, err = cli(["verify", str(out), "--workers", "1"])
    assert code == 1 and "totals.csv" in err and "differs from the re-run" in err and "Traceback" not in err, err


def _frozen_objects() -> int:
    import gc
    return gc.get_freeze_count()


def test_pool_workers_start_with_a_frozen_heap():
    """A corpus pool worker has put what it started with out of the collector's reach (gc.freeze)."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    from forensics.corpus_run import _init_corpus_worker
    with ProcessPoolExecutor(max_workers=1, initializer=_init_corpus_worker, initargs=(os.getpid(),)) as pool:
        assert pool.submit(_frozen_objects).result() > 1000
