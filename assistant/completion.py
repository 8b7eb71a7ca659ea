"""Shell completion of `sre` (argcomplete): commands and options from the parser, namespaces and
workload names from the cluster the command line names (`--snapshot`, `--context`,
`--kubeconfig`, else the current context).

    eval "$(register-python-argcomplete sre)"       # bash or zsh, once per shell (~/.bashrc)
    register-python-argcomplete --shell fish sre | source

A completer never prints and never fails: a cluster that cannot be read in two seconds
completes nothing. Reads go through the same guard and allow-list as every command.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from .settings import Settings

if TYPE_CHECKING:
    from tools import Cluster

# tools/ (the kubernetes client) is imported by the completers alone: `sre` starts without it.
_SECONDS = 2.0
_SHORT = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "Job": "job",
          "CronJob": "cronjob"}


@contextmanager
def _cluster(args: argparse.Namespace) -> Iterator[Cluster | None]:
    import tools

    cluster: Cluster | None = None
    with suppress(tools.ClusterError, ValueError):
        settings = Settings()
        cluster = tools.open_cluster(
            snapshot=getattr(args, "snapshot", None),
            kubeconfig=getattr(args, "kubeconfig", None) or settings.kubeconfig_path,
            context=getattr(args, "context", None) or settings.cluster.context,
            timeouts=tools.Timeouts(connect=_SECONDS, read=_SECONDS, total=_SECONDS),
            in_cluster_env={"KUBERNETES_SERVICE_HOST": settings.kubernetes_service_host or ""})
    try:
        yield cluster
    finally:
        if cluster is not None:
            cluster.close()


def namespaces(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Namespaces whose name starts with `prefix`."""
    import tools

    with _cluster(parsed_args) as cluster:
        if cluster is None:
            return []
        with suppress(tools.ClusterError):
            return sorted(n for n in cluster.namespaces() if n.startswith(prefix))
    return []


def workloads(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Workload names in `-n NAMESPACE` (every namespace without it); `deploy/` and the other
    kind prefixes complete to `KIND/NAME`."""
    import tools
    from tools.kinds import WORKLOAD_KINDS

    kind_prefix, _slash, name_prefix = prefix.rpartition("/")
    names: set[str] = set()
    with _cluster(parsed_args) as cluster:
        if cluster is None:
            return []
        for kind in WORKLOAD_KINDS:
            short = _SHORT.get(kind)
            if short is None or (kind_prefix and kind_prefix.lower() not in
                                 (short, kind.lower())):
                continue
            with suppress(tools.ClusterError):
                for item in cluster.list(kind, getattr(parsed_args, "namespace", None)):
                    name = str((item.get("metadata") or {}).get("name", ""))
                    if name.startswith(name_prefix):
                        names.add(f"{kind_prefix}/{name}" if kind_prefix else name)
    return sorted(names)
