"""``python3 -m tests.golden --update``: re-record tests/golden/data/ with the current code."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from . import DATA, normalized, printed, produce


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__)
    p.add_argument("--update", action="store_true", help="replace tests/golden/data/ with this code's outputs")
    ns = p.parse_args()
    if not ns.update:
        p.print_help()
        return 2
    with tempfile.TemporaryDirectory(prefix="leechsim-golden-") as tmp:
        work = Path(tmp) / "work"
        results = produce(work)
        files = normalized(work)
        if DATA.exists():
            shutil.rmtree(DATA)
        for rel, data in files.items():
            (DATA / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
            (DATA / "files" / rel).write_bytes(data)
        (DATA / "printed.json").write_bytes(printed(results))
    print(f"recorded {len(files)} output files in {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
