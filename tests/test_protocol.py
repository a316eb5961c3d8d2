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
