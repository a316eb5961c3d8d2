"""Execute the jupytext notebooks and render them to HTML (used by scripts/run-notebooks.sh and the tests).

    python notebooks/execute.py [--html] [--out notebooks/_build] notebooks/01_*.py ...

Each ``.py`` (jupytext percent format) is converted to ``.ipynb``, executed with nbclient in its
own directory (the ``notebooks/`` folder), saved with outputs to ``<out>/<name>.ipynb`` and, with
``--html``, rendered by nbconvert to ``<out>/<name>.html``. A failing cell fails the command.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CELL_TIMEOUT_S = 300


def execute(path: Path, out_dir: Path, timeout_s: int = CELL_TIMEOUT_S) -> Path:
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out_dir.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    target = out_dir / (path.stem + ".ipynb")
    nbformat.write(nb, target)
    return target


def render_html(ipynb: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(ipynb, as_version=4))
    target = ipynb.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "_build")
    p.add_argument("--html", action="store_true", help="also render HTML with nbconvert")
    ns = p.parse_args(argv)
    for nb in ns.notebooks:
        t0 = time.monotonic()
        ipynb = execute(nb, ns.out)
        html = render_html(ipynb) if ns.html else None
        print(f"{nb}: executed in {time.monotonic() - t0:.1f} s -> {html or ipynb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
