"""Ticks batched into one compiled call (sim/engine.py, swarm_ticks) give exactly the results of
one tick per call (max_batch_ticks=1), bit for bit, whatever stops a batch."""

import hashlib

import numpy as np
import pytest

from sim.engine import SwarmRun
from tests.conftest import make_scenario


def digest(r) -> str:
    """Every output of a replication: headline, transfer log, peers, time series, connection trace."""
    h = hashlib.sha256(repr(sorted(r.headline.items())).encode())
    parts = [r.log.columns(), r.peers, r.timeseries, r.extra.get("connections", {})]
    for cols in parts:
        for k in sorted(cols):
            h.update(k.encode() + np.ascontiguousarray(cols[k]).tobytes())
    return h.hexdigest()


def run(sc, seed, max_batch_ticks=None, trace=False):
    r = SwarmRun(sc, 0, np.random.SeedSequence(seed), trace_connections=trace, max_batch_ticks=max_batch_ticks)
    return r, r.run()


EXPLICIT = [{"role": "seed", "upload": 300000, "leave_s": 200},
            {"role": "leecher", "download": 50000, "upload": 50000, "leave_s": 20.3},
            {"role": "leecher", "download": 500000, "upload": 80000, "join_s": 13.7},
            {"role": "seed", "upload": 100000, "join_s": 150}]

CASES = {
    "stop at completion": {},
    "late joiner": {"subject.join_s": 333.3},
    "ratio stop": {"subject.on_complete": "seed_until_ratio", "subject.seed_until_ratio": 0.3,
                   "simulation.horizon_s": 3000},
    "seed for a while": {"subject.on_complete": "seed_for", "subject.seed_for_s": 77},
    "odd announces and samples": {"subject.join_s": 40.25, "swarm.announce_interval_s": 17,
                                  "simulation.sample_interval_s": 7.5},
    "tick 0.1 s": {"simulation.tick_s": 0.1, "simulation.horizon_s": 400},
    "explicit peers": {"swarm.seeds.count": 0, "swarm.leechers.count": 2, "simulation.horizon_s": 900,
                       "simulation.sample_interval_s": 1},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_batched_equals_one_tick_per_call(case):
    """Batched, one tick per call and short batches (3 ticks) give identical outputs, in fewer calls."""
    sc = make_scenario(**CASES[case])
    if case == "explicit peers":
        sc = sc.with_changes(**{"swarm.peer": EXPLICIT})
    for seed in (0, 1):
        one_run, one = run(sc, seed, max_batch_ticks=1)
        batched_run, batched = run(sc, seed)
        _, short = run(sc, seed, max_batch_ticks=3)
        assert digest(batched) == digest(one) == digest(short), (case, seed)
        assert batched_run.kernel_calls < one_run.kernel_calls


@pytest.mark.parametrize("case", ["late joiner", "explicit peers", "ratio stop"])
def test_traced_runs_are_unchanged(case):
    """With connection tracing (which samples every tick) the outputs, trace included, are the same."""
    sc = make_scenario(**CASES[case])
    if case == "explicit peers":
        sc = sc.with_changes(**{"swarm.peer": EXPLICIT})
    assert digest(run(sc, 2, trace=True)[1]) == digest(run(sc, 2, max_batch_ticks=1, trace=True)[1])


def test_run_until_stops_between_the_same_ticks():
    """env.run(until=t) (tests and benchmarks freeze a swarm part-way) leaves the same state."""
    sc = make_scenario(**{"subject.join_s": 33.3})
    states = []
    for m in (1, None):
        r = SwarmRun(sc, 0, np.random.SeedSequence(4), max_batch_ticks=m)
        r.start()
        r.env.run(until=61.25)
        states.append(np.concatenate([r.pa.total_up, r.pa.total_down, r.pc.recv.ravel()]))
    np.testing.assert_array_equal(states[0], states[1])


def test_salts_drawn_at_once_are_the_salts_drawn_tick_by_tick():
    """integers(0, 2**63, size=2m) is integers(0, 2**63, size=2) m times over, even with a 32-bit
    value buffered by an earlier small draw; restoring the state and redrawing 2k gives back the rest."""
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    a.integers(0, 7, size=3)
    b.integers(0, 7, size=3)
    one = np.concatenate([a.integers(0, 2**63, size=2, dtype=np.int64) for _ in range(50)])
    state = b.bit_generator.state
    assert (b.integers(0, 2**63, size=100, dtype=np.int64) == one).all()
    b.bit_generator.state = state
    b.integers(0, 2**63, size=100, dtype=np.int64)
    assert a.bit_generator.state == b.bit_generator.state
    assert (a.integers(0, 7, size=9) == b.integers(0, 7, size=9)).all()


def test_salts_drawn_raw_are_the_integers_drawn():
    """draw_salts (PCG64 drawn raw, shifted right by one) gives integers(0, 2**63)'s values and
    leaves the generator in its state, with and without a 32-bit half buffered by an earlier small
    draw; another generator gets integers itself."""
    from sim.engine import draw_salts
    for bitgen_type in (np.random.PCG64, np.random.SFC64):
        for seed in range(6):
            for small in (0, 1, 3):
                for n in (0, 1, 2, 64, 1001):
                    a, b = np.random.Generator(bitgen_type(seed)), np.random.Generator(bitgen_type(seed))
                    a.integers(0, 7, size=small)
                    b.integers(0, 7, size=small)
                    want = a.integers(0, 2**63, size=n, dtype=np.int64).view(np.uint64)
                    got = draw_salts(b, n)
                    assert got.dtype == np.uint64 and (got == want).all(), (bitgen_type, seed, small, n)
                    if bitgen_type is np.random.PCG64:
                        assert a.bit_generator.state == b.bit_generator.state, (seed, small, n)
                    assert (a.integers(0, 7, size=9) == b.integers(0, 7, size=9)).all()
                    big = [g.integers(0, 2**63, size=5, dtype=np.int64) for g in (a, b)]
                    assert (big[0] == big[1]).all()
    # the raw path's values do have their top bit clear and differ from the raw outputs
    raw = np.random.PCG64(1).random_raw(1000)
    assert (draw_salts(np.random.Generator(np.random.PCG64(1)), 1000) == raw >> np.uint64(1)).all()
    assert (raw >= np.uint64(2**63)).any()


def test_giving_back_draws_is_drawing_only_those_kept():
    """give_back_draws leaves the generator as drawing only the kept 64-bit values would, with and
    without a 32-bit half buffered by an earlier small draw (PCG64's advance drops it), and for a
    generator without advance."""
    from sim.engine import give_back_draws
    for bitgen_type in (np.random.PCG64, np.random.SFC64):
        for small in (0, 1, 3):
            for kept in (0, 1, 7, 40):
                a, b = np.random.Generator(bitgen_type(5)), np.random.Generator(bitgen_type(5))
                a.integers(0, 7, size=small)
                b.integers(0, 7, size=small)
                a.integers(0, 2**63, size=kept, dtype=np.int64)
                before = b.bit_generator.state
                b.integers(0, 2**63, size=kept + 33, dtype=np.int64)
                give_back_draws(b.bit_generator, before, kept)
                if bitgen_type is np.random.PCG64:
                    assert a.bit_generator.state == b.bit_generator.state, (small, kept)
                draws = [np.concatenate([g.integers(0, 7, size=9), g.integers(0, 2**63, size=3), g.random(2)])
                         for g in (a, b)]
                assert (draws[0] == draws[1]).all(), (bitgen_type, small, kept)


@pytest.mark.parametrize("case", ["late joiner", "explicit peers", "seed for a while"])
def test_kernels_called_past_the_dispatcher_give_the_same_run(case, monkeypatch):
    """The engine calls its kernels through their compiled entry points after a run's first call
    (SwarmRun._call): the outputs equal those of a run calling numba's dispatcher every time. A
    kernel is called past the dispatcher exactly when it has one compiled overload (other tests in
    this process may have compiled more)."""
    import sim.engine as engine
    sc = make_scenario(**CASES[case])
    if case == "explicit peers":
        sc = sc.with_changes(**{"swarm.peer": EXPLICIT})
    direct_run, direct = run(sc, 3)
    monkeypatch.setattr(engine, "entry_point", lambda kernel: None)
    dispatched_run, dispatched = run(sc, 3)
    assert digest(direct) == digest(dispatched)
    assert all(f is key[0] for key, f in dispatched_run._entries.items())
    for key, f in direct_run._entries.items():
        overloads = getattr(key[0], "overloads", {})
        assert (f is not key[0]) == (len(overloads) == 1), key[0]


def test_call_uses_the_entry_point_of_a_single_overload():
    """SwarmRun._call: the first call of a kernel goes through numba's dispatcher, later calls with
    arguments of the same Python types through the compiled function it ran; once the kernel has
    two overloads, calls with new types go through the dispatcher (which picks among them)."""
    import numba
    from numba import njit
    if numba.config.DISABLE_JIT:
        pytest.skip("needs compiled kernels")

    @njit
    def bump(a, x):
        a[0] += x
        return a[0]

    r = SwarmRun(make_scenario(), 0, np.random.SeedSequence(0))
    a = np.zeros(1)
    assert r._call(bump, a, 1) == 1.0 and r._call(bump, a, 2) == 3.0
    assert r._entries[(bump, np.ndarray, int)] is not bump  # the entry point
    assert r._call(bump, a, 0.5) == 3.5  # a float: a second overload
    assert len(bump.overloads) == 2 and r._entries[(bump, np.ndarray, float)] is bump
    assert r._call(bump, a, 0.25) == 3.75 and a[0] == 3.75



def test_a_later_run_starts_with_the_entry_points_of_an_earlier_one():
    """SwarmRun._call: a call whose kernel and argument types an earlier run of the process has
    dispatched (the kernel still has that one overload) goes straight to its entry point, also as
    a run's first call; new argument types, or a kernel with another overload, go through the
    dispatcher. (A stand-in for a numba dispatcher: ``overloads`` and a call that counts.)"""
    from types import SimpleNamespace

    class Kernel:
        def __init__(self):
            self.dispatched = 0
            self.overloads = {("int64", "int64"): SimpleNamespace(entry_point=lambda a, b: a + b)}

        def __call__(self, a, b):
            self.dispatched += 1
            return a + b

    k = Kernel()
    runs = [SwarmRun(make_scenario(), 0, np.random.SeedSequence(0)) for _ in range(3)]
    assert runs[0]._call(k, 1, 2) == 3 and k.dispatched == 1
    assert runs[1]._call(k, 3, 4) == 7 and k.dispatched == 1  # another run: the entry point at once
    assert runs[1]._call(k, 0.5, 2) == 2.5 and k.dispatched == 2  # new types: the dispatcher
    k.overloads[("float64", "int64")] = SimpleNamespace(entry_point=lambda a, b: a + b)
    assert runs[2]._call(k, 5, 6) == 11 and k.dispatched == 3  # two overloads: the dispatcher decides
