"""What a worker process (`processes`) needs to investigate as the server would, picklable:
the settings, how to open the server's cluster again (`Opening`), and what makes its
investigator (`Recipe.make`).

    recipe = Recipe(settings, Opening.of(cluster, settings))
    cluster = recipe.opening.open()                      # in the child
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tools
from tools import Cluster

from ..investigation import Investigator
from ..settings import Settings
from .errors import ClusterUnavailable

if TYPE_CHECKING:
    from .opening import Service

Make = Callable[["Service", Cluster], Investigator]
"""Makes a child's investigator over a view of the cluster (default: the service's agent)."""


@dataclass(frozen=True)
class Opening:
    """How to open the server's cluster again, in a child: the snapshot directory, or the
    kubeconfig and context (in-cluster: the service account), and the namespaces named."""

    snapshot: Path | None = None
    kubeconfig: str | None = None
    context: str | None = None
    timeouts: tools.Timeouts = tools.Timeouts()
    in_cluster_env: tuple[tuple[str, str], ...] = ()
    named: tuple[str, ...] = ()
    host: str | None = None  # the server's API server: a child that reaches another one stops

    @classmethod
    def of(cls, cluster: Cluster, settings: Settings) -> Opening:
        """How `cluster` (as `sre` opens it: `Narrowed`, `Redacted`, then a snapshot or a live
        reader) was opened, with `settings`' kubeconfig. ValueError for another reader."""
        named: tuple[str, ...] = ()
        reader: object = cluster
        while hasattr(reader, "inner"):
            if isinstance(reader, tools.Narrowed):
                named = tuple(reader.named)
            reader = reader.inner
        if isinstance(reader, tools.SnapshotCluster):
            return cls(snapshot=reader.root, named=named)
        if not isinstance(reader, tools.LiveCluster):
            raise ValueError(f"cannot open {type(reader).__name__} again in a worker process")
        source = reader.source
        return cls(kubeconfig=settings.kubeconfig_path,
                   context=source.removeprefix("context ") if source.startswith("context ")
                   else None,
                   timeouts=tools.Timeouts(settings.cluster.connect_timeout,
                                           settings.cluster.read_timeout,
                                           settings.cluster.request_timeout),
                   in_cluster_env=(("KUBERNETES_SERVICE_HOST",
                                    settings.kubernetes_service_host or ""),),
                   named=named, host=reader.host)

    def open(self) -> Cluster:
        """The cluster; `ClusterUnavailable` when it is not the server's."""
        opened = tools.Narrowed(tools.open_cluster(
            snapshot=self.snapshot, kubeconfig=self.kubeconfig, context=self.context,
            timeouts=self.timeouts, in_cluster_env=dict(self.in_cluster_env)), self.named)
        reader: object = opened
        while hasattr(reader, "inner"):
            reader = reader.inner
        host = reader.host if isinstance(reader, tools.LiveCluster) else None
        if host != self.host:
            opened.close()
            raise ClusterUnavailable(
                f"the worker processes reach {host or 'no API server'}, not {self.host} as the "
                "server does: give the kubeconfig in KUBECONFIG or SRE_KUBECONFIG rather than "
                "--kubeconfig")
        return opened


@dataclass(frozen=True)
class Recipe:
    """Everything a child needs to investigate, picklable: settings, the cluster's `Opening`,
    and `make` (a module-level function; tests name their own)."""

    settings: Settings
    opening: Opening
    make: Make | None = None
