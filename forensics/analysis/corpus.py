"""The corpus's answer from its per-replication table: totals per replication and their statistics.

Replication r of the corpus is the sum over torrents of each torrent's replication r (torrents are
simulated as independent; ``forensics.corpus``). The 90% interval of a total is the 5th-95th
percentile of those sums. Monitor exposure is pooled over every torrent and replication, as the
single-run report pools it over replications (``exposure.MonitorExposure``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stats import Stat, describe

SUMMED = ("subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_upload_total_bytes",
          "subject_download_bytes", "peers_received_block", "peers_received_piece", "files_touched",
          "files_piece_complete", "files_with_complete_copy", "monitors_present", "monitors_got_block",
          "monitors_got_piece", "monitors_got_file")


@dataclass(frozen=True)
class CorpusAnswer:
    torrents: int
    replications: int
    totals: dict[str, np.ndarray]  # quantity -> one corpus total per replication (+ "subject_ratio_total")
    stats: dict[str, Stat]
    monitor_pooled: dict[str, float]  # got_block / got_piece / got_file -> share of all present monitors

    def ratio(self) -> Stat:
        return self.stats["subject_ratio_total"]


def corpus_answer(table: dict[str, np.ndarray]) -> CorpusAnswer:
    """Totals per replication from the per-replication table (rows in (torrent, replication) order)."""
    torrent, rep = np.asarray(table["torrent"]), np.asarray(table["replication"])
    T, n = int(torrent.max()) + 1, int(rep.max()) + 1
    if len(torrent) != T * n or not (np.all(torrent == np.repeat(np.arange(T), n))
                                     and np.all(rep == np.tile(np.arange(n), T))):
        raise ValueError("the per-replication table is not in (torrent, replication) order with every row present")
    totals = {k: np.asarray(table[k], dtype=np.float64).reshape(T, n).sum(axis=0) for k in SUMMED}
    down = totals["subject_download_bytes"]
    with np.errstate(invalid="ignore", divide="ignore"):
        totals["subject_ratio_total"] = np.where(down > 0, totals["subject_upload_total_bytes"] / down, np.nan)
        totals["subject_ratio_leech"] = np.where(down > 0, totals["subject_upload_leech_bytes"] / down, np.nan)
    present = float(np.sum(table["monitors_present"]))
    pooled = {k: (float(np.sum(table[f"monitors_{k}"])) / present if present else float("nan"))
              for k in ("got_block", "got_piece", "got_file")}
    return CorpusAnswer(T, n, totals, {k: describe(v) for k, v in totals.items()}, pooled)


def per_torrent_means(table: dict[str, np.ndarray], quantity: str) -> np.ndarray:
    """Each torrent's mean of a quantity over its replications, in torrent order."""
    T = int(np.max(table["torrent"])) + 1
    return np.asarray(table[quantity], dtype=np.float64).reshape(T, -1).mean(axis=1)
