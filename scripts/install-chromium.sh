#!/usr/bin/env bash
# Install Debian's chromium for the web chat's browser tests (tests/test_web.py drives it with
# Playwright through executable_path; Playwright's own browser download is never used).
# Does nothing when /usr/bin/chromium is already there.
# Usage: scripts/install-chromium.sh
set -euo pipefail

log() { echo "install-chromium: $*" >&2; }

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi

# As root (CI, these machines) apt-get runs as it is; otherwise through sudo.
apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
        log "not root and no sudo: install the Debian package chromium as root, then re-run"
        exit 1
    fi
    apt=(sudo "${apt[@]}")
fi
log "installing chromium (the browser tests drive it headless)"
"${apt[@]}" update -qq >&2
"${apt[@]}" install -y -qq --no-install-recommends chromium >&2
if [[ ! -x /usr/bin/chromium ]]; then
    log "chromium is installed, yet /usr/bin/chromium is missing"
    exit 1
fi
