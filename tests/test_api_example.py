"""docs/api.md's example runs as written (in a temporary directory)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_api_example_runs(tmp_path, monkeypatch):
    """The code block of docs/api.md, run against the repository's scenario file."""
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.S).group(1)
    (tmp_path / "tests" / "report" / "data").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "report" / "data" / "small-books.toml", tmp_path / "tests" / "report" / "data")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {})
    assert (tmp_path / "runs" / "books" / "report.md").is_file()
    assert (tmp_path / "runs" / "books-sweep" / "sweep.csv").is_file()
