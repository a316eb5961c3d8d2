"""Lab and model traces of one uploader, side by side: per-connection cumulative upload.

    leechsim simulate examples/NAME.toml --runs 3 --trace-connections --out runs/sim-NAME
    python validation/traces/overlay.py NAME UPLOADER runs/sim-NAME --out validation/traces/overlay-NAME.png

Left: the recorded lab run 0 (validation/traces/NAME/r0000-uUUUU-connections.csv.gz); right: the
model's replication 0. One line per remote peer (same colour for the same peer in both), so the
order in which connections get going and the shares they keep can be compared at a glance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: forensics
from forensics.traces import connections_file  # noqa: E402

HERE = Path(__file__).resolve().parent


def _per_remote(path: Path, uploader: int) -> pd.DataFrame:
    c = pd.read_csv(path)
    c = c[c.local == uploader]
    return c.pivot_table(index="t_s", columns="remote", values="total_up_bytes", aggfunc="max").ffill().fillna(0)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("uploader", type=int)
    ap.add_argument("sim_run", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--until-s", type=float, default=90.0)
    ns = ap.parse_args(argv)
    lab = _per_remote(HERE / ns.name / f"r0000-u{ns.uploader:04d}-connections.csv.gz", ns.uploader)
    sim_trace = connections_file(ns.sim_run / "replications" / "0000")
    if sim_trace is None:
        ap.error(f"{ns.sim_run}: no replications/0000/connections.csv(.gz/.xz) (simulate with --trace-connections)")
    sim = _per_remote(sim_trace, ns.uploader)
    remotes = sorted(set(lab.columns) | set(sim.columns))
    colours = {r: plt.cm.tab10(i % 10) for i, r in enumerate(remotes)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, data, title in ((axes[0], lab, "lab (libtorrent 2.1.1), run 0"), (axes[1], sim, "model, replication 0")):
        data = data[data.index <= ns.until_s]
        for r in data.columns:
            ax.plot(data.index, data[r] / 2**20, color=colours[r], label=f"peer {r}")
        ax.set_title(title)
        ax.set_xlabel("time (s)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"bytes peer {ns.uploader} sent to each peer (MiB)")
    axes[1].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{ns.name}: uploader {ns.uploader}, per connection")
    fig.tight_layout()
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(ns.out, dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
