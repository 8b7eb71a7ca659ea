"""Findings from what running pods say about themselves: the dependency they cannot reach, the
credentials a dependency refuses, a certificate that fails, a disk that is full, calls that are
slow. Pod status shows none of these; the logs of some container (the app, a sidecar) do.
"""

from __future__ import annotations

import re

from tools import Obj
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Evidence, Finding
from .environment import (
    ca_path_missing,
    credential_ids,
    secret_of,
    secret_vars,
    sibling_secret,
)
from .pod_issues import pod_ref
from .reading import Said
from .refused import refused_client, refused_finding, still_refused
from .sizing import heap_setting
from .startup import memory_limit
from .view import ClusterView
from .workloads import SEVERITY, workload_ref

TOLD = ("dependency_unreachable", "credentials_rejected", "tls_certificate", "storage_full",
        "slow_dependency")
TOLD_SIGNATURES = ("child-sigkill",  # a running pod whose worker processes are OOM-killed
                   "quota-refused-in-log")  # a running driver whose executors a quota refuses
# refusals a cloud role (not a password) answers
_CLOUD_IDENTITY = ("cloud-access-denied", "azure-identity-refused")
_SUMMARY = {
    "dependency_unreachable": "pods run, but their calls fail",
    "credentials_rejected": "a dependency refuses its credentials",
    "tls_certificate": "TLS fails",
    "storage_full": "writes fail",
    "slow_dependency": "calls are slow",
    "oom_killed": "worker processes are killed at the memory limit",
    "quota_exceeded": "the pods it creates are refused by a quota",
}


def log_findings(view: ClusterView, said: list[Said]) -> list[Finding]:
    """One finding per (workload, category) from running pods' logs, most repeated line first."""
    found: dict[tuple[str, str], Finding] = {}
    ordered = sorted(said, key=lambda s: (-s.match.signature.priority, -s.repeats))
    for item in ordered:
        if (item.category not in TOLD and item.match.signature.id not in TOLD_SIGNATURES) or \
                _phase(item.pod) != "Running" or (item.over and not still_refused(
                    view, item)) or (
                item.previous and not _restarted(item.pod, item.container)):
            continue
        if item.category == "slow_dependency" and (not item.target and not (
                item.match.signature.itself) or _own_service(view, item)):
            continue  # slow, but not waiting on anything named (the plan's checks say why), or
            # its own access log naming the Service it serves
        client = refused_client(view, item) if item.category == "credentials_rejected" \
            else None
        owner = workload_ref(view, client) if client is not None else claim_of(
            item, view) or tls_ingress(item, view) or _quota_of(item) or workload_ref(
            view, item.pod)
        key = (owner, item.category)
        if key in found:
            if pod_ref(item.pod) not in found[key].related:
                found[key].related.append(pod_ref(item.pod))
            continue
        found[key] = refused_finding(view, item, client) if client is not None else \
            _finding(item, owner, view)
    for finding in found.values():
        if finding.category == "credentials_rejected" and finding.facts.get("secret"):
            _fresh_pods_work(view, finding)
    return list(found.values())


def _quota_of(item: Said) -> str | None:
    """The ResourceQuota that refuses the pods a running pod creates itself (a Spark driver's
    executors): the object to change."""
    if item.category != "quota_exceeded":
        return None
    name = next((g for g in item.match.groups if g and "=" not in g and ":" not in g), None)
    return str(ObjectRef("ResourceQuota", meta(item.pod).get("namespace"), name)) if name \
        else None


def _own_service(view: ClusterView, item: Said) -> bool:
    """Whether a slow line's host is a Service that selects the very pod that logged it: a
    server's access log (`"host": "gotenberg.invoicing.svc"`, 4 s to render), not a call."""
    parts = (item.target or "").split(":")[0].split(".")
    namespace = parts[1] if len(parts) > 1 and parts[1] != "svc" else meta(item.pod).get(
        "namespace")
    service = view.find("Service", parts[0], namespace) if parts[0] else None
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    return bool(selector) and namespace == meta(item.pod).get("namespace") and matches_selector(
        {"matchLabels": selector}, meta(item.pod).get("labels") or {})


def _fresh_pods_work(view: ClusterView, finding: Finding) -> None:
    """Credentials read from a Secret into env are fixed at container start: when a pod of the
    same workload started after the failing ones does not fail, the Secret already holds what
    works and the old pods still send what it held when they started."""
    if finding.facts.get("other_secret"):
        return  # a neighbour reads the variable from another Secret: this one is what is stale
    failing = {r for r in finding.related if r.startswith("Pod/")}
    pods = [p for p in view.items("Pod", ObjectRef.parse(finding.object).namespace_text)
            if workload_ref(view, p) == finding.object
            and (p.get("status") or {}).get("phase") == "Running"]
    started = [meta(p).get("creationTimestamp") or "" for p in pods if pod_ref(p) in failing]
    if not started:
        return
    fresh = [p for p in pods if pod_ref(p) not in failing
             and (meta(p).get("creationTimestamp") or "") > max(started)]
    if not fresh:
        return
    newest = fresh[-1]
    age = view.age_seconds(meta(newest).get("creationTimestamp"))
    finding.explanation += (
        f"; pod {meta(newest)['name']}, started "
        + (f"{int(age // 60)}m ago" if age is not None else "later")
        + ", does not log it: env values from a Secret are read when a container starts, so "
          f"the {len(failing)} older pod(s) still send the credentials Secret "
          f"{finding.facts['secret']} held then (it was changed since)")
    finding.facts["stale_env"] = "true"


def _finding(item: Said, owner: str, view: ClusterView) -> Finding:
    short = ObjectRef.parse(owner).name
    where = f"{pod_ref(item.pod)}/{item.container}"
    who = f"the {item.container} sidecar" if item.role == "sidecar" else (
        f"the init container {item.container}" if item.role == "init" else short)
    cause = item.match.cause
    target = item.target
    if target and target not in cause:
        cause += f" (at {target})"
    finding = Finding(
        category=item.category, object=owner,
        summary=f"{short}: {_SUMMARY[item.category]}",
        explanation=f"{short} is up, but {who} logs that {cause}" if item.role != "app"
        else f"{short} is up, but {cause}",
        evidence=[Evidence(source="log", object=where,
                           detail=item.match.line.strip()
                           + (f" (x{item.repeats})" if item.repeats > 1 else "")),
                  *(Evidence(source="log", object=where, detail=line) for line in item.context)],
        confidence=0.75, impact=SEVERITY.get(item.category, 1.5), related=[pod_ref(item.pod)])
    finding.facts = {"signature": item.match.signature.id, "container": item.container,
                     "role": item.role}
    if owner.startswith("PersistentVolumeClaim/"):
        claim = ObjectRef.parse(owner).name
        finding.facts["claim"] = claim
        finding.summary = f"pvc {claim}: writes fail"
        mounter = next((pod_ref(p) for p in view.items("Pod", ObjectRef.parse(owner).namespace)
                        if claim in _claims(p)), pod_ref(item.pod))
        finding.explanation = (f"the volume of PersistentVolumeClaim {claim}, mounted by "
                               f"{mounter}, is full or read-only: {cause}")
    if owner.startswith("Ingress/"):  # (tls_ingress) the controller reports this Ingress
        missing = item.match.groups[1]
        finding.summary = f"ingress {short}: its TLS Secret {missing} is missing"
        finding.explanation = (
            f"Ingress {short} names TLS Secret {missing} in spec.tls, and the ingress controller "
            f"({workload_ref(view, item.pod)}) logs that no such Secret exists: it serves its "
            "default (self-signed) certificate for that host instead, which clients reject")
        finding.related.insert(0, workload_ref(view, item.pod))
        finding.facts["ingress_secret"] = missing
    if target:
        finding.facts["target"] = target
    if item.category == "credentials_rejected":
        secret = secret_of(item.pod, item.container,
                           cloud=item.match.signature.id in _CLOUD_IDENTITY,
                           line=item.match.line)
        account = (item.pod.get("spec") or {}).get("serviceAccountName") or "default"
        if secret:
            finding.facts["secret"] = secret
            finding.explanation += f"; its credentials come from Secret {secret}"
            _secret_vars(view, item, finding, secret)
        sent = credential_ids(item.pod, item.container, item.match.line)
        if sent:
            finding.explanation += f"; it identifies itself with {', '.join(sent)}"
        elif item.match.signature.id in _CLOUD_IDENTITY and not secret:  # IRSA, workload id
            finding.facts["service_account"] = account
            finding.explanation += (f"; with no credentials Secret, its cloud identity comes "
                                    f"from ServiceAccount {account}")
    if item.category == "oom_killed":
        limit = memory_limit(item.pod, item.container)
        finding.facts["limit"] = limit or "<none>"
        finding.explanation += (f"; the container {item.container} may use {limit} of memory "
                                "(limits.memory), shared by all its worker processes"
                                if limit else "; the container has no memory limit: the node "
                                "ran out of memory")
    if item.match.signature.id in ("jvm-gc-thrashing", "jvm-gc-inspector-pause"):
        heap = heap_setting(item.pod, item.container)
        if heap:
            finding.explanation += f"; {heap}"
            finding.facts["heap"] = heap
    if item.category == "tls_certificate":
        trust = item.match.signature.id == "x509-unknown-authority"
        source = cert_volume(item.pod, item.container, item.match.line, trust)
        if source:
            kind, name = source
            finding.facts["secret" if kind == "Secret" else "bundle"] = name
            finding.explanation += (f"; the CA bundle it trusts comes from {kind} {name}"
                                    if trust else
                                    f"; the certificate is mounted from {kind} {name}")
            astray = ca_path_missing(view, item.pod, item.container) if trust else {}
            if astray:  # the client points at a file its volume no longer has
                del finding.facts["bundle"]
                finding.facts.update(astray)
                finding.explanation += (
                    f"; but {astray['ca_env']}={astray['ca_path']} names a file ConfigMap "
                    f"{astray['ca_source']} does not hold (it holds {astray['ca_files']}): the "
                    "app loads no extra CA")
            elif trust and kind == "ConfigMap":  # what to change: the bundle, not the client
                _blame_bundle(finding, ObjectRef("ConfigMap", meta(item.pod).get("namespace"),
                                                 name), target)
    return finding


def _secret_vars(view: ClusterView, item: Said, finding: Finding, secret: str) -> None:
    """The env variables the Secret sets, and a neighbour that takes the same one from another
    Secret (the rotated key lives there)."""
    names = secret_vars(item.pod, item.container, secret)
    if not names:
        return
    finding.explanation += f" (env {', '.join(names)})"
    sibling = next((found for var in names
                    if (found := sibling_secret(view, item.pod, var, secret))), None)
    if sibling:
        finding.facts["other_secret"], finding.facts["other_workload"] = sibling[1], sibling[0]
        finding.explanation += (f"; {sibling[0]}, in the same namespace, takes "
                                f"{names[0]} from Secret {sibling[1]} instead")


def _blame_bundle(finding: Finding, bundle: ObjectRef, server: str | None) -> None:
    """A client that does not trust its server's certificate, with its CA bundle mounted from
    a ConfigMap: the bundle lacks the CA that signs the server's certificate now (a re-keyed
    or new CA, a copy not re-synced). The ConfigMap is what to fix."""
    finding.related.insert(0, finding.object)
    finding.object = str(bundle)
    finding.summary = f"configmap {bundle.name}: lacks the CA its clients need"
    finding.explanation += (f"; ConfigMap {bundle.name} does not hold the CA that signs the "
                            f"certificate {server or 'the server'} presents (unknown authority):"
                            " the CA was re-keyed or replaced and this copy of the bundle was "
                            "not updated")
    client = ObjectRef.parse(finding.related[0])
    finding.facts.update({"client": finding.related[0], "client_name": client.name,
                          "client_target": f"{client.kind.lower()}/{client.name}"})


def _claim_at(pod: Obj, path: str) -> str | None:
    """The claim a pod mounts at (or above) a path."""
    claims = {v.get("name"): v["persistentVolumeClaim"].get("claimName")
              for v in (pod.get("spec") or {}).get("volumes") or []
              if v.get("persistentVolumeClaim")}
    for container in _all_containers(pod):
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") in claims and path.startswith(mount.get("mountPath") or "~"):
                return f"PersistentVolumeClaim/{meta(pod).get('namespace')}/" \
                    f"{claims[mount['name']]}"
    return None


def _claims(pod: Obj) -> set[str]:
    return {v["persistentVolumeClaim"].get("claimName")
            for v in (pod.get("spec") or {}).get("volumes") or []
            if v.get("persistentVolumeClaim")}


def _only_claim(pod: Obj) -> str | None:
    claims = _claims(pod)
    return str(ObjectRef("PersistentVolumeClaim", meta(pod).get("namespace"), claims.pop())) \
        if len(claims) == 1 else None


def claim_of(item: Said, view: ClusterView | None = None) -> str | None:
    """The PersistentVolumeClaim a full or read-only file system belongs to: the one mounted
    where the log line writes, else the pod's only claim."""
    if item.category != "storage_full":
        return None
    pod = item.pod
    if item.match.signature.id == "es-disk-watermark" and view is not None:  # a master's log
        pod = view.find("Pod", item.match.groups[1], meta(pod).get("namespace")) or pod
        if pod is not item.pod:  # names the data node whose disk it is, and where
            return _claim_at(pod, item.match.groups[2]) or _only_claim(pod)
    sibling = _sibling_named(item, view) if view is not None else None
    if sibling is not None:  # a cluster's node logs the alarm of the member whose disk it is
        return _only_claim(sibling)
    spec = pod.get("spec") or {}
    claims = {v.get("name"): v["persistentVolumeClaim"].get("claimName")
              for v in spec.get("volumes") or [] if v.get("persistentVolumeClaim")}
    if not claims:
        return None
    namespace = meta(item.pod).get("namespace")
    for container in _all_containers(item.pod):
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") in claims and mount.get("mountPath") and \
                    mount["mountPath"] in item.match.line:
                return str(ObjectRef("PersistentVolumeClaim", namespace, claims[mount["name"]]))
    if len(set(claims.values())) == 1:
        return str(ObjectRef("PersistentVolumeClaim", namespace, next(iter(claims.values()))))
    return None


def tls_ingress(item: Said, view: ClusterView) -> str | None:
    """The Ingress whose spec.tls names the Secret an ingress controller cannot find: what to
    fix (the Secret name it should name, or the certificate that should create it)."""
    if item.match.signature.id != "ingress-cert-missing" or len(item.match.groups) < 2:
        return None
    namespace, secret = item.match.groups[0], item.match.groups[1]
    ingress = next((i for i in view.everywhere("Ingress") if meta(i).get("namespace") ==
                    namespace and any(t.get("secretName") == secret
                           for t in (i.get("spec") or {}).get("tls") or [])), None)
    return str(ObjectRef.of("Ingress", ingress)) if ingress is not None else None


def _sibling_named(item: Said, view: ClusterView) -> Obj | None:
    """The other pod of the same workload that the line names (RabbitMQ's `disk resource limit
    alarm set on node 'rabbit@rabbitmq-server-1...'`, logged by every node of the cluster)."""
    namespace = meta(item.pod).get("namespace")
    owner = workload_ref(view, item.pod)
    return next((p for p in view.items("Pod", namespace) if p is not item.pod
                 and re.search(rf"\b{re.escape(meta(p)['name'])}\b(?!-)", item.match.line)
                 and workload_ref(view, p) == owner), None)


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _restarted(pod: Obj, container: str) -> bool:
    """Whether the previous log is recent news: the container has restarted and is not yet
    settled (a restart long ago, followed by a healthy run, is history)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return not status.get("ready", True)
    return False


def cert_volume(pod: Obj, container: str, line: str, trust: bool) -> tuple[str, str] | None:
    """(kind, name) of the Secret or ConfigMap volume a container mounts that holds its
    certificate (or, with `trust`, its CA bundle): the one whose mount path the log line names,
    else one whose name says tls, cert or ca."""
    spec = pod.get("spec") or {}
    sources: dict[str, tuple[str, str]] = {}
    for volume in spec.get("volumes") or []:
        if volume.get("secret"):
            sources[volume.get("name")] = ("Secret", volume["secret"].get("secretName", ""))
        elif volume.get("configMap"):
            sources[volume.get("name")] = ("ConfigMap", volume["configMap"].get("name", ""))
    ordered = sorted(_all_containers(pod), key=lambda c: c.get("name") != container)
    mounts = [m for c in ordered for m in c.get("volumeMounts") or [] if m.get("name") in sources]
    for mount in mounts:
        if mount.get("mountPath") and mount["mountPath"] in line:
            return sources[mount["name"]]
    words = ("ca", "bundle", "trust", "root") if trust else ("tls", "cert", "ssl", "keypair")
    for mount in mounts:
        name = f"{mount.get('name')} {sources[mount['name']][1]} {mount.get('mountPath')}".lower()
        tokens = set(re.split(r"[^a-z]+", name))
        if any(w in tokens or (len(w) > 2 and w in name) for w in words):
            return sources[mount["name"]]
    return None


def _all_containers(pod: Obj) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
