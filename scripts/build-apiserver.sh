#!/usr/bin/env bash
# Build kube-apiserver v1.20.2 from Debian bookworm's `kubernetes` source package, offline,
# and cache it outside the repository. Does nothing when the cached binary already exists.
# Usage: scripts/build-apiserver.sh [CACHE_DIR]   (prints the binary's path on stdout)
set -euo pipefail

CACHE_DIR="${1:-${SRE_CACHE_DIR:-$HOME/.cache/sre-assistant}}"
BIN="$CACHE_DIR/kube-apiserver-v1.20.2"
if [[ -x "$BIN" ]]; then
    echo "$BIN"
    exit 0
fi
mkdir -p "$CACHE_DIR"
log() { echo "build-apiserver: $*" >&2; }

need_pkgs=()
command -v go >/dev/null || need_pkgs+=(golang-go)
command -v etcd >/dev/null || need_pkgs+=(etcd-server)
command -v rsync >/dev/null || need_pkgs+=(rsync)
if ((${#need_pkgs[@]})); then
    log "installing ${need_pkgs[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

# A private apt configuration with a deb-src line derived from the system's own sources, so the
# system's configuration stays untouched.
APT_DIR="$CACHE_DIR/apt-src"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
src_file="$APT_DIR/sources.list"
uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [[ -z "$uri" ]]; then
    uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
fi
echo "deb-src [trusted=yes] $uri bookworm main" >"$src_file"
apt_opts=(-o "Dir::Etc::SourceList=$src_file" -o "Dir::Etc::SourceParts=/dev/null"
          -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache::Archives=$APT_DIR/archives")
WORK="$CACHE_DIR/kubernetes-src"
mkdir -p "$WORK"
if ! ls "$WORK"/kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
    log "fetching the kubernetes source package"
    apt-get "${apt_opts[@]}" update -qq >&2
    (cd "$WORK" && apt-get "${apt_opts[@]}" source --download-only kubernetes >&2)
fi
SRC="$WORK/src"
if [[ ! -d "$SRC" ]]; then
    log "unpacking"
    mkdir -p "$SRC.tmp"
    tar -xzf "$WORK"/kubernetes_*.orig.tar.gz -C "$SRC.tmp" --strip-components=1
    mv "$SRC.tmp" "$SRC"
fi
log "building kube-apiserver (6-7 minutes on 2 cores)"
(
    cd "$SRC"
    KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20 \
        CGO_ENABLED=0 make WHAT=cmd/kube-apiserver GOLDFLAGS="-s -w" >&2
)
cp "$SRC/_output/bin/kube-apiserver" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
