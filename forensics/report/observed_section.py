"""The report's "observed against simulated" section: plain words, a table, one figure.

Only present when the scenario has an ``[evidence]`` table. The numbers come from
``analysis.observed``: the run's own replications for the policy as run, and re-simulations of
each completion policy on the run's seeds (the same as the counterfactuals).
"""

from __future__ import annotations

import math

import numpy as np

from .. import fmt
from ..analysis.observed import Comparison, compare, likelihood_ratio, policy_variants, validated_errors
from ..analysis.variants import run_variants
from ..tables import csv_text
from . import figures

LABELS = {"subject_upload_total_bytes": ("subject upload, total (client's counter)", "bytes"),
          "subject_upload_leech_bytes": ("subject upload at completion", "bytes"),
          "subject_download_bytes": ("subject download", "bytes"),
          "subject_download_time_s": ("subject download time", "seconds"),
          "peers_received_block": ("peers that got >= 1 block from the subject", "count")}


def observed_section(run, sc, nv: int, seed: int, workers: int, with_variants: bool, pngs: dict, data: dict,
                     on_done=None) -> dict | None:
    if sc.evidence is None or not sc.evidence.observed():
        return None
    observed = sc.evidence.observed()
    errors = validated_errors()
    policies = [("as_run", f"as run ({sc.subject.on_complete})", {q: np.asarray(run.results[q][:nv]) for q in observed})]
    if with_variants:
        t = sc.evidence.subject_seeding_time_s
        variants = policy_variants(sc, seed_for_s=t) if t else policy_variants(sc)
        heads = run_variants([sc.with_changes(**v.changes) for v in variants], nv, seed, workers, on_done)
        policies += [(v.key, v.label, {q: np.array([h[q] for h in hs], dtype=np.float64) for q in observed})
                     for v, hs in zip(variants, heads)]
    comps = {key: compare(observed, key, label, samples, errors) for key, label, samples in policies}
    base = {c.quantity: c for c in comps["as_run"]}
    rows, csv_rows = [], []
    for key, label, _ in policies:
        for c in comps[key]:
            lr = likelihood_ratio(c, base[c.quantity])
            kind = LABELS[c.quantity][1]
            rows.append({"policy": label, "quantity": LABELS[c.quantity][0], "observed": fmt.value(c.observed, kind),
                         "interval": fmt.interval(c.p5, c.p95, kind),
                         "widened": fmt.interval(c.low, c.high, kind) + (f" (±{c.rel_error:.0%})" if c.rel_error else
                                                                         " (not validated: not widened)"),
                         "percentile": "—" if math.isnan(c.percentile) else f"{c.percentile:.1f}",
                         "inside": "yes" if c.inside else "no", "lr": "—" if key == "as_run" else _lr(lr)})
            csv_rows.append([key, label, c.quantity, c.observed, c.n, c.percentile, c.p5, c.p95, c.low, c.high,
                             c.rel_error, c.inside, c.log_density, lr])
    data["observed.csv"] = csv_text(("policy", "label", "quantity", "observed", "n", "percentile", "p5", "p95",
                                     "widened_low", "widened_high", "model_rel_error", "inside", "log_density",
                                     "likelihood_ratio_vs_as_run"), csv_rows)
    main = next(iter(observed))
    pngs["observed"] = figures.observed(
        [label for _, label, _ in policies], [samples[main] for _, _, samples in policies], observed[main],
        [next(c for c in comps[k] if c.quantity == main) for k, _, _ in policies], LABELS[main][0], LABELS[main][1])
    return {"text": _plain_words(observed, policies, comps, base, nv, seed, errors), "rows": rows}


def _lr(x: float) -> str:
    if math.isnan(x):
        return "— (improbable under both)"
    if x >= 1e6:
        return "> 1,000,000"
    if x <= 1e-6:
        return "< 0.000001"
    return f"{x:,.3g}" if x < 1000 else f"{x:,.0f}"


def _plain_words(observed, policies, comps, base, nv, seed, errors) -> str:
    main = next(iter(observed))
    name, kind = LABELS[main]
    x = observed[main]
    b: Comparison = base[main]
    within = [label for key, label, _ in policies if next(c for c in comps[key] if c.quantity == main).inside]
    outside = [label for key, label, _ in policies if label not in within]
    widen = (f"the model's validated error for it (±{b.rel_error:.0%}, docs/validation.json)" if b.rel_error
             else "no validated model error for it (not widened)")
    text = (f"The evidence says: {name} = **{fmt.value(x, kind)}**. Under the subject's policy as run, that is at the "
            f"**{b.percentile:.1f}th percentile** of {b.n} simulated replications and "
            f"**{'inside' if b.inside else 'outside'}** their 90% interval widened by {widen}. ")
    if len(policies) > 1:
        text += (f"It lies inside the widened interval under: {'; '.join(within) or 'none of the policies'} — and "
                 f"outside it under: {'; '.join(outside) or 'none'}. ")
        best_key, best_label, _ = max(policies, key=lambda p: next(c for c in comps[p[0]] if c.quantity == main).log_density)
        if best_key != "as_run":
            best = next(c for c in comps[best_key] if c.quantity == main)
            text += (f"Of the policies simulated, the observation is most probable under '{best_label}': "
                     f"{_lr(likelihood_ratio(best, b))} times more probable than under the policy as run. ")
    text += (f"The likelihood ratio of one policy against another is the ratio of their entries in the table. "
             f"Policies are simulated on the run's seeds (master seed {seed}, {nv} replications each). A likelihood "
             f"ratio compares policies within the model; it is not the probability that a party did something, and it "
             f"rests on the case's assumptions (section 2).")
    return text
