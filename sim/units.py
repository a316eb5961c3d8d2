"""Byte sizes and rates as a scenario author writes them: ``"16MiB"``, ``"500kB/s"``, ``"8Mbit/s"``.

Decimal prefixes (k, M, G, T) are powers of 1000 and binary prefixes (Ki, Mi, Gi, Ti) powers of
1024, as in IEC 80000-13; ``bit`` divides by 8. Bytes are always whole numbers in the model.
"""

from __future__ import annotations

import math
import re

_PREFIX = {
    "": 1,
    "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
    "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T|)(B|bit)\s*$")
_RATE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T|)(B|bit)(?:/s|ps)\s*$")

SIZE_HELP = "a whole number of bytes or a string like '256KiB', '32MiB', '1.5GB'"
RATE_HELP = "bytes per second as a number, or a string like '500kB/s', '1MiB/s', '8Mbit/s'"


def _convert(match: re.Match[str]) -> int:
    number, prefix, unit = match.groups()
    value = float(number) * _PREFIX[prefix]
    if unit == "bit":
        value /= 8
    return int(round(value))


def parse_size(value: object) -> int:
    """Return a byte count from an int or a unit string; raise ValueError naming what is allowed."""
    if isinstance(value, bool):
        raise ValueError(f"expected {SIZE_HELP}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            return _convert(m)
    raise ValueError(f"expected {SIZE_HELP}")


def parse_rate(value: object) -> int:
    """Return bytes/s from a number or a unit string; raise ValueError naming what is allowed."""
    if isinstance(value, bool):
        raise ValueError(f"expected {RATE_HELP}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected {RATE_HELP} (a finite number)")
    if isinstance(value, (int, float)):
        return int(round(value))
    if isinstance(value, str):
        m = _RATE_RE.match(value)
        if m:
            return _convert(m)
    raise ValueError(f"expected {RATE_HELP}")


def format_bytes(n: float) -> str:
    """Binary-unit rendering for humans ('12.3 MiB'); tables keep the exact integer beside it."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
