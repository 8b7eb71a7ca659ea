#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries for the tests (tests/harness/postgres.py starts a
# throwaway server from them). Does nothing when they are already there.
# Usage: scripts/install-postgres.sh   (prints the binaries' directory on stdout)
set -euo pipefail

log() { echo "install-postgres: $*" >&2; }

# The newest /usr/lib/postgresql/<version>/bin holding initdb and postgres.
bin_dir() {
    local dir version best=-1 found=""
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/postgres" ]] || continue
        version=$(basename "$(dirname "$dir")")
        if [[ "$version" =~ ^[0-9]+$ ]] && ((version > best)); then
            best=$version
            found=$dir
        fi
    done
    [[ -n "$found" ]] && echo "$found"
}

# The package also creates the `postgres` user, which the harness runs the server as under root.
if dir=$(bin_dir) && getent passwd postgres >/dev/null; then
    echo "$dir"
    exit 0
fi

# As root (CI, these machines) apt-get runs as it is, as in scripts/build-apiserver.sh;
# otherwise through sudo.
apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
        log "not root and no sudo: install the Debian package postgresql as root, then re-run"
        exit 1
    fi
    apt=(sudo "${apt[@]}")
fi
log "installing postgresql (for its server binaries: the tests start their own server)"
"${apt[@]}" update -qq >&2
"${apt[@]}" install -y -qq postgresql >&2
if ! dir=$(bin_dir); then
    log "postgresql is installed, yet no initdb and postgres are in /usr/lib/postgresql/*/bin"
    exit 1
fi
echo "$dir"
