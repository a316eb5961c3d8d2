"""The report's figures, drawn with matplotlib (Agg) and returned as PNG bytes.

Every function takes plain arrays or the report's computed objects and returns the PNG, so the
same figure goes into ``figures/*.png``, the HTML (base64) and the notebooks.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

MIB = 1024 * 1024
GIB = 1024 * MIB
_BLUE, _ORANGE, _GREY, _RED = "#1f77b4", "#ff7f0e", "#7f7f7f", "#d62728"


def _byte_unit(max_bytes: float) -> tuple[float, str]:
    """MiB for axes up to 10 GiB, GiB above (so tick labels stay short and do not collide)."""
    return (GIB, "GiB") if max_bytes > 10 * GIB else (MIB, "MiB")


def png_bytes(fig: Figure) -> bytes:
    """A figure as PNG bytes. Figures are made without pyplot, so no global backend is touched
    (notebooks keep their inline backend) and nothing stays open."""
    buf = io.BytesIO()
    # No timestamps in the metadata: the same data gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _subplots(nrows: int = 1, ncols: int = 1, **kw):
    fig = Figure(figsize=kw.pop("figsize"))
    axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def upload_distribution(leech_bytes: np.ndarray, seed_bytes: np.ndarray) -> bytes:
    """Histogram over replications of the subject's upload, while leeching and in total."""
    U, unit = _byte_unit(float(np.max(leech_bytes + seed_bytes)) if len(leech_bytes) else 0.0)
    total = (leech_bytes + seed_bytes) / U
    fig, ax = _subplots(figsize=(8, 3.6))
    hi = max(float(total.max()) if len(total) else 1.0, 1e-9)
    bins = np.linspace(0, hi * 1.05, 31)
    ax.hist(leech_bytes / U, bins=bins, color=_BLUE, alpha=0.75, label="while leeching")
    if np.any(seed_bytes > 0):
        ax.hist(total, bins=bins, histtype="step", color=_ORANGE, linewidth=2, label="total (incl. after completion)")
    p5, med, p95 = np.percentile(total, [5, 50, 95])
    ax.axvline(med, color="k", linewidth=1.5, label=f"median total {med:.2f} {unit}")
    ax.axvspan(p5, p95, color=_GREY, alpha=0.15, label="90% interval of total")
    ax.set_xlabel(f"bytes uploaded by the subject ({unit})")
    ax.set_ylabel("replications")
    ax.set_title(f"Subject upload over {len(total)} replications")
    ax.legend(fontsize=8, loc="upper left")
    return png_bytes(fig)


def cumulative(series: list[dict], highlight: int, torrent_bytes: int) -> bytes:
    """Cumulative upload and download of the subject over time, every replication, one highlighted."""
    fig, ax = _subplots(figsize=(8, 3.8))
    U, unit = _byte_unit(max(float(np.max(ts["subject_uploaded_bytes"], initial=0)) for ts in series))
    for i, ts in enumerate(series):
        if i == highlight:
            continue
        ax.plot(ts["t_s"], ts["subject_uploaded_bytes"] / U, color=_BLUE, alpha=0.15, linewidth=0.8)
        ax.plot(ts["t_s"], ts["subject_downloaded_bytes"] / U, color=_ORANGE, alpha=0.15, linewidth=0.8)
    ts = series[highlight]
    ax.plot(ts["t_s"], ts["subject_uploaded_bytes"] / U, color=_BLUE, linewidth=2, label=f"uploaded (replication {highlight})")
    ax.plot(ts["t_s"], ts["subject_downloaded_bytes"] / U, color=_ORANGE, linewidth=2, label=f"downloaded (replication {highlight})")
    ax.axhline(torrent_bytes / U, color=_GREY, linestyle=":", linewidth=1, label="torrent size")
    ax.set_xlabel("time since the swarm started (s)")
    ax.set_ylabel(unit)
    ax.set_title("Subject's cumulative upload and download (thin lines: other replications)")
    ax.legend(fontsize=8, loc="upper left")
    return png_bytes(fig)


def recipients(by_rank: np.ndarray, representative: np.ndarray, rep_index: int) -> bytes:
    """Bytes each receiving peer got from the subject, largest first: one replication and the spread."""
    fig, ax = _subplots(figsize=(8, 3.6))
    U, unit = _byte_unit(float(by_rank.max()) if by_rank.size else 0.0)
    k = int(max(np.count_nonzero(by_rank, axis=1).max() if by_rank.size else 0, 1))
    ranks = np.arange(1, k + 1)
    ax.bar(np.arange(1, len(representative) + 1), representative / U, color=_BLUE, alpha=0.7,
           label=f"replication {rep_index} (median total upload)")
    if by_rank.size:
        med = np.median(by_rank[:, :k], axis=0) / U
        lo, hi = np.percentile(by_rank[:, :k], [5, 95], axis=0) / U
        ax.plot(ranks, med, color="k", marker="o", markersize=3, linewidth=1, label="median over replications")
        ax.fill_between(ranks, lo, hi, color=_GREY, alpha=0.25, label="90% interval")
    ax.set_xlabel("receiving peer, ranked by bytes received from the subject")
    ax.set_ylabel(f"{unit} from the subject")
    ax.set_title("Uploads per receiving peer")
    ax.legend(fontsize=8)
    return png_bytes(fig)


def counterfactuals(labels: list[str], upload: list, time: list) -> bytes:
    """Median (and 90% interval) of total upload and of download time for each variant."""
    fig, (a1, a2) = _subplots(1, 2, figsize=(9, 0.5 * len(labels) + 1.4), sharey=True)
    y = np.arange(len(labels))[::-1]
    scale_b, unit = _byte_unit(max([s.p95 for s in upload if s.n] or [0]))
    for ax, stats, scale, xlabel, color in ((a1, upload, scale_b, f"subject upload, total ({unit})", _BLUE),
                                            (a2, time, 1.0, "subject download time (s)", _ORANGE)):
        med = np.array([s.median for s in stats]) / scale
        lo = np.array([s.p5 for s in stats]) / scale
        hi = np.array([s.p95 for s in stats]) / scale
        ok = ~np.isnan(med)
        ax.barh(y[ok], med[ok], color=color, alpha=0.7)
        ax.errorbar(med[ok], y[ok], xerr=[med[ok] - lo[ok], hi[ok] - med[ok]], fmt="none", ecolor="k", capsize=3, linewidth=1)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.grid(axis="x", alpha=0.3)
    a1.set_yticks(y, labels)
    fig.suptitle("What the settings change (median, 90% interval)", fontsize=11)
    return png_bytes(fig)


def tornado(labels: list[str], low: np.ndarray, high: np.ndarray, low_text: list[str], high_text: list[str],
            baseline: float, quantity: str) -> bytes:
    """One bar per parameter from the median at the low end to the median at the high end of its range."""
    fig, ax = _subplots(figsize=(9, 0.6 * len(labels) + 1.3))
    y = np.arange(len(labels))[::-1]
    U, unit = _byte_unit(max([baseline, *list(low), *list(high)]))
    b = baseline / U
    for yi, lo, hi in zip(y, low / U, high / U):
        ax.barh(yi, lo - b, left=b, color=_BLUE, alpha=0.75)
        ax.barh(yi, hi - b, left=b, color=_ORANGE, alpha=0.75)
    ax.axvline(b, color="k", linewidth=1)
    ax.set_yticks(y, [f"{lab}\n{lt} – {ht}" for lab, lt, ht in zip(labels, low_text, high_text)], fontsize=8)
    lo_all = min([b, *list(low / U), *list(high / U)])
    hi_all = max([b, *list(low / U), *list(high / U)])
    pad = 0.25 * (hi_all - lo_all or 1.0)
    ax.set_xlim(max(0.0, lo_all - pad) if lo_all >= 0 else lo_all - pad, hi_all + pad)
    ax.set_xlabel(f"median {quantity} ({unit}); line: as run = {b:.2f} {unit}")
    ax.set_title("Sensitivity: blue = low end of the range, orange = high end")
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def sweep(x_labels: list[str], x_key: str, lines: dict[str, list], quantity: str) -> bytes:
    """Median (and 90% interval) of a quantity across a sweep: x = first varied key, one line per rest."""
    fig, ax = _subplots(figsize=(8, 4))
    x = np.arange(len(x_labels))
    U, unit = _byte_unit(max([st.p95 for stats in lines.values() for st in stats if st.n] or [0]))
    for n, (label, stats) in enumerate(lines.items()):
        med = np.array([s.median for s in stats]) / U
        lo = np.array([s.p5 for s in stats]) / U
        hi = np.array([s.p95 for s in stats]) / U
        off = (n - (len(lines) - 1) / 2) * 0.06
        ax.errorbar(x + off, med, yerr=[med - lo, hi - med], marker="o", capsize=3, label=label or "median")
    ax.set_xticks(x, x_labels)
    ax.set_xlabel(x_key)
    ax.set_ylabel(f"{quantity} ({unit})")
    ax.set_title(f"{quantity}: median and 90% interval per cell")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png_bytes(fig)


def validation(results: list[dict], quantities: list[str]) -> bytes:
    """Simulator intervals against lab runs, one panel per quantity, one row per scenario."""
    qs = quantities
    fig = Figure(figsize=(4 * len(qs), 0.6 * len(results) + 1.6), dpi=110)
    axes = fig.subplots(1, len(qs), sharey=True)
    names = [r["scenario"] for r in results]
    for ax, q in zip(axes, qs):
        for y, r in enumerate(results):
            c = next(c for c in r["comparisons"] if c.quantity == q)
            scale = 2**20 if q.endswith("_bytes") else 1.0
            ax.plot([c.sim_p5 / scale, c.sim_p95 / scale], [y, y], color="tab:blue", lw=4, alpha=0.5)
            ax.plot(c.sim_median / scale, y, "|", color="tab:blue", ms=14)
            ax.plot([c.lab_min / scale, c.lab_max / scale], [y, y], "o", color="tab:red", ms=4)
            ax.plot(c.lab_median / scale, y, "D", color="tab:red", ms=5)
        ax.set_title(q.replace("subject_", "") + (" (MiB)" if q.endswith("_bytes") else " (s)"), fontsize=9)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle("blue: simulator 90% interval and median; red: lab runs (diamond: median)", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # matplotlib's defaults (dpi 110 as set above), as validation.png always was
    return buf.getvalue()


def observed(labels: list[str], samples: list[np.ndarray], observed_value: float, comps: list, quantity: str,
             kind: str) -> bytes:
    """Each policy's simulated replications (dots), their 90% interval (bar) and the interval widened
    by the model error (whiskers), with the observed value as a vertical line."""
    fig, ax = _subplots(figsize=(9, 0.55 * len(labels) + 1.4))
    y = np.arange(len(labels))[::-1]
    top = max([float(np.nanmax(s)) for s in samples if np.isfinite(s).any()] + [observed_value, 1.0])
    scale, unit = _byte_unit(top) if kind == "bytes" else (1.0, "s" if kind == "seconds" else "")
    for yi, s, c in zip(y, samples, comps):
        s = np.asarray(s, dtype=np.float64)
        s = s[~np.isnan(s)]
        jitter = (np.arange(len(s)) % 7 - 3) * 0.04
        ax.scatter(s / scale, yi + jitter, s=8, color=_BLUE, alpha=0.5, linewidths=0)
        if c.n:
            ax.plot([c.p5 / scale, c.p95 / scale], [yi, yi], color="k", linewidth=3, alpha=0.6)
            ax.plot([c.low / scale, c.high / scale], [yi - 0.25, yi - 0.25], color=_GREY, linewidth=1)
    ax.axvline(observed_value / scale, color=_RED, linewidth=2, label="observed")
    ax.set_yticks(y, labels)
    ax.set_xlabel(f"{quantity}{f' ({unit})' if unit else ''}")
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Observed value on each policy's simulated distribution (bar: 90% interval; thin line: widened "
                 "by the model error)", fontsize=10)
    return png_bytes(fig)
