#!/usr/bin/env bash
# Build the container image from deploy/Dockerfile with docker or podman, whichever is installed
# and answering (a docker CLI without its daemon does not count). Tags IMAGE (default
# sre-assistant:<version in pyproject.toml>, the chart's default image) and sre-assistant:latest.
# Usage: scripts/build-image.sh [IMAGE]      (what `make image` runs)
# With no usable runtime: one line on stderr saying so, exit 1.
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
cd "$here/.."
version=""
while IFS= read -r line; do
    if [[ "$line" =~ ^version\ =\ \"([^\"]+)\" ]]; then
        version=${BASH_REMATCH[1]}
        break
    fi
done < pyproject.toml
image=${1:-sre-assistant:${version:?no version in pyproject.toml}}

found=()
for runtime in docker podman; do
    command -v "$runtime" >/dev/null || continue
    if "$runtime" info >/dev/null 2>&1; then
        exec "$runtime" build -f deploy/Dockerfile -t "$image" -t sre-assistant:latest .
    fi
    found+=("$runtime")
done

if ((${#found[@]} == 0)); then
    echo "make image: no container runtime: install docker or podman (or build deploy/Dockerfile where one runs)" >&2
else
    echo "make image: ${found[*]} installed but not answering ('${found[0]} info' failed): start its daemon or service" >&2
fi
exit 1
