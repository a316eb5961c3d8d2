"""The documented range of every scenario number: what the model accepts at the boundary.

Everything outside these bounds is refused with a message, never clamped: a forensic result must
come from the numbers the user wrote. The bounds are generous for real swarms and tight enough
that no value can make the model allocate terabytes or loop without end; what a whole run will
allocate is estimated against the machine's memory separately (``sim.footprint``).
"""

from __future__ import annotations

KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4

MAX_SCENARIO_FILE_BYTES = 10 * MiB  # a scenario is read whole; a 400-file torrent's is ~20 KiB
MAX_SIZE_BYTES = 64 * TiB  # any size: a file, the torrent, a piece
MAX_PIECE_BYTES = 256 * MiB  # libtorrent's largest piece size
MAX_RATE_BPS = 100 * 1000**3  # 100 GB/s (800 Gbit/s): any capacity or rate limit
MAX_TIME_S = 10 * 365 * 86400.0  # ten years: any time or duration other than the horizon
MAX_HORIZON_S = 365 * 86400.0
MIN_HORIZON_S = 1.0
MIN_TICK_S = 0.01  # libtorrent's tick_interval is 500 ms; 100 quota ticks a second is the finest
MIN_ANNOUNCE_INTERVAL_S = 1.0
MAX_SEEDS = 10_000
MAX_LEECHERS = 100_000  # flash crowd count, join_s entries, and Poisson arrivals (expected or capped)
MAX_REPLICATIONS = 1_000_000
