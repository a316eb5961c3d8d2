"""The five golden cases reproduce their recorded outputs byte for byte (times, commit, paths masked).

These goldens pin the current model and formats. A deliberate change of the model, of a default or
of an output format changes them: re-record with ``PYTHONPATH=. python3 -m tests.golden --update``,
review the diff of tests/golden/data/ and commit it with the change. Any other failure means a
refactoring changed behaviour.
"""

from __future__ import annotations

from . import DATA, normalized, printed, produce


def test_outputs_match_the_golden_files(tmp_path):
    """Every output file of simulate, sweep, report, validate and verify equals its golden copy."""
    work = tmp_path / "work"
    results = produce(work)
    got = normalized(work)
    want = {p.relative_to(DATA / "files").as_posix(): p.read_bytes()
            for p in sorted((DATA / "files").rglob("*")) if p.is_file()}
    assert sorted(got) == sorted(want)
    differing = [rel for rel in want if got[rel] != want[rel]]
    assert differing == []
    assert printed(results) == (DATA / "printed.json").read_bytes()
