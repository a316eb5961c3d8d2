"""Write examples/case-study/corpus.toml, corpus-session.toml and torrents.csv from assumptions.toml.

Run:  PYTHONPATH=. python3 scripts/make_case_study.py [--out examples/case-study]

Deterministic (seeded by assumptions.toml [generator]); tests/test_case_study.py re-runs it and
compares the bytes with the committed files. Per torrent (``generator.torrents`` of them):

- 1,000 books whose sizes are drawn in leechsim itself from ``[corpus.file_sizes]`` (lognormal,
  median and sigma from assumptions.toml; torrent i draws from SeedSequence(file_sizes_seed,
  spawn_key=(i,))), so ``total_size`` here is the sum that the corpus run will draw again;
- seeds: one of Anna's Archive's buckets (<4, 4-10, >10) with the assumed shares, uniform within it;
- leecher arrivals per hour: lognormal around the assumed median;
- the time the subject adds the torrent: uniform over the assumed range, whole seconds.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np

from forensics.corpus import FileSizes
from forensics.tables import csv_text

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "examples" / "case-study"

CORPUS_TOML = """# The case study: {torrents:,} LibGen-style torrents of {books:,} books each, in the shape of the public
# record (docs/case-study.md). Written by scripts/make_case_study.py from assumptions.toml; do not edit.
# Run:  leechsim corpus examples/case-study/corpus.toml --out runs/case-study
# Each torrent is simulated as if the client had it to itself (model = "independent");
# corpus-session.toml runs the same torrents through one client session (model = "session").
[corpus]
name = "case-study"
base = "base.toml"
replications = 100
seed = {seed}
model = "independent"
torrents_csv = "torrents.csv"
# Each swarm's seeds-only start (before its first leecher or the subject joins) is skipped, not
# simulated: the subject's numbers keep their distribution (sim/warm_start.py, tests/test_warm_start.py).
skip_idle_prefix = true

[corpus.file_sizes]             # assumptions.toml: book_size_median_bytes, book_size_sigma
dist = "lognormal"
median = {median}
sigma = {sigma}
seed = {file_seed}
"""

SESSION_TOML = """# The case study through one client session: the same {torrents:,} torrents as corpus.toml, fed to
# libtorrent's auto-manage queue in corpus order, with session-wide unchoke slots, rate limits and
# connection limit (model = "session"; docs/case-study.md). Written by scripts/make_case_study.py
# from assumptions.toml; do not edit.
# Run:  leechsim corpus examples/case-study/corpus-session.toml --out runs/case-study-session
[corpus]
name = "case-study-session"
base = "base.toml"
replications = 100
seed = {seed}
model = "session"
torrents_csv = "torrents.csv"

[corpus.session]                # assumptions.toml: torrents_per_session, active_downloads
torrents_per_session = {per_session}
auto_managed = true             # libtorrent's default for added torrents
active_downloads = {active_downloads}
active_seeds = 5                # libtorrent's default
active_limit = 500              # libtorrent's default

[corpus.file_sizes]             # assumptions.toml: book_size_median_bytes, book_size_sigma
dist = "lognormal"
median = {median}
sigma = {sigma}
seed = {file_seed}
"""


def generate(assumptions: dict) -> tuple[str, str, str]:
    """(corpus.toml, torrents.csv, corpus-session.toml) as text."""
    g = assumptions["generator"]
    T, books = int(g["torrents"]), int(g["books_per_torrent"])
    sizes = FileSizes(dist="lognormal", median=int(assumptions["book_size_median_bytes"]["value"]),
                      sigma=float(assumptions["book_size_sigma"]["value"]), seed=int(g["file_sizes_seed"]))
    rng = np.random.default_rng(int(g["seed"]))
    s = assumptions["seeds_per_torrent"]
    bucket = rng.choice(3, size=T, p=[s["share_lt4"], s["share_4_10"], 1 - s["share_lt4"] - s["share_4_10"]])
    lows, highs = np.array([1, 4, 11]), np.array([3, 10, int(s["high"])])
    seeds = rng.integers(lows[bucket], highs[bucket] + 1)
    a = assumptions["leecher_arrivals_per_h"]
    arrivals = a["value"] * np.exp(a["sigma"] * rng.standard_normal(T))
    j = assumptions["subject_join_s"]
    join = np.round(rng.uniform(j["low"], j["high"], size=T))
    rows = [[f"libgen-r-{i:04d}", int(sizes.draw(i, books).sum()), books, int(seeds[i]),
             float(f"{arrivals[i]:.4g}"), int(join[i])] for i in range(T)]
    csv = csv_text(("name", "total_size", "files", "seeds", "leecher_arrivals_per_h", "subject_join_s"), rows)
    toml = CORPUS_TOML.format(torrents=T, books=books, seed=int(g["seed"]), median=sizes.median, sigma=sizes.sigma,
                              file_seed=sizes.seed)
    session = SESSION_TOML.format(torrents=T, seed=int(g["seed"]), median=sizes.median, sigma=sizes.sigma,
                                  file_seed=sizes.seed, per_session=int(assumptions["torrents_per_session"]["value"]),
                                  active_downloads=int(assumptions["active_downloads"]["value"]))
    return toml, csv, session


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="directory for corpus.toml and torrents.csv")
    ap.add_argument("--assumptions", type=Path, default=HERE / "assumptions.toml")
    ns = ap.parse_args(argv)
    toml, csv, session = generate(tomllib.loads(ns.assumptions.read_text()))
    ns.out.mkdir(parents=True, exist_ok=True)
    for name, text in (("corpus.toml", toml), ("torrents.csv", csv), ("corpus-session.toml", session)):
        tmp = ns.out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(ns.out / name)
    print(f"wrote {ns.out / 'corpus.toml'}, {ns.out / 'corpus-session.toml'} and {ns.out / 'torrents.csv'} "
          f"({csv.count(chr(10)) - 1:,} torrents)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
