"""One table of client codes: the model's population and the lab's session settings agree."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.lab.plan import scenario_settings
from sim.population import SUBJECT_ROW, draw_population
from sim.protocol import CHOKING_ALGORITHM, RATE_BASED_CHOKER, SEED_CHOKING_ALGORITHM
from sim.scenario import default_scenario_path, load_scenario


@pytest.mark.parametrize("seed_algo", sorted(SEED_CHOKING_ALGORITHM))
@pytest.mark.parametrize("choker", sorted(CHOKING_ALGORITHM))
def test_model_and_lab_use_the_same_codes(seed_algo, choker):
    """The subject's seed-choking and choking algorithm reach the kernels and libtorrent as one code."""
    sc = load_scenario(default_scenario_path()).with_changes(**{
        "subject.libtorrent.seed_choking_algorithm": seed_algo, "subject.libtorrent.choking_algorithm": choker})
    pop = draw_population(sc, np.random.default_rng(1))
    lab = scenario_settings(sc.subject.libtorrent)
    assert pop.seed_algo[SUBJECT_ROW] == lab["seed_choking_algorithm"] == SEED_CHOKING_ALGORITHM[seed_algo]
    assert lab["choking_algorithm"] == CHOKING_ALGORITHM[choker]
    assert bool(pop.rate_based[SUBJECT_ROW]) == (lab["choking_algorithm"] == RATE_BASED_CHOKER)


@pytest.mark.parametrize("outgoing,incoming", [(True, True), (False, True), (False, False)])
def test_transport_settings_reach_a_real_session(outgoing, incoming):
    """enable_outgoing_utp / enable_incoming_utp go to libtorrent as given; the default is libtorrent's own."""
    import libtorrent as lt

    sc = load_scenario(default_scenario_path())
    defaults = lt.default_settings()
    assert sc.swarm.libtorrent.enable_outgoing_utp == defaults["enable_outgoing_utp"]
    assert sc.swarm.libtorrent.enable_incoming_utp == defaults["enable_incoming_utp"]
    sc = sc.with_changes(**{"subject.libtorrent.enable_outgoing_utp": outgoing,
                            "subject.libtorrent.enable_incoming_utp": incoming})
    lab = scenario_settings(sc.subject.libtorrent)
    ses = lt.session({**lab, "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                      "enable_upnp": False, "enable_natpmp": False})
    got = ses.get_settings()
    assert (got["enable_outgoing_utp"], got["enable_incoming_utp"]) == (outgoing, incoming)
