"""What an investigation can fail with, the same for every interface.

    InvestigationError                 anything an interface tells its user instead of an answer
    +-- ClusterUnavailable             the cluster cannot be read: wraps tools' Unreachable
    |                                  (NotKubernetes too), Unauthorized, Forbidden, an unusable
    |                                  kubeconfig, and the engine's own ClusterUnavailable
    +-- ConfigError                    a setting that cannot be used: memory, model, store, settings
    +-- BadInput                       a question, target or snapshot no investigation can take
    +-- InternalError                  a bug, logged where it happened; the user is told plainly

`wrapped(error, source)` turns the foreign errors into this tree at the service's boundary
(`raise wrapped(e, cluster.source) from e`); every interface maps the tree to its medium: exit
codes (`exiting`), a Slack notice, a web `error` event, an MCP error.
"""

from __future__ import annotations

import tools

from ..engine import ClusterUnavailable as EngineClusterUnavailable
from ..exiting import EXIT_BAD_INPUT, EXIT_CLUSTER


class InvestigationError(Exception):
    """Base of the tree; `str()` is a sentence a user can act on (never a credential)."""

    exit_code = EXIT_BAD_INPUT


class ClusterUnavailable(InvestigationError):
    """The cluster could not be read; the sentence names where it was read from."""

    exit_code = EXIT_CLUSTER

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


class ConfigError(InvestigationError):
    """A memory, model, store or settings value that cannot be used."""


class BadInput(InvestigationError):
    """A request no investigation can take."""


class InternalError(InvestigationError):
    """A bug; the traceback went to the log where it was caught."""

    def __init__(self) -> None:
        super().__init__("Something went wrong on my side while investigating; it is logged. "
                         "Nothing was changed. Please ask again.")


CLUSTER_ERRORS = (EngineClusterUnavailable, tools.ApiError, tools.SnapshotError,
                  tools.ConfigurationError)
"""The foreign errors `wrapped` turns into `ClusterUnavailable`."""


def wrapped(error: BaseException, source: str | None = None) -> InvestigationError:
    """`error` in this tree; `source` ("context prod", "snapshot ./dump") says which cluster."""
    if isinstance(error, InvestigationError):
        return error
    if isinstance(error, CLUSTER_ERRORS):
        where = f" ({source})" if source else ""
        if isinstance(error, tools.Forbidden):
            return ClusterUnavailable(
                f"I may not read what this needs{where}: {error}. If only some namespaces are "
                "readable, name one with -n NAMESPACE.", forbidden=True)
        if isinstance(error, tools.SnapshotError):
            return BadInput(f"snapshot unusable: {error}")
        return ClusterUnavailable(f"I could not read the cluster{where}: {error}. Nothing was "
                                  "changed.")
    from ..agent import MemoryConfigError, ModelConfigError

    if isinstance(error, (MemoryConfigError, ModelConfigError)):
        return ConfigError(str(error))
    return InternalError()


def readiness(cluster: tools.Cluster, source: str | None = None) -> InvestigationError | None:
    """None when `cluster` answers a namespace list now; else the error a user would be told
    (`/readyz` says it with a 503)."""
    try:
        cluster.namespaces()
    except CLUSTER_ERRORS as e:
        return wrapped(e, source or cluster.source)
    return None
