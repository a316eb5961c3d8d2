#!/usr/bin/env bash
# Build the project's container and run a small lab scenario in it, end to end, with no network.
#
# Self-contained for a fresh clone on a Debian machine as root with no container registry:
# installs docker.io if needed, starts its own dockerd (and stops it at the end), creates
# debian:bookworm-slim locally when it cannot be pulled, builds with BuildKit (the machine's CA
# bundle as the optional `ca` secret, for an intercepting HTTPS proxy), then runs
# `leechsim lab` inside the container with --network none and checks the run directory.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DOCKER=/usr/bin/docker          # Debian's client: BuildKit built in (a newer client on PATH may lack buildx)
IMAGE=leechsim:ci
SCENARIO=${LAB_SCENARIO:-examples/lab-small.toml}
WORK=$(mktemp -d /tmp/leechsim-ci.XXXXXX)
DOCKERD_PID=""

log() { echo "ci-container: $*" >&2; }

cleanup() {
    local rc=$?
    if [ -n "$DOCKERD_PID" ]; then
        log "stopping dockerd ($DOCKERD_PID)"
        kill "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
        kill -9 "$DOCKERD_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if { [ ! -x /usr/bin/dockerd ] && [ ! -x /usr/sbin/dockerd ]; } || [ ! -x "$DOCKER" ]; then
    log "installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
    log "starting dockerd"
    DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)
    "$DOCKERD" --host unix:///var/run/docker.sock >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 60); do
        "$DOCKER" info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -n 30 "$WORK/dockerd.log" >&2; log "dockerd died"; exit 1; }
        sleep 1
    done
    "$DOCKER" info >/dev/null 2>&1 || { tail -n 30 "$WORK/dockerd.log" >&2; log "dockerd did not come up"; exit 1; }
fi

if ! "$DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1; then
    if ! timeout 60 "$DOCKER" pull -q debian:bookworm-slim >/dev/null 2>&1; then
        log "debian:bookworm-slim cannot be pulled: creating it locally"
        bash scripts/make-base-image.sh "$DOCKER"
    fi
fi

SECRET=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    SECRET=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
fi
log "building $IMAGE"
DOCKER_BUILDKIT=1 "$DOCKER" build --network host "${SECRET[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
    || { tail -n 60 "$WORK/build.log" >&2; log "docker build failed"; exit 1; }

mkdir -p "$WORK/out"
log "running the lab in the container (--network none): $SCENARIO"
start=$(date +%s)
"$DOCKER" run --rm --network none -v "$WORK/out:/out" -v "$REPO/examples:/scenarios:ro" "$IMAGE" \
    lab "/scenarios/$(basename "$SCENARIO")" --runs 1 --out /out/run
log "lab run took $(( $(date +%s) - start )) s"

# Check the run directory with the host's python3 (standard library only).
python3 - "$WORK/out/run" <<'PY'
import csv, json, sys
from pathlib import Path

run = Path(sys.argv[1])
problems = []
for name in ("manifest.json", "summary.json", "results.csv", "scenario.toml", "scenario.resolved.toml", "SHA256SUMS",
             "replications/0000/transfer_log.csv", "replications/0000/peers.csv",
             "replications/0000/files.csv", "replications/0000/timeseries.csv", "replications/0000/raw/lab.json"):
    if not (run / name).is_file():
        problems.append(f"missing {name}")
if (run / "INCOMPLETE").exists():
    problems.append("run directory marked INCOMPLETE")
if not problems:
    row = next(csv.DictReader(open(run / "results.csv")))
    lab = json.loads((run / "replications/0000/raw/lab.json").read_text())
    man = json.loads((run / "manifest.json").read_text())
    peers = list(csv.DictReader(open(run / "replications/0000/peers.csv")))
    c = lab["conservation"]
    if row["subject_completed"] != "1":
        problems.append("the subject did not complete")
    # blocks in the transport when a peer's totals were last read count as sent, not as received:
    # the lab bounds them from each peer's request queues at that read (docs/lab.md, conservation)
    slack = 4 * 16384 * len(peers)
    to_r, from_r = c.get("max_in_flight_to_readers_bytes"), c.get("max_in_flight_from_readers_bytes")
    if to_r is None or from_r is None:
        problems.append("conservation: the lab did not record the in-flight bounds")
    elif not -(from_r + slack) <= c["difference_bytes"] <= to_r + slack:
        problems.append(f"conservation: uploads - downloads = {c['difference_bytes']} bytes, outside "
                        f"[-{from_r} - {slack}, {to_r} + {slack}]")
    if not all(p["complete_s"] for p in peers if p["role"] != "seed"):
        problems.append("a downloader did not complete")
    if man.get("kind") != "lab" or not man["lab"]["versions"].get("opentracker"):
        problems.append("manifest lacks the lab versions")
    print(f"ci-container: subject uploaded {row['subject_upload_leech_bytes']} B while leeching, "
          f"{row['subject_upload_seed_bytes']} B after; download time {float(row['subject_download_time_s']):.1f} s; "
          f"uploads - downloads = {c['difference_bytes']} B (in flight at most {c.get('max_in_flight_to_readers_bytes')} "
          f"to, {c.get('max_in_flight_from_readers_bytes')} from the last reads); libtorrent {man['lab']['versions']['libtorrent']}, "
          f"opentracker {man['lab']['versions']['opentracker']}", file=sys.stderr)
for p in problems:
    print(f"ci-container: FAILED: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
log "OK"
