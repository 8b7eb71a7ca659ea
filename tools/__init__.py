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
from .openmetrics import SnapshotMetrics, capture_metrics
from .prometheus import (
    Limits,
    LivePrometheus,
    Metrics,
    MetricsError,
    QueryResult,
    connect_prometheus,
)
from .reading import Cluster, Obj, Redacted
from .redacting import redact_text
from .refs import ObjectRef
from .results import ToolResult
from .scrubbing import redact_object
from .snapshot import SnapshotCluster
from .snapshotting import SnapshotReport, write_snapshot
from .toolbox import Toolbox, base_name

__all__ = [
    "ApiError", "Cluster", "ClusterError", "ConfigurationError", "Forbidden", "KINDS", "Kind",
    "KindUnavailable", "Limits", "LiveCluster", "LivePrometheus", "Metrics", "MetricsError",
    "Narrowed", "NotFound", "NotKubernetes", "Obj", "ObjectRef", "QueryResult", "ReadOnlyViolation",
    "Redacted", "ServerError", "SnapshotCluster", "SnapshotError", "SnapshotMetrics",
    "SnapshotReport", "Timeouts", "ToolResult", "Toolbox", "Unauthorized", "Unreachable",
    "base_name", "capture_metrics", "connect_prometheus", "open_cluster", "open_metrics",
    "parse_kind", "redact_object", "redact_text", "write_snapshot",
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


def open_metrics(
    *,
    snapshot: Path | None = None,
    url: str | None = None,
    bearer_token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
    limits: Limits | None = None,
) -> Metrics | None:
    """The metrics beside a cluster: a snapshot's series (`DIR/metrics/*.om`) when reading a
    snapshot, else a live Prometheus at `url`; None when there are none (not configured)."""
    if snapshot is not None:
        return SnapshotMetrics(snapshot, limits) if SnapshotMetrics.present(snapshot) else None
    if not url:
        return None
    return connect_prometheus(url, bearer_token=bearer_token, username=username,
                              password=password, ca_file=ca_file, timeout=timeout, limits=limits)
