#!/usr/bin/env bash
# Executes the notebooks (notebooks/[0-9][0-9]_*.py, jupytext percent format) with nbclient and
# renders each to HTML with nbconvert, into notebooks/_build/ (gitignored). A failing cell fails
# the script. Also renders a sample report (leechsim report) from notebook 1's run and takes a
# headless-chromium screenshot of it, the same check the tests make.
# Usage: scripts/run-notebooks.sh [notebooks/01_*.py ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if ! "$PY" -c "import jupytext, nbclient, nbconvert, ipykernel, jinja2" 2>/dev/null; then
  echo "run-notebooks: installing jupytext nbclient nbconvert ipykernel jinja2"
  "$PY" -m pip install --quiet --disable-pip-version-check jupytext nbclient nbconvert ipykernel jinja2 2>&1 \
    | grep -v "Running pip as the 'root' user" || true
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "run-notebooks: installing Debian's chromium (for the report screenshot)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ $# -eq 0 ]; then set -- notebooks/[0-9][0-9]_*.py; fi
"$PY" notebooks/execute.py --html --out notebooks/_build "$@"

run=notebooks/_build/01-book-swarm/run
if [ -d "$run" ]; then
  "$PY" -m leechsim report "$run" --variant-runs 8
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$profile" --screenshot=notebooks/_build/report-screenshot.png \
    --window-size=1200,3000 "file://$PWD/$run/report.html" 2>/dev/null
  rm -rf "$profile"
  echo "run-notebooks: report $run/report.html, screenshot notebooks/_build/report-screenshot.png"
fi
ls -1 notebooks/_build/*.html
