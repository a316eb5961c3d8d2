"""benchmarks/perf_symbols.py: perf's map of the compiled kernels, from a real replication."""

import os

import pytest

from benchmarks import perf_symbols

TINY = """[torrent]
total_size = "1MiB"
piece_size = "64KiB"
[simulation]
horizon_s = 30
"""


def test_short_names_of_numba_symbols():
    assert perf_symbols.short_name("_ZN3sim7kernels8transfer15transfer_blocksB4v331B40c8tJTIeFIjxB2IKSgI4Crv") == \
        "transfer.transfer_blocks"
    assert perf_symbols.short_name("_ZN7cpython3sim7kernels4tick10swarm_tickB4v1") == "cpython:tick.swarm_tick"
    assert perf_symbols.short_name("NRT_decref") == "NRT_decref"


def test_the_map_names_the_tick_kernels(tmp_path, capsys):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    assert perf_symbols.cli([str(scenario)]) == 0
    path = f"/tmp/perf-{os.getpid()}.map"
    try:
        rows = [line.split(" ", 2) for line in open(path).read().splitlines()]
    finally:
        os.unlink(path)
    names = {name for _, _, name in rows}
    # the batched tick loop and the steps it calls, each in its own caller's library
    assert "swarm_ticks:tick.swarm_ticks" in names
    assert {"swarm_ticks:transfer.transfer_blocks", "swarm_ticks:bandwidth.grant_sends_into"} <= names
    spans = sorted((int(a, 16), int(s, 16), n) for a, s, n in rows)
    assert all(size > 0 for _, size, _ in spans)
    for (a, s, n), (b, _, m) in zip(spans, spans[1:]):  # no two functions share an address range
        assert a + s <= b, (n, m)
    # the entry points are where numba's own dispatchers call
    from sim.kernels.tick import swarm_ticks
    cres = next(iter(swarm_ticks.overloads.values()))
    entry = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
    assert (entry, "swarm_ticks:tick.swarm_ticks") in {(a, n) for a, _, n in spans}
    # numba's runtime, compiled in the process: its reference counting at the runtime's own addresses
    from numba.core.runtime import rtsys
    for name in ("NRT_incref", "NRT_decref"):
        assert (rtsys.library.get_pointer_to_function(name), f"numba_runtime:{name}") in {(a, n) for a, _, n in spans}
    assert "perf map" in capsys.readouterr().err


def test_a_missing_scenario_is_a_clear_error(tmp_path, capsys):
    assert perf_symbols.cli([str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "nope.toml" in err and "Traceback" not in err


def test_a_dead_weak_proxy_does_not_stop_the_map():
    """gc lists weak proxies too; asking a dead one for its class raises ReferenceError (a CI run
    on a fresh clone met one, left by numba). The map is still written."""
    import weakref

    class Gone:
        pass

    thing = Gone()
    kept = [weakref.proxy(thing)]  # the proxy stays, its object goes
    del thing
    with pytest.raises(ReferenceError):
        kept[0].__class__
    rows = perf_symbols.compiled_symbols()
    assert isinstance(rows, list)
