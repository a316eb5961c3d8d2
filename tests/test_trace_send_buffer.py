"""The model's send buffer in connections.csv (``send_buffer_size``, ``used_send_buffer``:
sim/kernels/bandwidth.traced_send_buffers, written by sim/engine.py's ``_trace``)."""

import numpy as np

from sim.engine import SwarmRun
from sim.kernels.bandwidth import PIECE_HEADER_BYTES
from sim.layout import BLOCK_BYTES
from sim.scenario import load_scenario
from tests.conftest import ROOT, make_scenario

WITH_HEADER = BLOCK_BYTES + PIECE_HEADER_BYTES  # a block in the send buffer, behind its PIECE header
WATERMARK_BLOCKS = -(-500 * 1024 // BLOCK_BYTES)  # send_buffer_watermark (500 KiB) in whole blocks


def _trace(sc, seed):
    r = SwarmRun(sc, 0, np.random.SeedSequence(seed), trace_connections=True).run()
    return {k: np.asarray(v) for k, v in r.extra["connections"].items()}


def test_the_send_buffer_holds_whole_blocks_of_what_was_asked():
    """fill_send_buffer reads whole requested blocks, so the buffer is a whole number of blocks, each
    with its 13-byte header, at least one while the remote has a request at the local end (the low
    watermark, 10 KiB, is under a block) and never more than it asked or the 500 KiB watermark
    allows; empty while it asks nothing. The model allocates nothing: capacity and use are equal."""
    busy_rows = 0
    for seed in range(3):
        c = _trace(make_scenario(**{"simulation.horizon_s": 60}), seed)
        used = c["used_send_buffer"].astype(np.int64)
        asked = c["upload_queue_length"].astype(np.int64)
        assert np.array_equal(c["send_buffer_size"].astype(np.int64), used)
        assert np.all(used[asked == 0] == 0)
        busy = asked > 0
        busy_rows += int(busy.sum())
        assert np.all(used[busy] % WITH_HEADER == 0)
        blocks = used[busy] // WITH_HEADER
        assert np.all(blocks >= 1)
        assert np.all(blocks <= np.minimum(asked[busy], WATERMARK_BLOCKS))
    assert busy_rows > 100


def test_a_busy_seeds_send_buffer_is_half_a_second_of_its_rate():
    """send_buffer_watermark_factor (50 %) of the last second's upload: at a rate-limited seed whose
    connections have many requests waiting (v06's seed, 15-40 s), the send buffer holds about half
    a second of the connection's rate (libtorrent's own estimate, payload_up_bps), a little more
    for the rounding up to whole blocks and the headers."""
    sc = load_scenario(ROOT / "validation" / "v06-seed-after.toml").with_changes(**{"simulation.horizon_s": 45})
    ratios = []
    for seed in range(2):
        c = _trace(sc, seed)
        t = c["t_s"].astype(float)
        pick = ((c["local"] == 1) & (t >= 15) & (t <= 40) & (c["upload_queue_length"].astype(float) >= 8)
                & (c["payload_up_bps"].astype(float) > 50_000))
        ratios.extend(c["used_send_buffer"][pick].astype(float) / c["payload_up_bps"][pick].astype(float))
    assert len(ratios) > 100
    assert 0.45 <= float(np.median(ratios)) <= 0.65, np.median(ratios)
