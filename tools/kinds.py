"""The kinds the tools read, with the API versions to try in order of preference, and the rules
their names follow.

Real clusters differ: v1.20 serves CronJobs only as batch/v1beta1 and HPAs as autoscaling/v2beta2,
while v1.25+ serves neither beta. Each kind lists every group/version it may be served under.

Names go into API paths, so they are held to Kubernetes' own rules (DNS-1123 labels and
subdomains, DNS-1035 labels for Services) before any path is built: a name that breaks them names
nothing, and `InvalidName` says so. `routes()` is the same table seen from the wire, for the
read-only guard: which `(group/version, plural)` pairs the tools may read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args

from .errors import NotFound

NameRule = Literal["label", "subdomain", "dns1035"]

Kind = Literal[
    "Namespace", "Node", "PersistentVolume", "StorageClass",
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController",
    "Job", "CronJob", "Service", "Endpoints", "Event", "PersistentVolumeClaim", "ConfigMap",
    "HorizontalPodAutoscaler", "ResourceQuota", "LimitRange", "Ingress", "NetworkPolicy",
    "PodDisruptionBudget", "PodMetrics", "NodeMetrics",
]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True)
class KindInfo:
    kind: Kind
    plural: str
    versions: tuple[str, ...]  # "v1" for the core group, else "group/version"
    namespaced: bool
    snapshot_file: str  # file name in a snapshot directory (kubectl's own names for core kinds)
    aliases: tuple[str, ...] = ()
    name_rule: NameRule = "subdomain"  # what Kubernetes validates this kind's names with

    def path(
        self, group_version: str, namespace: str | None = None, name: str | None = None
    ) -> str:
        base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


_TABLE: tuple[KindInfo, ...] = (
    KindInfo("Namespace", "namespaces", ("v1",), False, "namespaces.json", ("ns",), "label"),
    KindInfo("Node", "nodes", ("v1",), False, "nodes.json", ("no",)),
    KindInfo("PersistentVolume", "persistentvolumes", ("v1",), False, "persistentvolumes.json",
             ("pv",)),
    KindInfo("StorageClass", "storageclasses", ("storage.k8s.io/v1", "storage.k8s.io/v1beta1"),
             False, "storageclasses.json", ("sc",)),
    KindInfo("Pod", "pods", ("v1",), True, "pods.json", ("po",)),
    KindInfo("Deployment", "deployments", ("apps/v1",), True, "deployments.json",
             ("deploy",)),
    KindInfo("ReplicaSet", "replicasets", ("apps/v1",), True, "replicasets.json", ("rs",)),
    KindInfo("StatefulSet", "statefulsets", ("apps/v1",), True, "statefulsets.json", ("sts",)),
    KindInfo("DaemonSet", "daemonsets", ("apps/v1",), True, "daemonsets.json", ("ds",)),
    KindInfo("ReplicationController", "replicationcontrollers", ("v1",), True,
             "replication-controllers.json", ("rc",)),
    KindInfo("Job", "jobs", ("batch/v1",), True, "jobs.json"),
    KindInfo("CronJob", "cronjobs", ("batch/v1", "batch/v1beta1"), True, "cronjobs.json",
             ("cj",)),
    KindInfo("Service", "services", ("v1",), True, "services.json", ("svc",), "dns1035"),
    KindInfo("Endpoints", "endpoints", ("v1",), True, "endpoints.json", ("ep",)),
    KindInfo("Event", "events", ("v1",), True, "events.json", ("ev",)),
    KindInfo("PersistentVolumeClaim", "persistentvolumeclaims", ("v1",), True,
             "persistentvolumeclaims.json", ("pvc",)),
    KindInfo("ConfigMap", "configmaps", ("v1",), True, "configmaps.json", ("cm",)),
    KindInfo("HorizontalPodAutoscaler", "horizontalpodautoscalers",
             ("autoscaling/v2", "autoscaling/v2beta2", "autoscaling/v1"), True,
             "horizontalpodautoscalers.json", ("hpa",)),
    KindInfo("ResourceQuota", "resourcequotas", ("v1",), True, "resourcequotas.json", ("quota",)),
    KindInfo("LimitRange", "limitranges", ("v1",), True, "limitranges.json", ("limits",)),
    KindInfo("Ingress", "ingresses",
             ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"), True,
             "ingresses.json", ("ing",)),
    KindInfo("NetworkPolicy", "networkpolicies", ("networking.k8s.io/v1",), True,
             "networkpolicies.json", ("netpol",)),
    KindInfo("PodDisruptionBudget", "poddisruptionbudgets", ("policy/v1", "policy/v1beta1"), True,
             "poddisruptionbudgets.json", ("pdb",)),
    KindInfo("PodMetrics", "pods", ("metrics.k8s.io/v1beta1",), True, "pods.metrics.json"),
    KindInfo("NodeMetrics", "nodes", ("metrics.k8s.io/v1beta1",), False, "nodes.metrics.json"),
)

_BY_KIND: dict[str, KindInfo] = {info.kind: info for info in _TABLE}


def info(kind: Kind) -> KindInfo:
    return _BY_KIND[kind]


def parse_kind(text: str) -> Kind | None:
    """The kind a user means by `deploy`, `deployments`, `Deployment`, `hpa`...; None if unknown."""
    word = text.strip().lower()
    for entry in _TABLE:
        names = {entry.kind.lower(), entry.plural, entry.kind.lower() + "s", *entry.aliases}
        if word in names and not entry.kind.endswith("Metrics"):
            return entry.kind
    return None


WORKLOAD_KINDS: tuple[Kind, ...] = (
    "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet",
    "ReplicationController",
)


# --- names ----------------------------------------------------------------------------------------

class InvalidName(NotFound):
    """A name, namespace or container name that breaks Kubernetes' naming rules.

    No object can carry such a name, so this is a `NotFound` (tools report it as `not_found`,
    with the rule), raised before any request is built; the CLI treats it as bad input.
    """


_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_PATTERNS: dict[NameRule, tuple[re.Pattern[str], int, str]] = {
    "label": (re.compile(_LABEL), 63,
              "lowercase letters, digits and '-', starting and ending with a letter or digit"),
    "subdomain": (re.compile(rf"{_LABEL}(?:\.{_LABEL})*"), 253,
                  "lowercase letters, digits, '-' and '.', starting and ending with a letter or "
                  "digit"),
    "dns1035": (re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?"), 63,
                "lowercase letters, digits and '-', starting with a letter and ending with a "
                "letter or digit"),
}


def name_problem(name: str, rule: NameRule) -> str | None:
    """Why `name` breaks `rule` (a sentence fragment), or None if Kubernetes would accept it."""
    pattern, longest, words = _PATTERNS[rule]
    if len(name) > longest:
        return f"longer than {longest} characters"
    if not name.isascii() or not pattern.fullmatch(name):
        return f"names are {words} (at most {longest} characters)"
    return None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def check_kind(kind: str) -> Kind:
    """`kind` if it is one of `KINDS` (a model may send any string); else `InvalidName`."""
    entry = _BY_KIND.get(kind)
    if entry is None:
        raise InvalidName(f"unknown kind {_shown(str(kind))}; known kinds: {', '.join(KINDS)}")
    return entry.kind


def check_name(kind: Kind | None, name: str) -> str:
    """`name` if a `kind` can be called so (any kind: a DNS-1123 subdomain); else `InvalidName`
    naming the rule."""
    rule = info(check_kind(kind)).name_rule if kind is not None else "subdomain"
    if problem := name_problem(name, rule):
        raise InvalidName(f"{_shown(name)} is not a valid {kind or 'object'} name: {problem}")
    return name


def check_namespace(namespace: str | None) -> str | None:
    """`namespace` if it is a valid namespace name; None and "" (all namespaces) stay as they
    are."""
    if namespace and (problem := name_problem(namespace, "label")):
        raise InvalidName(f"{_shown(namespace)} is not a valid namespace name: {problem}")
    return namespace


def check_container(container: str | None) -> str | None:
    """`container` (None stays None: the default one) if it is a valid container name."""
    if container is not None and (problem := name_problem(container, "label")):
        raise InvalidName(f"{_shown(container)} is not a valid container name: {problem}")
    return container


# --- the table from the wire's side ---------------------------------------------------------------

@cache
def routes() -> dict[tuple[str, str], KindInfo]:
    """`(group/version, plural) -> KindInfo` for every collection the tools may read.

    Secrets are not a kind here and never will be: the assertion keeps it so.
    """
    table = {(version, entry.plural): entry for entry in _TABLE for version in entry.versions}
    assert all(plural != "secrets" for _, plural in table), "Secrets are never read"
    return table


@cache
def group_versions() -> frozenset[str]:
    """Every group/version the tools may ask about in discovery (`/api/v1`, `/apis/G/V`)."""
    return frozenset(version for entry in _TABLE for version in entry.versions)
