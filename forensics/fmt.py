"""How leechsim writes numbers: one function per kind, for the report, the analyses' labels and the terminal.

Bytes are shown in binary units (KiB = 1024 B) with the exact byte count beside them in tables,
rates the same per second, times in seconds (with minutes/hours when long), shares as percent.
"""

from __future__ import annotations

import math

from sim.units import format_bytes


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(x: float | None) -> str:
    """A count as a whole number: a median or percentile of counts (interpolated between
    replications, e.g. 82.3) is shown rounded, as nobody received 0.3 of a piece."""
    if _missing(x):
        return "—"
    return f"{math.floor(float(x) + 0.5):,}"  # half up: 105.5 -> 106, 104.5 -> 105 (not to even)


def count_mean(x: float | None) -> str:
    """The mean of a count keeps one decimal: it is labelled as a mean wherever it is shown."""
    if _missing(x):
        return "—"
    x = float(x)
    return f"{int(x):,}" if x.is_integer() else f"{x:,.1f}"


def nbytes(x: float | None) -> str:
    """Binary units only: '156.84 MiB' (prose, figures)."""
    return "—" if _missing(x) else format_bytes(x)


def _binary_and_exact(x: float | None, per: str) -> str:
    """'156.84 MiB{per} (164,456,448 B{per})'; below 1 KiB the exact count alone."""
    if _missing(x):
        return "—"
    x = float(x)
    exact = (f"{int(x):,} B" if x.is_integer() else f"{x:,.1f} B") + per
    short = format_bytes(x)
    return exact if short.endswith(" B") else f"{short}{per} ({exact})"


def nbytes_exact(x: float | None) -> str:
    """Binary units and the exact count: '156.84 MiB (164,456,448 B)' (tables)."""
    return _binary_and_exact(x, "")


def rate(bps: float | None) -> str:
    """A rate in binary units with the exact bytes per second: '244.14 KiB/s (250,000 B/s)'."""
    return _binary_and_exact(bps, "/s")


def seconds(s: float | None) -> str:
    if _missing(s):
        return "—"
    s = float(s)
    if math.isinf(s):
        return "forever"
    text = f"{s:,.0f} s" if abs(s) >= 10 or s.is_integer() else f"{s:,.1f} s"
    if abs(s) >= 3600:
        text += f" ({s / 3600:.1f} h)"
    elif abs(s) >= 120:
        text += f" ({s / 60:.1f} min)"
    return text


def whole_seconds(s: float | None) -> str:
    """Seconds rounded to a whole number, without the minutes or hours (terminal tables)."""
    return "—" if _missing(s) else f"{float(s):,.0f} s"


def ratio(x: float | None) -> str:
    return "—" if _missing(x) else f"{float(x):.3f}"


def percent(x: float | None) -> str:
    """A fraction (0.5) shown as a percentage ('50.0%')."""
    return "—" if _missing(x) else f"{100 * float(x):.1f}%"


def probability(x: float | None) -> str:
    return "—" if _missing(x) else f"{float(x):.3f}"


KINDS = {"bytes": nbytes, "bytes_exact": nbytes_exact, "count": count, "count_mean": count_mean, "seconds": seconds, "whole_seconds": whole_seconds,
         "ratio": ratio, "percent": percent, "probability": probability, "rate": rate}


def value(x: float | None, kind: str) -> str:
    return KINDS[kind](x)


def mean_value(x: float | None, kind: str) -> str:
    """A mean in a 'Mean' column: counts keep their decimal, exact bytes are shown short."""
    return value(x, {"count": "count_mean", "bytes_exact": "bytes"}.get(kind, kind))


def interval(lo: float | None, hi: float | None, kind: str) -> str:
    """'a – b'; with exact bytes only once per bound would be unreadable, so bytes stay short here."""
    k = "bytes" if kind == "bytes_exact" else kind
    if _missing(lo) or _missing(hi):
        return "—"
    return f"{value(lo, k).split(' (')[0]} – {value(hi, k).split(' (')[0]}"
