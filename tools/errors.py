"""Errors raised by the cluster layer.

    ClusterError                      anything the cluster layer reports
    +-- ReadOnlyViolation             a write, exec, port-forward or Secret read (a bug)
    +-- ConfigurationError            no kubeconfig, unknown context, unusable in-cluster account
    +-- SnapshotError                 a snapshot directory that cannot be read (names the file)
    +-- ApiError                      the API answered, or failed to
        +-- Unreachable               connection refused, DNS, TLS, timeout (retryable)
        |   +-- NotKubernetes         the address answers, but not as a Kubernetes API does
        +-- ServerError               5xx from the API server (retryable)
        +-- AnswerTooLarge            an answer past what one list may hold (`sizes`)
        +-- Unauthorized              401: the credentials are not accepted
        +-- Forbidden                 403: RBAC refuses; carries the verb and resource needed
        +-- NotFound                  404: the object or the namespace does not exist
        +-- KindUnavailable           the server does not serve the kind, or the snapshot lacks it

Tools turn the `ApiError` family into results with a status and a sentence a human can act on;
only bugs propagate.
"""

from __future__ import annotations


class ClusterError(Exception):
    """Base of every error the cluster layer raises."""


class ReadOnlyViolation(ClusterError):
    """A request that is not a plain read was refused before it left the process."""


class ConfigurationError(ClusterError):
    """The cluster cannot be addressed: no kubeconfig, an unknown context, no service account."""


class SnapshotError(ClusterError):
    """A snapshot file exists but cannot be read (not JSON, not a list)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ApiError(ClusterError):
    """The API server answered with an error, or could not be reached."""

    retryable = False


class Unreachable(ApiError):
    retryable = True


class NotKubernetes(Unreachable):
    """The address answers, but not as a Kubernetes API: an HTML page, a 404 for the core API,
    a body that is not a list. Not retryable: the kubeconfig points at the wrong server."""

    retryable = False


class ServerError(ApiError):
    retryable = True


class AnswerTooLarge(ApiError):
    """The API server sent more than one list may hold: a list too large to read at once, or a
    server that sends without end. Not retryable: read less (one namespace)."""


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    """RBAC refused a request. `needs` is the permission, e.g. "list events in namespace shop"."""

    def __init__(self, verb: str, resource: str, namespace: str | None) -> None:
        where = f" in namespace {namespace}" if namespace else " cluster-wide"
        self.needs = f"{verb} {resource}{where}"
        super().__init__(f"no permission to {self.needs}: needs `{verb} {resource}`")
        self.verb = verb
        self.resource = resource
        self.namespace = namespace


class NotFound(ApiError):
    pass


class KindUnavailable(ApiError):
    """The kind is not served by this server (or absent from this snapshot): unknown, not empty."""
