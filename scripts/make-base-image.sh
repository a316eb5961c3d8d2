#!/usr/bin/env bash
# Create `debian:bookworm-slim` locally when no container registry is reachable: a minbase
# debootstrap of bookworm from the Debian mirror this machine already uses, imported under the
# same tag, so the Dockerfile stays the standard one.
#   usage: scripts/make-base-image.sh [DOCKER]     (DOCKER defaults to /usr/bin/docker)
set -euo pipefail
DOCKER=${1:-/usr/bin/docker}
TAG=debian:bookworm-slim

mirror() {
    # deb822 sources first (URIs: of the stanza whose Suites has plain "bookworm"), then one-line lists
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |\n|$)/ && !/security/ { if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s=substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' "$f"
    done
    grep -hE '^deb (\[[^]]*\] )?http[^ ]* bookworm ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}' || true
}
MIRROR=$(mirror | head -n1 || true)
if [ -z "$MIRROR" ]; then
    echo "make-base-image: no bookworm mirror found in /etc/apt/sources.list*" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi
ROOTFS=$(mktemp -d /tmp/bookworm-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
echo "make-base-image: debootstrap --variant=minbase bookworm from $MIRROR" >&2
debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || { tail -n 30 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | "$DOCKER" import - "$TAG" >/dev/null
echo "make-base-image: imported $TAG" >&2
