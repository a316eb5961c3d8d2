"""CSV tables as leechsim writes and reads them: one format, both directions.

Cells: booleans as ``true``/``false``, NaN as an empty cell, floats as their shortest exact repr,
so the same numbers always give the same bytes and read back to the same values.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import UserError


def format_cell(v: object) -> str:
    """CSV cell text: booleans as true/false, NaN as empty, floats as their shortest exact repr."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else repr(float(v))
    return str(v)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([format_cell(v) for v in row])
    return buf.getvalue()


_TEXT_COLUMNS = {"role", "path"}
_BOOL = {"true": True, "false": False, "True": True, "False": False}


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """A CSV written by ``atomic.write_columns_csv`` as one array per column (empty cell: NaN).

    A file that cannot be such a table (empty, ragged rows, a number column with text) is a
    UserError naming the file and the line.
    """
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        rows = list(reader)
    if not header:
        raise UserError(f"{path}: empty; not a table leechsim wrote")
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise UserError(f"{path}: line {i + 2} has {len(r)} cells, the header {len(header)}; "
                            f"not a table leechsim wrote")
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        raw = [r[j] for r in rows]
        if name in _TEXT_COLUMNS:
            cols[name] = np.asarray(raw, dtype=object)
        elif raw and raw[0] in _BOOL:
            try:
                cols[name] = np.asarray([_BOOL[x] for x in raw], dtype=bool)
            except KeyError as e:
                raise UserError(f"{path}: column '{name}': {e.args[0]!r} is not true or false") from None
        else:
            try:
                cols[name] = np.asarray([float(x) if x != "" else np.nan for x in raw], dtype=np.float64)
            except ValueError as e:
                raise UserError(f"{path}: column '{name}': {e}") from None
    return cols
