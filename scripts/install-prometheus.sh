#!/usr/bin/env bash
# Install Debian's Prometheus and Alertmanager for the tests (tests/harness/promserver.py and
# tests/harness/alerting.py start throwaway servers from them on loopback; promtool backfills
# series). Does nothing when the binaries are already there. The packages' own services are not
# used by the tests.
# Usage: scripts/install-prometheus.sh
set -euo pipefail

log() { echo "install-prometheus: $*" >&2; }

have() { [[ -x /usr/bin/prometheus && -x /usr/bin/promtool && -x /usr/bin/prometheus-alertmanager ]]; }

if have; then
    exit 0
fi

# As root (CI, these machines) apt-get runs as it is; otherwise through sudo.
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
        log "not root and no sudo: install the Debian packages prometheus and" \
            "prometheus-alertmanager as root, then re-run"
        exit 1
    fi
    apt=(sudo "${apt[@]}")
fi
log "installing prometheus and prometheus-alertmanager (the tests start their own servers)"
"${apt[@]}" update -qq >&2
"${apt[@]}" install -y -qq --no-install-recommends prometheus prometheus-alertmanager >&2
if ! have; then
    log "the packages are installed, yet /usr/bin/prometheus, promtool or" \
        "prometheus-alertmanager is missing"
    exit 1
fi
