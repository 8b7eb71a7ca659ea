"""What a proposed change may touch (part of vetting, issue 15): the `Scope` read from the
cluster, and where an image comes from.

An image's origin is its registry host, except on a registry many owners share (Docker Hub,
ghcr.io, quay.io, registry.gitlab.com, public.ecr.aws, gcr.io and Artifact Registry, ...): there
it is the host and the owner, so `ghcr.io/attacker/miner` is not the origin of
`ghcr.io/shop/checkout`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Registries whose first path segment is an owner (an account, an organisation, a project);
# Docker Hub under every name it answers to. A host of its own (`registry.example.com`,
# `123456789012.dkr.ecr.eu-west-1.amazonaws.com`, `shop.azurecr.io`) belongs to one owner.
_SHARED_REGISTRY = re.compile(
    r"ghcr\.io|docker\.pkg\.github\.com|quay\.io|registry\.gitlab\.com|public\.ecr\.aws|"
    r"(?:[\w-]+\.)?gcr\.io|[\w-]+\.pkg\.dev|nvcr\.io|cgr\.dev|registry\.digitalocean\.com|"
    r"[\w-]+\.cloudsmith\.io|codeberg\.org|registry\.hub\.docker\.com|docker\.elastic\.co")
_DOCKER_HUB = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                         "registry.hub.docker.com"})


@dataclass(frozen=True)
class Scope:
    """What a change may touch: the root object and its owners, in one namespace, the image
    origins their pod specs already use, the addresses they name, and the most replicas any of
    them runs or may scale to (0: unknown)."""

    namespace: str | None
    objects: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (kind, name)
    origins: frozenset[str] = field(default_factory=frozenset)
    hosts: frozenset[str] = field(default_factory=frozenset)  # addresses the specs name
    replicas: int = 0


def image_origin(image: str) -> str:
    """Where an image comes from: `registry.example.com` for `registry.example.com/shop/api:1`,
    `ghcr.io/shop` for `ghcr.io/shop/api:1`, `docker.io/shop` for `shop/api:1.2`,
    `docker.io/library` for `nginx`; "" for a path with dot segments or an `@` that is no
    digest (`ghcr.io/shop@evil.io/x`)."""
    digest = image.partition("@")[2]
    if "/../" in image or "/./" in image or "//" in image or (
            digest and not re.fullmatch(r"[a-z0-9]+:[0-9a-f]+", digest)):
        return ""  # no reference grammar allows it; an origin nothing is in
    first, _, rest = image.split("@")[0].partition("/")
    host = first.lower()
    if host in _DOCKER_HUB:
        account = rest.partition("/")[0] if "/" in rest else "library"
        return f"docker.io/{account.lower()}"
    if rest and ("." in first or ":" in first or first == "localhost"):
        if _SHARED_REGISTRY.fullmatch(host):
            return f"{host}/{rest.partition('/')[0].partition(':')[0].lower()}"
        return host
    return f"docker.io/{first.lower() if rest else 'library'}"


# A scale is refused above this many replicas, or above `_REPLICAS_FACTOR` times the most the
# scope has seen, whichever is larger.
_REPLICAS_FLOOR = 20
_REPLICAS_FACTOR = 3


def replicas_problem(replicas: int, scope: Scope) -> str | None:
    """Why scaling to `replicas` may not be proposed: zero, or far beyond what the workload and
    its autoscaler run."""
    if replicas <= 0:
        return "it scales to zero (or to no number) replicas"
    if replicas > max(_REPLICAS_FLOOR, _REPLICAS_FACTOR * scope.replicas):
        return "it scales far beyond the replicas the workload and its autoscaler run"
    return None
