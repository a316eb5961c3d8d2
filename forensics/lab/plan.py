"""One lab run's plan: who the peers are, where they listen, and what each session is told.

The population is drawn by the simulator's own ``draw_population`` from the same per-replication
generator (``SeedSequence(seed).spawn(runs)[i]``), so run *i* of the lab and replication *i* of
``simulate`` have the same peers, rates, join times and seeding times. Payload bytes are drawn
afterwards from the same generator, so they never shift the population draw.

``check_fits_machine`` refuses a scenario that this machine cannot run for real; it never scales a
scenario down by itself.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field

import numpy as np

from sim.population import Population, draw_population
from sim.protocol import CHOKING_ALGORITHM, SEED_CHOKING_ALGORITHM
from sim.results import ROLE_LEECHER, ROLE_SEED, ROLE_SUBJECT
from sim.scenario import LibtorrentSettings, Scenario

from ..errors import UserError

# What a 2-core machine runs honestly: each peer is a process with its own libtorrent session.
MAX_PEERS = 32
MAX_TORRENT_BYTES = 256 * 1024**2
MAX_STORED_BYTES = 3 * 1024**3  # every leecher keeps its own copy on disk
MAX_EXPECTED_S = 1800.0
LOOPBACK_UNLIMITED_BPS = 50e6  # what "unlimited" achieves on loopback here, for the estimate only

HINT = ("scale the scenario down: fewer leechers (swarm.leechers.count / rate_per_s), a smaller "
        "torrent (torrent.total_size or files), faster peers, or a shorter simulation.horizon_s; "
        "the lab never shrinks a scenario by itself")


@dataclass(frozen=True)
class PeerPlan:
    """Everything one peer process needs, JSON-serialisable."""

    index: int
    role: int
    ip: str  # listen address (and the address the tracker sees)
    out_ip: str  # source address of its outgoing connections: == ip unless not connectable
    join_s: float
    upload_bps: int  # effective limit given to libtorrent (0 = unlimited)
    download_bps: int
    seed_time_s: float  # after completion; inf = until the end; subject: its policy's delay
    leave_at_s: float  # absolute leave time, complete or not (inf: none; explicit peers only)
    connectable: bool
    free_rider: bool
    settings: dict = field(default_factory=dict)
    # how long the process waits before it creates its libtorrent session (session_delay_s): the
    # session's quota ticks fall every tick_interval from its creation, so this sets the phase of
    # its ticks, which decides which message waits for which tick (docs/lab.md, "Tick phases")
    session_delay_s: float = 0.0

    @property
    def is_subject(self) -> bool:
        return self.role == ROLE_SUBJECT


def peer_ip(base_octet: int, index: int, outgoing: bool = False) -> str:
    """Peer ``index``'s own loopback address; every peer has a distinct one (127.B.x.y).
    A non-connectable peer connects out from a second address, 127.B.(128+x).y."""
    return f"127.{base_octet}.{index // 250 + (128 if outgoing else 0)}.{index % 250 + 2}"


def peer_index(ip: str) -> int:
    """The peer whose address ``ip`` is (``peer_ip``'s inverse, either of a peer's two addresses);
    how the block logs, which name receivers by address, are read by peer number."""
    _, _, x, y = str(ip).split(".")
    return (int(x) % 128) * 250 + int(y) - 2


def expected_duration_s(sc: Scenario, pop: Population) -> float:
    """A rough lower bound on how long the swarm needs (fluid limit), capped by the horizon."""
    size = sc.torrent.size_bytes
    up = np.where(pop.up_bps > 0, pop.up_bps, LOOPBACK_UNLIMITED_BPS)
    down = np.where(pop.down_bps > 0, pop.down_bps, LOOPBACK_UNLIMITED_BPS)
    downloaders = pop.role != ROLE_SEED
    seeds_up = float(up[pop.role == ROLE_SEED].sum())
    if seeds_up <= 0:
        return sc.simulation.horizon_s
    # Every downloader needs `size` bytes; all uploads together bound how fast that can happen,
    # and nobody finishes faster than its own download rate or the seeds' combined upload.
    total_s = size * int(downloaders.sum()) / float(up.sum())
    single_s = size / min(float(down[downloaders].min(initial=np.inf)), seeds_up)
    last_join = float(pop.join_s.max())
    return min(sc.simulation.horizon_s, last_join + max(total_s, single_s))


def check_fits_machine(sc: Scenario, pop: Population, max_expected_s: float = MAX_EXPECTED_S,
                       workdir: str | None = None) -> None:
    size = sc.torrent.size_bytes
    stored = size * (1 + int((pop.role != ROLE_SEED).sum()))
    problems = []
    if pop.size > MAX_PEERS:
        problems.append(f"{pop.size} peers (subject + {int((pop.role == ROLE_SEED).sum())} seeds + "
                        f"{int((pop.role == ROLE_LEECHER).sum())} leechers); the lab runs at most {MAX_PEERS}, "
                        "one libtorrent process each")
    if size > MAX_TORRENT_BYTES:
        problems.append(f"a {size / 1024**2:.0f} MiB torrent; the lab takes at most {MAX_TORRENT_BYTES // 1024**2} MiB")
    elif stored > MAX_STORED_BYTES:
        problems.append(f"{stored / 1024**3:.2f} GiB on disk (payload x downloaders); at most "
                        f"{MAX_STORED_BYTES / 1024**3:.0f} GiB")
    if workdir is not None and not problems:
        free = shutil.disk_usage(workdir).free
        if stored > free * 0.8:
            problems.append(f"{stored / 1024**2:.0f} MiB on disk but only {free / 1024**2:.0f} MiB free in {workdir}")
    if (pop.role == ROLE_SEED).sum() == 0:
        problems.append("no initial seed (swarm.seeds.count = 0): nobody could ever complete")
    est = expected_duration_s(sc, pop)
    if est > max_expected_s:
        problems.append(f"an expected duration of about {est:.0f} s (real time); the lab allows at most "
                        f"{max_expected_s:.0f} s per run (--max-duration-s)")
    if problems:
        raise UserError("scenario too large to run for real on this machine: " + "; ".join(problems) + ".\nhint: " + HINT)


# settings_pack names in LibtorrentSettings map 1:1; the two enums map to libtorrent's numbers
# through the model's own table (sim.protocol).


def scenario_settings(lts: LibtorrentSettings) -> dict:
    out = {}
    for name in type(lts).model_fields:
        v = getattr(lts, name)
        if name == "choking_algorithm":
            v = CHOKING_ALGORITHM[v]
        elif name == "seed_choking_algorithm":
            v = SEED_CHOKING_ALGORITHM[v]
        out[name] = v if isinstance(v, bool) else int(v)
    return out


def session_settings(sc: Scenario, pop: Population, i: int, ip: str, out_ip: str) -> dict:
    """The settings_pack one peer's session runs with (recorded verbatim in the raw files)."""
    lts = sc.subject.libtorrent if pop.role[i] == ROLE_SUBJECT else sc.swarm.libtorrent
    s = scenario_settings(lts)
    s.update({
        # the peer's own loopback address, for listening AND for outgoing connections: without
        # the latter every peer would connect from 127.0.0.1 and look like one IP to the others
        "listen_interfaces": f"{ip}:0",
        "outgoing_interfaces": out_ip,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "upload_rate_limit": int(pop.up_bps[i]),
        "download_rate_limit": int(pop.down_bps[i]),
        # rate_limit_ip_overhead comes from the scenario (scenario_settings), as every other setting
        "num_want": int(sc.swarm.peer_list_size),
        "alert_queue_size": 200_000,
        "user_agent": "leechsim-lab",
    })
    if not pop.connectable[i]:
        # Firewalled/NATed client, as a peer sees it: the tracker hands out port 1 of its listen
        # address (nothing listens there: refused), and the listen port it reveals in its extension
        # handshake (and so via PEX) belongs to the address it connects out from, where nothing
        # listens either. It still connects out normally. See docs/lab.md.
        s["announce_port"] = 1
        # ... and TCP only: uTP runs over the listen socket, so its outgoing uTP connections would
        # leave from (and reveal) its listen address, and peers could reach it after all (a real
        # NAT keeps uTP as unreachable as TCP). Measured: with uTP on, the free-rider lab run's
        # non-connectable peers did not all complete (tests/lab/test_lab_swarm.py).
        s["enable_outgoing_utp"] = False
        s["enable_incoming_utp"] = False
    if pop.role[i] == ROLE_SUBJECT and sc.subject.profile == "free_rider":
        # A free rider serves no request: no regular upload slot, every incoming request dropped
        # (this also stops the one optimistic unchoke libtorrent always keeps), no allowed-fast set.
        # A 1 B/s upload limit would not do: it throttles the rider's own requests, too.
        s.update({"unchoke_slots_limit": 0, "max_allowed_in_request_queue": 0, "allowed_fast_set_size": 0,
                  "upload_rate_limit": 0})
    return s


@dataclass(frozen=True)
class RunPlan:
    replication: int
    population: Population
    peers: tuple[PeerPlan, ...]
    payload_seed: int


def plan_run(sc: Scenario, replication: int, seed: np.random.SeedSequence, base_octet: int) -> RunPlan:
    from sim.policies import CompletionPolicy

    rng = np.random.default_rng(seed)
    pop = draw_population(sc, rng)
    payload_seed = int(rng.integers(0, 2**63))
    policy = CompletionPolicy.of(sc.subject)
    delays = session_delays(payload_seed, pop.size)
    peers = []
    for i in range(pop.size):
        ip = peer_ip(base_octet, i)
        out_ip = ip if pop.connectable[i] else peer_ip(base_octet, i, outgoing=True)
        role = int(pop.role[i])
        seed_time = policy.leave_delay_s() if role == ROLE_SUBJECT else float(pop.seed_time_s[i])
        peers.append(PeerPlan(
            index=i, role=role, ip=ip, out_ip=out_ip, join_s=float(pop.join_s[i]),
            upload_bps=int(pop.up_bps[i]), download_bps=int(pop.down_bps[i]),
            seed_time_s=seed_time, leave_at_s=float(pop.leave_at_s[i]), connectable=bool(pop.connectable[i]),
            free_rider=role == ROLE_SUBJECT and sc.subject.profile == "free_rider",
            settings=session_settings(sc, pop, i, ip, out_ip),
            session_delay_s=float(delays[i]),
        ))
    return RunPlan(replication, pop, tuple(peers), payload_seed)


# libtorrent's tick_interval default (settings_pack::tick_interval, 500 ms), which the lab leaves as it is
LAB_TICK_INTERVAL_S = 0.5
# the stream of session_delays, apart from the payload's own (an arbitrary constant: "tick")
_DELAY_STREAM = 0x7469636B


# what a recording's manifest says of its sessions' tick phases (manifest lab.session_phases); a
# recording without it was made before: its sessions ticked in the order their processes started
SESSION_PHASES = ("independent: each peer's session created after a delay uniform over one tick interval, "
                  "the swarm's start a further such delay after the last is ready (forensics/lab/plan.py)")


def start_offset(payload_seed: int) -> float:
    """How long after the last peer process is ready (plus the half second the lab always leaves)
    the run's clock starts, uniform over one tick interval and drawn from the run's payload seed:
    so no session's ticks are tied to the joins (without it the last session to be created would
    tick just before every join at 0 s, in every run)."""
    rng = np.random.default_rng([payload_seed, _DELAY_STREAM, 1])
    return float(rng.uniform(0.0, LAB_TICK_INTERVAL_S))


def session_delays(payload_seed: int, n: int) -> np.ndarray:
    """Each peer's wait before it creates its session, uniform over one tick interval and drawn
    from the run's payload seed: the phases of the sessions' quota ticks are then independent of
    one another and of the order the processes were started in, as between real clients. (Created
    as each process starts, the sessions of a run would tick in the order they were launched,
    within a few hundred milliseconds of each other — the subject just after the seed: docs/lab.md,
    "Tick phases".) The model draws its peers' tick phases the same way (sim/engine.py, tick_phase)."""
    rng = np.random.default_rng([payload_seed, _DELAY_STREAM])
    return rng.uniform(0.0, LAB_TICK_INTERVAL_S, n)


def base_octet_for_this_process() -> int:
    """Second octet of this run's addresses; differs between concurrent lab processes."""
    return 100 + os.getpid() % 100


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
