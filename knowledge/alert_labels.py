"""What the labels of a Prometheus alert say: which name the object the alert is about, which
only say who reported it (data in alert_labels.yaml).

    subject({"alertname": "KubeJobFailed", "job": "kube-state-metrics", "job_name": "export",
             "namespace": "batch", "pod": "kube-state-metrics-6d5f9-v2x4q", ...})
    # Subject(kind="Job", name="export", namespace="batch", label="job_name")
    describe(labels)   # "KubeJobFailed namespace=batch job_name=export": no monitoring labels
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from tools import Kind, parse_kind


@dataclass(frozen=True)
class ObjectLabel:
    label: str
    kind: Kind
    cluster_scoped: bool = False


@dataclass(frozen=True)
class Subject:
    """The object an alert (or a person's `key=value`) is about."""

    kind: Kind
    name: str
    namespace: str | None  # None for cluster-scoped kinds, or when no namespace label says
    label: str  # the label that named it

    @property
    def ref(self) -> str:
        """Kind/namespace/name, `-` for no namespace (as a Diagnosis writes objects)."""
        return f"{self.kind}/{self.namespace or '-'}/{self.name}"


@dataclass(frozen=True)
class AlertLabels:
    monitoring: tuple[str, ...]
    objects: tuple[ObjectLabel, ...]
    written: tuple[ObjectLabel, ...]
    exporters: tuple[str, ...]
    alerts: dict[str, ObjectLabel]
    details: tuple[str, ...]
    consumers: tuple[str, ...] = ()


@cache
def definitions() -> AlertLabels:
    """The data of alert_labels.yaml, read once."""
    text = resources.files("knowledge").joinpath("alert_labels.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    objects = tuple(_object(entry) for entry in doc["objects"])
    written = tuple(_object(entry) for entry in doc["written"])
    known = {o.label: o for o in objects}
    alerts = {name: _object({**vars(known[entry["label"]]), **entry})
              if entry["label"] in known else _object(entry)
              for name, entry in doc["alerts"].items()}
    return AlertLabels(monitoring=tuple(doc["monitoring"]), objects=objects, written=written,
                       exporters=tuple(doc["exporters"]), alerts=alerts,
                       details=tuple(doc["details"]),
                       consumers=tuple(doc.get("consumers") or ()))


def _object(entry: Mapping[str, Any]) -> ObjectLabel:
    kind = parse_kind(str(entry["kind"]))
    if kind is None:
        raise ValueError(f"alert_labels.yaml: unknown kind {entry['kind']!r}")
    return ObjectLabel(str(entry["label"]), kind, bool(entry.get("cluster_scoped")))


def is_alert(labels: Mapping[str, str]) -> bool:
    """Labels of an alert (they name it), not a person's `key=value` words."""
    return "alertname" in labels


def subject(labels: Mapping[str, str]) -> Subject | None:
    """The object `labels` are about; None when they name none (a namespace or the cluster).

    A rule known to be about one label (KubeJobFailed: `job_name`) is about that label. Other
    alerts are about their first object label that is not the exporter's own; a person's words
    may also name a Job (`job=`) or a Service (`service=`)."""
    known = definitions()
    rule = known.alerts.get(labels.get("alertname", ""))
    if rule is not None and labels.get(rule.label):
        return _subject(rule, labels)
    candidates = known.objects if is_alert(labels) else known.objects + known.written
    for entry in candidates:
        if labels.get(entry.label) and not _exporters_own(entry, labels):
            return _subject(entry, labels)
    return None


def consumer(labels: Mapping[str, str]) -> str | None:
    """The consumer an alert's lag is about (`consumer_name=order-projector`): by convention the
    name of the application that consumes, a workload somewhere in the cluster."""
    return next((labels[c] for c in definitions().consumers if labels.get(c)), None) \
        if is_alert(labels) else None


def namespace(labels: Mapping[str, str]) -> str | None:
    """The namespace an alert is about: its subject's, None for a cluster-scoped subject (a node
    alert's namespace label is the exporter's), else the namespace label."""
    found = subject(labels)
    return found.namespace if found is not None else labels.get("namespace") or None


def describe(labels: Mapping[str, str]) -> str:
    """"KubePodCrashLooping namespace=shop pod=X container=app": the alert's name and the labels
    that say what it is about, none that say who reported it."""
    known = definitions()
    found = subject(labels)
    keys = ["namespace"] if namespace(labels) else []
    if found is not None:
        keys.append(found.label)
    keys += [d for d in known.details  # never the exporter's own container
             if not any(e in labels.get(d, "") for e in known.exporters)]
    said = " ".join(f"{k}={labels[k]}" for k in dict.fromkeys(keys) if labels.get(k))
    return f"{labels.get('alertname', '')} {said}".strip()


def _exporters_own(entry: ObjectLabel, labels: Mapping[str, str]) -> bool:
    exporters = definitions().exporters
    value = labels.get(entry.label, "")
    if any(e in value for e in exporters):
        return True
    if entry.kind == "Pod":  # the target's pod beside its container, or the scrape job's own
        container = labels.get("container", "")
        return any(e in container for e in exporters) or (
            bool(container) and container == labels.get("job"))
    return False


def _subject(entry: ObjectLabel, labels: Mapping[str, str]) -> Subject:
    """The object a label names, in the namespace the series came from: `exported_namespace`
    when the scrape kept the target's own `namespace` aside (ingress-nginx's metrics about an
    Ingress in another namespace), else `namespace`."""
    where = None if entry.cluster_scoped else \
        labels.get("exported_namespace") or labels.get("namespace") or None
    return Subject(entry.kind, labels[entry.label], where, entry.label)
