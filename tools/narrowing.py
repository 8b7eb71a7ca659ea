"""A cluster read by someone whose RBAC is namespace-scoped: cluster-wide lists that the server
refuses (403) fall back to the namespaces the caller named.

    cluster = Narrowed(live, ["team"])     # `sre diagnose -n team` by a namespace-scoped user
    cluster.namespaces()                   # ["team"] when listing namespaces is forbidden
    cluster.list("Pod")                    # the pods of "team" when listing all pods is forbidden
    cluster.unread                         # ["list namespaces cluster-wide", ...]

Many real users are set up this way (a RoleBinding per team namespace, no ClusterRole). Nothing
is invented: what could not be read stays unread and is listed in `unread`, for the answer's
notes. With no namespace named there is nothing to fall back to, and `Forbidden` propagates.
If even the named namespaces' pods are forbidden, the caller may read nothing there, and
`namespaces()` raises the original `Forbidden` too.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator

from .errors import Forbidden
from .kinds import Kind, info
from .reading import Cluster, Obj


class Narrowed:
    """Wraps a `Cluster`; `named` are the namespaces the caller asked about."""

    def __init__(self, inner: Cluster, named: Iterable[str | None]) -> None:
        self.inner = inner
        self.named = sorted({name for name in named if name})
        self.unread: list[str] = []  # what a 403 kept out: "list pods cluster-wide", ...

    @property
    def source(self) -> str:
        return self.inner.source

    def _note(self, error: Forbidden) -> None:
        if error.needs not in self.unread:
            self.unread.append(error.needs)

    def namespaces(self) -> builtins.list[str]:
        try:
            return self.inner.namespaces()
        except Forbidden as e:
            if not self.named or not self._readable():
                raise
            self._note(e)
            return list(self.named)

    def _readable(self) -> bool:
        """Whether the caller may read pods in at least one named namespace."""
        for namespace in self.named:
            try:
                self.inner.list("Pod", namespace, fields="metadata.name=-")
            except Forbidden:
                continue
            return True
        return False

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> builtins.list[Obj]:
        try:
            return self.inner.list(kind, namespace, labels=labels, fields=fields)
        except Forbidden as e:
            if namespace is not None or not info(kind).namespaced or not self.named:
                raise
            self._note(e)
        items: builtins.list[Obj] = []
        for each in self.named:
            items += self.inner.list(kind, each, labels=labels, fields=fields)
        return items

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        return self.inner.get(kind, name, namespace)

    def log_lines(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> Iterator[str]:
        return self.inner.log_lines(namespace, pod, container, previous=previous)

    def close(self) -> None:
        self.inner.close()
