"""argparse value types shared by the commands: each says what is allowed when it refuses."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from forensics.capacity import MAX_WORKERS
from forensics.errors import UserError
from sim.limits import MAX_REPLICATIONS


def _number(text: str, convert, allowed, expected: str):
    try:
        v = convert(text)
    except ValueError:
        v = None
    if v is None or not allowed(v):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return v


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "a whole number >= 1")


def replications(text: str) -> int:
    return _number(text, int, lambda v: 1 <= v <= MAX_REPLICATIONS, f"a whole number from 1 to {MAX_REPLICATIONS:,}")


def workers(text: str) -> int:
    return _number(text, int, lambda v: 1 <= v <= MAX_WORKERS, f"a whole number from 1 to {MAX_WORKERS:,}")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: v > 0, "a number of seconds > 0")


def seed(text: str) -> int:
    return _number(text, int, lambda v: 0 <= v < 2**63, "a whole number in [0, 2**63)")


def scheduler(text: str) -> str:
    if not re.fullmatch(r"(tcp|tls)://[A-Za-z0-9_.\-\[\]:]+:[0-9]{1,5}", text):
        raise argparse.ArgumentTypeError(f"expected tcp://HOST:PORT (or tls://HOST:PORT), got {text!r}")
    return text


def named_files(directory: Path, kind: str, only: list[str]) -> list[Path]:
    """The *.toml files of ``directory`` (a matrix of scenarios, of sessions), sorted; with ``only``
    (--only NAME, repeatable), those named. A name that names no file is refused, with the names
    allowed: a mistyped one would otherwise be skipped without a word while the others run."""
    files = sorted(Path(directory).glob("*.toml"))
    stems = [p.stem for p in files]
    unknown = [n for n in dict.fromkeys(only) if n not in stems]
    if unknown:
        raise UserError(f"{directory}: --only {', '.join(unknown)}: no such {kind} file (NAME.toml); "
                        f"allowed: {', '.join(stems) if stems else 'none (the directory holds no *.toml)'}")
    files = [p for p in files if not only or p.stem in only]
    if not files:
        raise UserError(f"{directory}: no {kind} files (*.toml)")
    return files
