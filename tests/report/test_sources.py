"""Where each parameter came from: comments, a [sources] table, overrides and defaults."""

from __future__ import annotations

from forensics.report.sources import marks_from_comments, marks_from_table, parameter_table
from sim.scenario import parse_scenario

RAW = '''
[scenario]
name = "x # not a comment"        # evidence: exhibit 1
[torrent]
total_size = "4MiB"
[swarm.seeds]                     # assumed: archive statistics
count = 2
upload = "1MB/s"                  # evidence: measured, exhibit 7
[subject]
upload = "2MB/s"                  # a plain comment is not a source
download = "8MB/s"
'''

SOURCES = RAW + '''
[sources]
"subject.upload" = "evidence: ISP contract"
"swarm.seeds.upload" = "assumed: overrides the comment"
'''


def _rows(raw: str, overrides=()):
    import tomllib

    data = {k: v for k, v in tomllib.loads(raw).items() if k != "sources"}
    for o in overrides:
        key, _, value = o.partition("=")
        node = data
        for part in key.split(".")[:-1]:
            node = node.setdefault(part, {})
        node[key.split(".")[-1]] = int(value)
    return {p.key: p for p in parameter_table(parse_scenario(data), raw, list(overrides))}


def test_comment_marks():
    """A trailing `# evidence:` / `# assumed:` marks a key, or a whole table from its header."""
    marks = marks_from_comments(RAW)
    assert marks == {"scenario.name": "evidence: exhibit 1", "swarm.seeds": "assumed: archive statistics",
                     "swarm.seeds.upload": "evidence: measured, exhibit 7"}


def test_most_specific_mark_wins_and_defaults_are_named():
    """Key over table; unmarked given keys, overrides, libtorrent and leechsim defaults each say so."""
    rows = _rows(RAW, overrides=["swarm.leechers.count=9"])
    assert (rows["swarm.seeds.upload"].source, rows["swarm.seeds.upload"].note) == ("evidence", "measured, exhibit 7")
    assert (rows["swarm.seeds.count"].source, rows["swarm.seeds.count"].note) == ("assumed", "archive statistics")
    assert rows["subject.upload"].source == "scenario file"
    assert rows["swarm.leechers.count"].source == "command line"
    assert rows["subject.libtorrent.upload_rate_limit"].source == "libtorrent default"
    assert rows["simulation.tick_s"].source == "leechsim default"
    assert rows["swarm.seeds.upload"].value == "976.56 KiB/s (1,000,000 B/s)"


def test_sources_table_wins_over_comments():
    """A [sources] table (once the schema accepts it) overrides comment marks."""
    assert marks_from_table(SOURCES) == {"subject.upload": "evidence: ISP contract",
                                         "swarm.seeds.upload": "assumed: overrides the comment"}
    rows = _rows(SOURCES)
    assert (rows["subject.upload"].source, rows["subject.upload"].note) == ("evidence", "ISP contract")
    assert (rows["swarm.seeds.upload"].source, rows["swarm.seeds.upload"].note) == ("assumed", "overrides the comment")


def test_values_read_as_their_units():
    """An arrival rate is not a duration; sizes and rates carry exact counts."""
    from forensics.report.sources import format_value

    assert format_value("swarm.leechers.rate_per_s", 0.004) == "0.004 arrivals per second (one every 250 s)"
    assert format_value("torrent.piece_size", 2097152) == "2.00 MiB (2,097,152 B)"
    assert format_value("subject.libtorrent.upload_rate_limit", 0) == "0 (unlimited)"
    assert format_value("swarm.leechers.seed_time", {"dist": "exponential", "mean": 300.0}) == "exponential: mean 300 s (5.0 min)"
