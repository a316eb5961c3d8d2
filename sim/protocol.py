"""The one table of protocol constants and client behaviour codes, shared by the model and the lab.

The codes are libtorrent's own ``settings_pack`` enum values, so the lab hands them to real
sessions unchanged and the kernels compare against the same integers.
"""

from __future__ import annotations

BLOCK_BYTES = 16 * 1024  # a request/transfer block: libtorrent's default_block_size

# settings_pack::choking_algorithm_t
CHOKING_ALGORITHM = {"fixed_slots_choker": 0, "rate_based_choker": 2}
FIXED_SLOTS_CHOKER = CHOKING_ALGORITHM["fixed_slots_choker"]
RATE_BASED_CHOKER = CHOKING_ALGORITHM["rate_based_choker"]

# settings_pack::seed_choking_algorithm_t
SEED_CHOKING_ALGORITHM = {"round_robin": 0, "fastest_upload": 1, "anti_leech": 2}
ROUND_ROBIN = SEED_CHOKING_ALGORITHM["round_robin"]
FASTEST_UPLOAD = SEED_CHOKING_ALGORITHM["fastest_upload"]
ANTI_LEECH = SEED_CHOKING_ALGORITHM["anti_leech"]
