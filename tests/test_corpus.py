"""The corpus command: every torrent simulated, totals are per-replication sums, bad rows refused."""

import csv
import io
import json
import shutil
from pathlib import Path

from leechsim.env import Environment
from leechsim.main import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "corpus"


def run_cli(args):
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    return main(args, env), env.stdout.getvalue(), env.stderr.getvalue()


def small_corpus(tmp_path: Path, rows: str) -> Path:
    shutil.copy(EXAMPLE / "base.toml", tmp_path / "base.toml")
    (tmp_path / "torrents.csv").write_text(rows)
    p = tmp_path / "corpus.toml"
    p.write_text('[corpus]\nname = "t"\nbase = "base.toml"\nreplications = 3\nseed = 4\ntorrents_csv = "torrents.csv"\n')
    return p


def test_totals_are_sums_over_torrents(tmp_path):
    corpus = small_corpus(tmp_path, "name,total_size,files,seeds,leechers\na,64MiB,3,1,3\nb,32MiB,1,1,2\n")
    out = tmp_path / "out"
    code, text, err = run_cli(["corpus", str(corpus), "--out", str(out), "--workers", "1"])
    assert code == 0, err
    assert "TOTAL" in text
    totals = list(csv.DictReader(open(out / "totals.csv")))
    summary = json.loads((out / "summary.json").read_text())
    assert len(totals) == 3 and summary["torrents"] == 2
    per = summary["per_torrent"]
    assert set(per) == {"a", "b"}
    # the median of the totals is not the sum of medians, but the mean is the sum of means
    mean_total = sum(float(r["subject_upload_total_bytes"]) for r in totals) / 3
    sum_means = sum(per[t]["headline"]["subject_upload_total_bytes"]["mean"] for t in per)
    assert abs(mean_total - sum_means) < 1e-6 * max(1.0, mean_total)
    assert summary["corpus_size_bytes"] == 96 * 2**20


def test_same_corpus_same_totals(tmp_path):
    corpus = small_corpus(tmp_path, "name,total_size,files,seeds,leechers\na,32MiB,2,1,3\n")
    for name in ("x", "y"):
        assert run_cli(["corpus", str(corpus), "--out", str(tmp_path / name), "--workers", "1"])[0] == 0
    assert (tmp_path / "x" / "totals.csv").read_bytes() == (tmp_path / "y" / "totals.csv").read_bytes()


def test_bad_csv_row_names_line_and_column(tmp_path):
    corpus = small_corpus(tmp_path, "name,total_size,files,seeds,leechers\na,32MiB,2,1,3\nb,huge,2,1,3\n")
    code, _, err = run_cli(["corpus", str(corpus), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "torrents.csv" in err and "line 3" in err and "total_size" in err and "huge" in err
    assert not (tmp_path / "o").exists()


def test_unknown_corpus_key(tmp_path):
    corpus = small_corpus(tmp_path, "name,total_size,files,seeds,leechers\na,32MiB,2,1,3\n")
    corpus.write_text(corpus.read_text().replace("seed = 4", "sede = 4"))
    code, _, err = run_cli(["corpus", str(corpus)])
    assert code == 2 and "corpus.sede" in err and "unknown key" in err and "replications" in err
