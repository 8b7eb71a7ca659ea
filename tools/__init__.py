"""Read-only access to Kubernetes clusters: one interface, a live and a snapshot backend, tools.

    from tools import open_cluster, Toolbox
    cluster = open_cluster(snapshot=Path("examples/cascade"))
    print(Toolbox(cluster).pods("shop").text())
"""

from __future__ import annotations

from pathlib import Path

from .errors import (
    ApiError,
    ClusterError,
    ConfigurationError,
    Forbidden,
    KindUnavailable,
    NotFound,
    NotKubernetes,
    ReadOnlyViolation,
    ServerError,
    SnapshotError,
    Unauthorized,
    Unreachable,
)
from .kinds import KINDS, Kind, parse_kind
from .live import LiveCluster, Timeouts, connect
from .narrowing import Narrowed
from .reading import Cluster, Obj, Redacted
from .redacting import redact_text
from .results import ToolResult
from .scrubbing import redact_object
from .snapshot import SnapshotCluster
from .snapshotting import SnapshotReport, write_snapshot
from .toolbox import Toolbox, base_name, owned_pods

__all__ = [
    "KINDS", "ApiError", "Cluster", "ClusterError", "ConfigurationError", "Forbidden", "Kind",
    "KindUnavailable", "LiveCluster", "Narrowed", "NotFound", "NotKubernetes", "Obj",
    "ReadOnlyViolation", "Redacted", "ServerError", "SnapshotCluster", "SnapshotError",
    "SnapshotReport", "Timeouts", "Toolbox", "ToolResult", "Unauthorized", "Unreachable",
    "base_name", "open_cluster", "owned_pods", "parse_kind", "redact_object", "redact_text",
    "write_snapshot",
]


def open_cluster(
    *,
    snapshot: Path | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
    timeouts: Timeouts | None = None,
    in_cluster_env: dict[str, str] | None = None,
) -> Redacted:
    """A redacted, read-only view of a snapshot directory or a live cluster."""
    if snapshot is not None:
        return Redacted(SnapshotCluster(snapshot))
    return Redacted(connect(kubeconfig=kubeconfig, context=context, timeouts=timeouts,
                            in_cluster_env=in_cluster_env))
