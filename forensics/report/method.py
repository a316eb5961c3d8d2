"""The method section: the model in plain words (condensed from docs/model.md, which is the reference)."""

METHOD_PARAGRAPHS = (
    "The swarm is simulated as a discrete-event model (SimPy) advancing in 1-second ticks, libtorrent's "
    "own session tick. Every peer — the subject, the initial seeds and the other leechers — is its own "
    "libtorrent-like session with its own choker, upload and download capacity and rate limits.",
    "What follows libtorrent (RC_2_0 source): the fixed-slots choker (8 unchoke slots, one of them "
    "optimistic, regular rounds every 15 s, optimistic every 30 s, peers ranked by what they sent us in "
    "the last round; round-robin, fastest-upload or anti-leech ranking when seeding); random first pieces "
    "then rarest-first piece picking; 16 KiB blocks, where blocks of one piece may come from several peers; "
    "a completed peer turning into a seed and closing connections to other seeds; rate limits applied on "
    "top of link capacity; a tracker answering with up to 50 random peers; non-connectable peers reachable "
    "only through their own announces.",
    "Bandwidth is shared max-min fairly among all active transfers, bounded by each peer's upload and "
    "download capacity. Every byte the subject sends is logged (time, receiving peer, piece, blocks); the "
    "headline numbers, the per-peer and per-file figures are all computed from that log.",
    "Each replication draws the unknowns — arrival times, capacities, seeding times — from the scenario's "
    "distributions with its own seed (replication i uses numpy.random.SeedSequence(master_seed).spawn(n)[i]), "
    "so the spread over replications is the uncertainty about the swarm, and the same inputs give "
    "bit-identical results on any machine and number of worker processes.",
)

SIMPLIFICATIONS = (
    "Time advances in 1 s ticks; a piece becomes tradeable at the end of the tick that completes it.",
    "No TCP dynamics (slow start, round-trip time, loss) and no protocol overhead: all counts are payload bytes.",
    "No request pipelining and no end-game duplicate requests: download tails are slightly shorter than real.",
    "Connections open instantly; no peer exchange (PEX) and no DHT.",
    "Capacities and seeding times are fixed per peer for its life; initial seeds never leave.",
    "Hash failures, disk limits and malicious peers are not modelled.",
)
