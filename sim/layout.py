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
    """Bytes of the half-open ranges [starts, ends) that fall in each file, exactly, in int64.

    Coverage is a step function c(x) = number of ranges covering byte x; its integral G(x) is
    piecewise linear. Each file's bytes are G(end) - G(start), evaluated with integer arithmetic.
    """
    n_files = len(file_offsets) - 1
    if len(starts) == 0:
        return np.zeros(n_files, dtype=np.int64)
    points = np.concatenate((starts, ends)).astype(np.int64)
    deltas = np.concatenate((np.ones(len(starts), np.int64), -np.ones(len(ends), np.int64)))
    order = np.argsort(points, kind="stable")
    points, deltas = points[order], deltas[order]
    uniq, idx = np.unique(points, return_index=True)
    step = np.add.reduceat(deltas, idx)
    cover = np.cumsum(step)  # coverage on [uniq[i], uniq[i+1])
    g = np.concatenate(([0], np.cumsum(cover[:-1] * np.diff(uniq))))  # G at each uniq point

    def G(x: np.ndarray) -> np.ndarray:
        k = np.searchsorted(uniq, x, side="right") - 1
        out = np.zeros(len(x), dtype=np.int64)
        inside = k >= 0
        kk = k[inside]
        out[inside] = g[kk] + np.where(kk < len(cover), cover[np.minimum(kk, len(cover) - 1)], 0) * (x[inside] - uniq[kk])
        return out

    gx = G(file_offsets)
    return np.diff(gx)
