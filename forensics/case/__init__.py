"""Building a case (a scenario file) from the files an expert receives: the .torrent, a monitoring
log of the peers, the client's own state and its settings. Every value is marked in ``[sources]``
as resting on a named, hashed file (``evidence: ...``) or as the documented default (``assumed:
...``). ``build.py`` assembles the case; one module per kind of file reads it."""
