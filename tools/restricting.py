"""A view of a cluster limited to some namespaces: what a Slack channel may read.

    shop_only = Restricted(cluster, ["shop"])
    shop_only.namespaces()                 # ["shop"], whatever else exists
    shop_only.list("Pod", "payments")      # NotFound, as for a namespace that does not exist

Namespaced objects outside the allow-list cannot be told apart from objects that do not exist:
every refusal is the same `NotFound`, raised before the inner cluster is asked, so neither the
answer nor its timing says whether the namespace exists. Cluster-scoped objects (nodes, storage
classes) stay readable, except PersistentVolumes bound to a claim in another namespace and
Namespace objects outside the list, which name other namespaces.

A caller whose RBAC is itself namespace-scoped (403 on cluster-wide lists) still works: the
allow-list is then the namespaces read (`narrowing.Narrowed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .errors import NotFound
from .kinds import Kind, info
from .narrowing import Narrowed
from .reading import Cluster, Obj

# up to this many allowed namespaces, a cluster-wide list is read namespace by namespace: on a
# large cluster, reading (and redacting) every namespace's objects to keep a few costs seconds
PER_NAMESPACE = 8


class Restricted:
    """Wraps a `Cluster` so that only `namespaces` (and cluster-scoped objects) can be read."""

    def __init__(self, inner: Cluster, namespaces: Iterable[str]) -> None:
        self.allowed = frozenset(namespaces)
        self.inner = Narrowed(inner, self.allowed)

    @property
    def source(self) -> str:
        return self.inner.source

    def namespaces(self) -> list[str]:
        return [name for name in self.inner.namespaces() if name in self.allowed]

    def _visible(self, kind: Kind, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if kind == "Namespace":
            return meta.get("name") in self.allowed
        if kind == "PersistentVolume":
            claim = (obj.get("spec") or {}).get("claimRef") or {}
            return not claim.get("namespace") or claim.get("namespace") in self.allowed
        if info(kind).namespaced:
            return meta.get("namespace") in self.allowed
        return True

    def _refuse(self, kind: Kind, name: str | None = None) -> NotFound:
        what = f"{kind} {name}" if name else kind
        return NotFound(f"{what} not found")

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Obj]:
        if namespace is not None and info(kind).namespaced and namespace not in self.allowed:
            raise self._refuse(kind)
        if namespace is None and info(kind).namespaced and len(self.allowed) <= PER_NAMESPACE:
            items = [item for each in sorted(self.allowed)  # (in the order a cluster-wide list
                     for item in self.inner.list(kind, each, labels=labels, fields=fields)]
        else:  # gives them: by namespace, then name)
            items = self.inner.list(kind, namespace, labels=labels, fields=fields)
        return [item for item in items if self._visible(kind, item)]

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        if info(kind).namespaced and namespace not in self.allowed:
            raise self._refuse(kind, name)
        if kind == "Namespace" and name not in self.allowed:
            raise self._refuse(kind, name)
        obj = self.inner.get(kind, name, namespace)
        if not self._visible(kind, obj):
            raise self._refuse(kind, name)
        return obj

    def log_lines(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> Iterator[str]:
        if namespace not in self.allowed:
            raise self._refuse("Pod", pod)
        return self.inner.log_lines(namespace, pod, container, previous=previous)

    def close(self) -> None:
        """The inner cluster is shared; its owner closes it."""
