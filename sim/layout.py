"""The torrent's byte layout: pieces, blocks, and which files each piece covers.

Pieces straddle file boundaries in a multi-file torrent, so "which works moved" needs this map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .protocol import BLOCK_BYTES


@dataclass(frozen=True)
class Layout:
    piece_bytes: int
    total_bytes: int
    file_bytes: np.ndarray  # int64 [F]
    file_paths: tuple[str, ...]

    @staticmethod
    def of(piece_bytes: int, file_sizes: tuple[int, ...] | list[int], file_paths: tuple[str, ...] | list[str]) -> "Layout":
        fb = np.asarray(file_sizes, dtype=np.int64)
        return Layout(int(piece_bytes), int(fb.sum()), fb, tuple(file_paths))

    @property
    def num_pieces(self) -> int:
        return -(-self.total_bytes // self.piece_bytes)

    @property
    def num_files(self) -> int:
        return len(self.file_bytes)

    def piece_lengths(self) -> np.ndarray:
        n = self.num_pieces
        lengths = np.full(n, self.piece_bytes, dtype=np.int64)
        lengths[-1] = self.total_bytes - (n - 1) * self.piece_bytes
        return lengths

    def piece_blocks(self) -> np.ndarray:
        """Blocks per piece (int32); the last piece may have fewer, and a shorter last block."""
        return (-(-self.piece_lengths() // BLOCK_BYTES)).astype(np.int32)

    def file_offsets(self) -> np.ndarray:
        """Start offset of each file, plus the total at the end (int64 [F+1])."""
        return np.concatenate(([0], np.cumsum(self.file_bytes))).astype(np.int64)

    def file_piece_ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """First and last (inclusive) piece index that each file overlaps.

        An empty file (real torrents hold them: placeholders, ``.nomedia``) overlaps no piece: its
        range is empty, ``last == first - 1``, with ``first`` the piece at its offset.
        """
        off = self.file_offsets()
        first = off[:-1] // self.piece_bytes
        last = np.where(self.file_bytes > 0, (off[1:] - 1) // self.piece_bytes, first - 1)
        return first.astype(np.int64), last.astype(np.int64)


def overlap_per_file(starts: np.ndarray, ends: np.ndarray, file_offsets: np.ndarray) -> np.ndarray:
    """Bytes of the half-open ranges [starts, ends) that fall in each file, exactly, in int64: a
    range counts in every file it overlaps, by the bytes of the overlap (ranges may overlap one
    another; each counts). Each range is cut at the file boundaries it crosses (a block range lies
    within one piece, so it crosses few), and the pieces are summed per file."""
    file_offsets = np.asarray(file_offsets, dtype=np.int64)
    n_files = len(file_offsets) - 1
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0 or n_files == 0:
        return np.zeros(n_files, dtype=np.int64)
    # the file holding a range's first and last byte (side="right": of several files starting at one
    # offset, the last, the only one of them not empty)
    first = np.searchsorted(file_offsets, starts, side="right") - 1
    last = np.searchsorted(file_offsets, ends - 1, side="right") - 1
    first = np.clip(first, 0, n_files - 1)
    last = np.clip(last, 0, n_files - 1)
    spans = last - first + 1
    row = np.repeat(np.arange(len(starts)), spans)
    f = first[row] + (np.arange(len(row)) - np.repeat(np.cumsum(spans) - spans, spans))
    lo = np.maximum(starts[row], file_offsets[f])
    hi = np.minimum(ends[row], file_offsets[f + 1])
    out = np.zeros(n_files, dtype=np.int64)
    np.add.at(out, f, np.maximum(hi - lo, 0))
    return out
