"""Scenario files (tests/scenarios/*.yaml) turned into clusters: a snapshot directory, or objects
seeded into the real apiserver with their status and their logs on the fake kubelet.

Both paths start from the same `Scenario`, so the engine sees the same cluster either way.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import urllib3
import yaml

from tools.openmetrics import METRICS_DIR, SUFFIX, write_openmetrics
from tools.prometheus import Series

from .apiserver import ApiServer
from .series import expand

Json = dict[str, Any]
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
INCIDENT_DIR = Path(__file__).resolve().parent.parent / "incidents"  # the blind corpus
_NOW = re.compile(r"\{\{now(?:-(\d+)([smhd]))?\}\}")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

# kind -> (plural, served group/version on the harness's v1.20 apiserver, namespaced)
_API: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("namespaces", "v1", False),
    "Node": ("nodes", "v1", False),
    "PersistentVolume": ("persistentvolumes", "v1", False),
    "StorageClass": ("storageclasses", "storage.k8s.io/v1", False),
    "ConfigMap": ("configmaps", "v1", True),
    "Service": ("services", "v1", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", "v1", True),
    "CronJob": ("cronjobs", "batch/v1beta1", True),
    "Deployment": ("deployments", "apps/v1", True),
    "StatefulSet": ("statefulsets", "apps/v1", True),
    "DaemonSet": ("daemonsets", "apps/v1", True),
    "ReplicationController": ("replicationcontrollers", "v1", True),
    "ReplicaSet": ("replicasets", "apps/v1", True),
    "Job": ("jobs", "batch/v1", True),
    "Pod": ("pods", "v1", True),
    "ResourceQuota": ("resourcequotas", "v1", True),  # after pods: admission would refuse them
    "LimitRange": ("limitranges", "v1", True),
    "Endpoints": ("endpoints", "v1", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", "autoscaling/v2beta2", True),
    "Ingress": ("ingresses", "networking.k8s.io/v1", True),
    "NetworkPolicy": ("networkpolicies", "networking.k8s.io/v1", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", "policy/v1beta1", True),
    "Event": ("events", "v1", True),
}
_ORDER = list(_API)

# kind -> snapshot file name (kubectl's for the core ones)
_FILES = {
    "Node": "nodes.json", "Namespace": "namespaces.json",
    "PersistentVolume": "persistentvolumes.json", "StorageClass": "storageclasses.json",
    "Pod": "pods.json", "Deployment": "deployments.json", "ReplicaSet": "replicasets.json",
    "StatefulSet": "statefulsets.json", "DaemonSet": "daemonsets.json",
    "ReplicationController": "replication-controllers.json", "Job": "jobs.json",
    "CronJob": "cronjobs.json", "Service": "services.json", "Endpoints": "endpoints.json",
    "Event": "events.json", "PersistentVolumeClaim": "persistentvolumeclaims.json",
    "ConfigMap": "configmaps.json", "HorizontalPodAutoscaler": "horizontalpodautoscalers.json",
    "ResourceQuota": "resourcequotas.json", "LimitRange": "limitranges.json",
    "Ingress": "ingresses.json", "NetworkPolicy": "networkpolicies.json",
    "PodDisruptionBudget": "poddisruptionbudgets.json",
}
_CLUSTER_FILES = ("Node", "Namespace", "PersistentVolume", "StorageClass")


@dataclass
class Scenario:
    name: str
    description: str
    objects: list[Json]
    logs: dict[str, str]
    previous_logs: dict[str, str]
    questions: list[str]
    target: str | None
    expect: Json
    path: Path
    namespaces: list[str] = field(default_factory=list)
    family: str = ""  # incidents only: the family of tests/incidents/README.md
    metrics: list[Json] = field(default_factory=list)  # series specs (harness/series.py)

    def renamed(self, mapping: dict[str, str]) -> Scenario:
        """The same scenario with its namespaces renamed (for a fresh namespace per test)."""
        objects = [_rename(obj, mapping) for obj in self.objects]

        def key(k: str) -> str:
            ns, _, rest = k.partition("/")
            return f"{mapping.get(ns, ns)}/{rest}"

        def text(log: str) -> str:  # service DNS names carry the namespace, as in a real
            for old, new in mapping.items():  # cluster, and so do `namespace/name` references
                log = re.sub(rf"\.{re.escape(old)}\.svc\b", f".{new}.svc", log)
                log = re.sub(rf"(?<![\w./-]){re.escape(old)}/(?=[a-z0-9])", f"{new}/", log)
            return log

        return Scenario(
            name=self.name, description=self.description, objects=objects,
            logs={key(k): text(v) for k, v in self.logs.items()},
            previous_logs={key(k): text(v) for k, v in self.previous_logs.items()},
            questions=list(self.questions), target=rename_ref(self.target, mapping),
            expect={**_rename_expect(self.expect, mapping),
                    "phrases": [text(str(p)) for p in self.expect.get("phrases") or []]},
            path=self.path,
            namespaces=[mapping.get(n, n) for n in self.namespaces], family=self.family,
            metrics=[{**spec, "series": _rename_series(spec["series"], mapping)}
                     for spec in self.metrics])


def rename_ref(ref: str | None, mapping: dict[str, str]) -> str | None:
    if not ref:
        return ref
    parts = ref.split("/")
    if len(parts) == 3:
        parts[1] = mapping.get(parts[1], parts[1])
    elif len(parts) == 2 and parts[0] == "Namespace":
        parts[1] = mapping.get(parts[1], parts[1])
    return "/".join(parts)


def _rename_expect(expect: Json, mapping: dict[str, str]) -> Json:
    result = copy.deepcopy(expect)
    result["object"] = rename_ref(result.get("object"), mapping)
    for extra in result.get("also") or []:
        extra["object"] = rename_ref(extra.get("object"), mapping)
    return result


def _rename(obj: Json, mapping: dict[str, str]) -> Json:
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    if meta.get("namespace") in mapping:
        meta["namespace"] = mapping[meta["namespace"]]
    involved = obj.get("involvedObject")
    if involved and involved.get("namespace") in mapping:
        involved["namespace"] = mapping[involved["namespace"]]
    claim = (obj.get("spec") or {}).get("claimRef")
    if claim and claim.get("namespace") in mapping:
        claim["namespace"] = mapping[claim["namespace"]]
    return _dns_renamed(_namespace_refs_renamed(obj, mapping), mapping)


def _namespace_refs_renamed(value: Any, mapping: dict[str, str]) -> Any:
    """Namespaces named inside a spec follow the rename: a pod affinity term's `namespaces:`
    list, a selector on the `kubernetes.io/metadata.name` label the apiserver sets, and a
    namespaceSelector label whose value is a namespace's name."""
    if isinstance(value, list):
        return [_namespace_refs_renamed(v, mapping) for v in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key == "namespaces" and isinstance(item, list):
            item = [mapping.get(n, n) if isinstance(n, str) else n for n in item]
        elif key == "kubernetes.io/metadata.name" and isinstance(item, str):
            item = mapping.get(item, item)
        elif key == "values" and value.get("key") == "kubernetes.io/metadata.name":
            item = [mapping.get(n, n) if isinstance(n, str) else n for n in item or []]
        elif key == "namespaceSelector" and isinstance(item, dict) and isinstance(
                item.get("matchLabels"), dict):  # `name: observability`: a namespace by name
            item = {**item, "matchLabels": {k: mapping.get(v, v) if isinstance(v, str) else v
                                            for k, v in item["matchLabels"].items()}}
        result[key] = _namespace_refs_renamed(item, mapping)
    return result


def _dns_renamed(value: Any, mapping: dict[str, str]) -> Any:
    """Service DNS names (`name.ns.svc`) in string values (env, args) follow the rename, as
    they would in a real cluster."""
    if isinstance(value, str):
        for old, new in mapping.items():
            value = re.sub(rf"\.{re.escape(old)}\.svc\b", f".{new}.svc", value)
        return value
    if isinstance(value, dict):
        return {k: _dns_renamed(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_dns_renamed(v, mapping) for v in value]
    return value


def _substitute_times(text: str, now: datetime) -> str:
    def replace(match: re.Match[str]) -> str:
        amount, unit = match.groups()
        when = now - timedelta(**{_UNITS[unit]: int(amount)}) if amount else now
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    return _NOW.sub(replace, text)


_PLACEHOLDER = re.compile(r"@(H16|H64|UID)(?::([\w-]+))?@")


def _substitute_ids(text: str, seed: str) -> str:
    """`@H16@` (fresh 16 hex digits), `@H64@`/`@H64:label@` (64, one per label) and
    `@UID:label@` (a UUID per label): ids a real cluster makes up, stable per file."""
    counter = iter(range(1_000_000))

    def replace(match: re.Match[str]) -> str:
        kind, label = match.groups()
        key = f"{seed}/{kind}/{label if label else next(counter)}"
        value = uuid.uuid5(uuid.NAMESPACE_URL, key)
        if kind == "UID":
            return str(value)
        digits = (value.hex + uuid.uuid5(uuid.NAMESPACE_OID, key).hex)
        return digits[:16] if kind == "H16" else digits[:64]

    return _PLACEHOLDER.sub(replace, text)


def load(path: Path, now: datetime | None = None) -> Scenario:
    """Read one scenario file, with `{{now-5m}}` times made real and id placeholders filled."""
    text = _substitute_times(path.read_text(encoding="utf-8"), now or datetime.now(UTC))
    text = _substitute_ids(text, path.stem)
    doc = yaml.safe_load(text)
    objects: list[Json] = doc.get("objects") or []
    namespaces = sorted({o["metadata"]["namespace"] for o in objects
                         if o.get("metadata", {}).get("namespace")})
    return Scenario(
        name=doc["name"], description=doc.get("description", ""), objects=objects,
        logs=doc.get("logs") or {}, previous_logs=doc.get("previous_logs") or {},
        questions=doc.get("questions") or [], target=doc.get("target"),
        expect=doc.get("expect") or {}, path=path, namespaces=namespaces,
        family=doc.get("family") or "", metrics=doc.get("metrics") or [])


def all_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.yaml"))


def all_incidents(directory: Path = INCIDENT_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def _uid(obj: Json) -> str:
    meta = obj["metadata"]
    key = f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def _fill_owner_uids(objects: list[Json], uids: dict[tuple[str, str, str], str]) -> None:
    for obj in objects:
        meta = obj["metadata"]
        for ref in meta.get("ownerReferences") or []:
            found = uids.get((ref["kind"], meta.get("namespace", ""), ref["name"]))
            if found:
                ref["uid"] = found
            else:
                ref.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, ref["name"])))


# --- snapshot directory ----------------------------------------------------------------------

def write_snapshot_dir(scenario: Scenario, directory: Path) -> Path:
    """Write `scenario` as `kubectl cluster-info dump` would, plus our extension files."""
    objects = copy.deepcopy(scenario.objects)
    uids: dict[tuple[str, str, str], str] = {}
    for obj in objects:
        meta = obj["metadata"]
        meta.setdefault("uid", _uid(obj))
        meta.setdefault("creationTimestamp", _stamp(datetime.now(UTC) - timedelta(hours=1)))
        uids[(obj["kind"], meta.get("namespace", ""), meta["name"])] = meta["uid"]
    _fill_owner_uids(objects, uids)
    directory.mkdir(parents=True, exist_ok=True)
    buckets: dict[tuple[str, str], list[Json]] = {}
    for obj in objects:
        kind = obj["kind"]
        ns = "" if kind in _CLUSTER_FILES else obj["metadata"]["namespace"]
        item = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        buckets.setdefault((kind, ns), []).append(item)
    namespaces = sorted(set(scenario.namespaces))
    buckets[("Namespace", "")] = [
        {"metadata": {"name": ns, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, ns))},
         "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        for ns in namespaces]
    for kind in _CLUSTER_FILES:
        _dump(directory / _FILES[kind], kind, buckets.get((kind, ""), []))
    for ns in namespaces:
        for kind, file_name in _FILES.items():
            if kind not in _CLUSTER_FILES:
                _dump(directory / ns / file_name, kind, buckets.get((kind, ns), []))
    _write_logs(directory, scenario.logs, "logs", "logs.txt")
    _write_logs(directory, scenario.previous_logs, "previous logs", "previous-logs.txt")
    write_metric_files(scenario, directory)
    return directory


def write_metric_files(scenario: Scenario, directory: Path, end: float | None = None
                       ) -> list[Path]:
    """The scenario's series, the last hour before `end` (now), as `DIR/metrics/<ns>.om`: what
    the snapshot reader evaluates and what `harness.prometheus.start_prometheus` backfills."""
    by_namespace: dict[str, list[Series]] = {}
    for series in expand(scenario.metrics, time.time() if end is None else end):
        by_namespace.setdefault(series.labels.get("namespace", "cluster"), []).append(series)
    paths = []
    for namespace, found in sorted(by_namespace.items()):
        path = directory / METRICS_DIR / f"{namespace}{SUFFIX}"
        write_openmetrics(found, path)
        paths.append(path)
    return paths


def _rename_series(selector: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        selector = re.sub(rf'(\bnamespace\s*=\s*"){re.escape(old)}"', rf'\g<1>{new}"', selector)
    return selector


def _dump(path: Path, kind: str, items: list[Json]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    version = _API[kind][1]
    doc = {"kind": f"{kind}List", "apiVersion": version, "metadata": {}, "items": items}
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def _write_logs(directory: Path, logs: dict[str, str], label: str, file_name: str) -> None:
    by_pod: dict[tuple[str, str], list[str]] = {}
    for key, text in logs.items():
        ns, pod, container = key.split("/")
        frame = f"{label} for container {container} of pod {ns}/{pod}"
        by_pod.setdefault((ns, pod), []).extend(
            [f"==== START {frame} ====", *text.rstrip("\n").split("\n"), f"==== END {frame} ===="])
    for (ns, pod), lines in by_pod.items():
        (directory / ns / pod).mkdir(parents=True, exist_ok=True)
        (directory / ns / pod / file_name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the real apiserver ----------------------------------------------------------------------

class Seeder:
    """Creates scenario objects in the harness's apiserver, as an admin (tests may write)."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.http = urllib3.PoolManager(ca_certs=str(server.ca_file), cert_reqs="CERT_REQUIRED")

    def _call(self, method: str, path: str, body: Json | None = None) -> Json:
        content = "application/merge-patch+json" if method == "PATCH" else "application/json"
        response = self.http.request(
            method, self.server.url + path,
            body=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.server.admin_token}",
                     "Content-Type": content, "Accept": "application/json"})
        data: Json = json.loads(response.data or b"{}")
        if response.status >= 400 and not (method == "DELETE" and response.status == 404):
            raise RuntimeError(f"{method} {path}: {response.status} {data.get('message')}")
        return data

    def _path(self, kind: str, namespace: str | None, name: str | None = None) -> str:
        plural, version, namespaced = _API[kind]
        base = "/api/v1" if version == "v1" else f"/apis/{version}"
        if namespaced:
            base += f"/namespaces/{namespace}"
        return f"{base}/{plural}" + (f"/{name}" if name else "")

    def reset_cluster_scoped(self) -> None:
        """Delete nodes, PVs and StorageClasses left by an earlier scenario."""
        for kind in ("Node", "PersistentVolume", "StorageClass"):
            for item in self._call("GET", self._path(kind, None)).get("items", []):
                path = self._path(kind, None, item["metadata"]["name"])
                if item["metadata"].get("finalizers"):  # no controller will ever remove them
                    self._call("PATCH", path, {"metadata": {"finalizers": None}})
                self._call("DELETE", path)

    def seed(self, scenario: Scenario) -> dict[str, str]:
        """Create every object, then write its status and register its logs on the kubelet.
        Returns the scenario's Service cluster IPs -> the ones this apiserver allocated (the logs
        are rewritten with them; expectations that quote an IP need the same)."""
        self.reset_cluster_scoped()
        for ns in scenario.namespaces:
            if ns == "default":  # every apiserver has it
                continue
            self._call("POST", "/api/v1/namespaces",
                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        uids: dict[tuple[str, str, str], str] = {}
        addresses: dict[str, str] = {}  # the scenario's cluster IPs -> the ones allocated here
        objects = sorted(copy.deepcopy(scenario.objects), key=lambda o: _ORDER.index(o["kind"]))
        for obj in objects:
            kind, meta = obj["kind"], obj["metadata"]
            ns = meta.get("namespace")
            _fill_owner_uids([obj], uids)
            status = obj.pop("status", None)
            body = self._creatable(obj)
            wanted_ip = (body.get("spec") or {}).get("clusterIP") if kind == "Service" else None
            if wanted_ip and wanted_ip != "None":  # the server allocates from its own range
                body["spec"].pop("clusterIP")
                body["spec"].pop("clusterIPs", None)
            for port in (body.get("spec") or {}).get("ports") or [] if kind == "Service" else []:
                port.pop("nodePort", None)  # (the shared apiserver: another test may hold it,
            if kind == "Service":  # or have been given it at random, and so for the health
                body["spec"].pop("healthCheckNodePort", None)  # check port of a LoadBalancer)
            created = self._call("POST", self._path(kind, ns), body)
            if wanted_ip and wanted_ip != "None":
                addresses[wanted_ip] = created["spec"]["clusterIP"]
            uids[(kind, ns or "", meta["name"])] = created["metadata"]["uid"]
            if kind == "Node":
                status = self._wire_to_kubelet(status or {})
            if status and kind not in ("Event", "ConfigMap", "Endpoints"):
                created["status"] = status
                self._call("PUT", self._path(kind, ns, meta["name"]) + "/status", created)
        for logs, previous in ((scenario.logs, False), (scenario.previous_logs, True)):
            for key, text in logs.items():
                ns, pod, container = key.split("/")
                for old, new in addresses.items():
                    text = re.sub(rf"\b{re.escape(old)}\b", new, text)
                self.server.kubelet.set_log(ns, pod, container, text, previous=previous)
        return addresses

    def _creatable(self, obj: Json) -> Json:
        body = copy.deepcopy(obj)
        kind = body["kind"]
        body["apiVersion"] = _API[kind][1]
        meta = body["metadata"]
        for key in ("uid", "resourceVersion", "creationTimestamp", "generation"):
            meta.pop(key, None)
        if kind == "Event":
            body.setdefault("firstTimestamp", body.get("lastTimestamp"))
            for holder, key in ((body, "eventTime"), (body.get("series") or {},
                                                      "lastObservedTime")):
                if isinstance(holder.get(key), str) and "." not in holder[key]:
                    holder[key] = holder[key].replace("Z", ".000000Z")  # MicroTime
        return body

    def _wire_to_kubelet(self, status: Json) -> Json:
        """Point the node at the fake kubelet (never at the scenario's made-up addresses)."""
        status = copy.deepcopy(status)
        name_addresses = [a for a in status.get("addresses") or [] if a["type"] == "Hostname"]
        status["addresses"] = [{"type": "InternalIP", "address": "127.0.0.1"}, *name_addresses]
        status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": self.server.kubelet.port}}
        return status
