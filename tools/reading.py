"""The one read-only interface to a cluster, whatever backs it (a live API server or a snapshot).

Objects come back as plain JSON dicts, exactly as the API server (and `kubectl -o json`) shows
them, already redacted. Backends raise the `ApiError` family from `errors`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from .errors import ApiError
from .kinds import Kind
from .redacting import redact_lines
from .scrubbing import redact_object

Obj = dict[str, Any]


class Cluster(Protocol):
    """A read-only view of one cluster."""

    @property
    def source(self) -> str:
        """Where the data comes from, for humans: "context prod-eu" or "snapshot ./dump"."""
        ...

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Obj]:
        """Objects of `kind` (all namespaces when `namespace` is None), filtered by selectors."""
        ...

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        """One object; raises `NotFound`."""
        ...

    def log_lines(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> Iterator[str]:
        """A container's log, streamed line by line (without newlines), in bounded memory."""
        ...

    def namespaces(self) -> builtins.list[str]:  # `list` here is the method above
        """Names of the namespaces the cluster (or snapshot) knows."""
        ...

    def close(self) -> None: ...


class Redacted:
    """Wraps a backend so that nothing it returns carries a secret."""

    def __init__(self, inner: Cluster) -> None:
        self.inner = inner

    @property
    def source(self) -> str:
        return self.inner.source

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Obj]:
        items = self.inner.list(kind, namespace, labels=labels, fields=fields)
        return [redact_object(item) for item in items]

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        return redact_object(self.inner.get(kind, name, namespace))

    def log_lines(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> Iterator[str]:
        yield from redact_lines(
            self.inner.log_lines(namespace, pod, container, previous=previous))

    def namespaces(self) -> builtins.list[str]:  # `list` here is the method above
        return self.inner.namespaces()

    def close(self) -> None:
        self.inner.close()


class Remembered:
    """Wraps a backend for the span of one question: each list and get goes to the cluster
    once (scoping, the read of the scope and a second look at a wider scope share it), and a
    refusal is remembered as well as an answer. Logs are not kept: they are streamed."""

    def __init__(self, inner: Cluster) -> None:
        self.inner = inner
        self._answers: dict[tuple[Any, ...], Any] = {}

    @property
    def source(self) -> str:
        return self.inner.source

    def _once(self, key: tuple[Any, ...], ask: Callable[[], Any]) -> Any:
        if key not in self._answers:
            try:
                self._answers[key] = (ask(), None)
            except ApiError as e:
                self._answers[key] = (None, e)
        answer, error = self._answers[key]
        if error is not None:
            raise error
        return answer

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Obj]:
        return list(self._once(("list", kind, namespace, labels, fields), lambda: self.inner.list(
            kind, namespace, labels=labels, fields=fields)))

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        return self._once(("get", kind, name, namespace),  # type: ignore[no-any-return]
                          lambda: self.inner.get(kind, name, namespace))

    def log_lines(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> Iterator[str]:
        return self.inner.log_lines(namespace, pod, container, previous=previous)

    def namespaces(self) -> builtins.list[str]:  # `list` here is the method above
        return builtins.list(self._once(("namespaces",), self.inner.namespaces))

    def close(self) -> None:
        self.inner.close()
