"""Write examples/book-corpus.toml: a multi-file e-book torrent (file sizes drawn once, seed 2026).

Run: python scripts/make_book_corpus.py > examples/book-corpus.toml
"""

import numpy as np

rng = np.random.default_rng(2026)
sizes = np.maximum(20_000, rng.lognormal(np.log(3_000_000), 0.9, 400)).astype(int)
print("""# A book-corpus torrent: 400 e-books (sizes drawn once by scripts/make_book_corpus.py), 2 MiB
# pieces that straddle file boundaries, few slow seeds, a trickle of home leechers, and a
# datacenter subject that stops at completion. The per-file table answers "which works moved".
[scenario]
name = "book-corpus"
description = "400-file e-book torrent, 3 slow seeds, Poisson leechers; fast subject stops at completion"

[torrent]
name = "books"
piece_size = "2MiB"
files = [""")
for i, s in enumerate(sizes):
    print(f'  {{ path = "books/{i:04d}.epub", size = {s} }},')
print("""]

[swarm]
connectable_share = 0.6
peer_list_size = 50
announce_interval_s = 1800

[swarm.seeds]
count = 3
upload = { classes = [ { share = 0.5, value = "250kB/s" }, { share = 0.5, value = "1MB/s" } ] }

[swarm.leechers]
arrival = "poisson"
rate_per_s = 0.004
window_s = [0, 7200]
upload = { classes = [ { share = 0.6, value = "250kB/s" }, { share = 0.4, value = "2MB/s" } ] }
download = "6MB/s"
seed_time = { dist = "exponential", mean = 1200 }

[subject]
join_s = 1800
upload = "100Mbit/s"
download = "100Mbit/s"
on_complete = "stop"

[simulation]
horizon_s = 21600
replications = 50
seed = 11""")
