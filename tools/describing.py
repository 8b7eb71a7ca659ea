"""Compact forms of objects for tool results: one line per object, a Service with its endpoints
and the pods it selects, and what an object refers to (what it mounts, selects or scales)."""

from __future__ import annotations

from .kinds import WORKLOAD_KINDS
from .reading import Obj
from .results import ServiceSummary
from .summaries import (
    event_summary,
    meta,
    node_summary,
    pod_summary,
    pod_template,
    workload_summary,
)


def service_summary(service: Obj, endpoints: Obj | None, known: bool,
                    pods: list[Obj]) -> ServiceSummary:
    m, spec = meta(service), service.get("spec") or {}
    selector = spec.get("selector") or {}
    ready: list[str] = []
    not_ready: list[str] = []
    for subset in (endpoints or {}).get("subsets") or []:
        subset_ports = ",".join(str(p.get("port")) for p in subset.get("ports") or [])
        for address in subset.get("addresses") or []:
            ready.append(_address(address, subset_ports))
        for address in subset.get("notReadyAddresses") or []:
            not_ready.append(_address(address, subset_ports))
    matching = [
        meta(p)["name"] for p in pods
        if selector and all((meta(p).get("labels") or {}).get(k) == v for k, v in selector.items())
    ]
    ports = [f"{p.get('port')}->{p.get('targetPort', p.get('port'))}/{p.get('protocol', 'TCP')}"
             for p in spec.get("ports") or []]
    return ServiceSummary(
        namespace=m.get("namespace", ""), name=m["name"], type=spec.get("type", "ClusterIP"),
        selector=selector, ports=ports, ready=ready, not_ready=not_ready,
        endpoints_known=known, matching_pods=matching)


def _address(address: Obj, ports: str) -> str:
    target = (address.get("targetRef") or {}).get("name")
    return f"{address.get('ip')}:{ports}" + (f" ({target})" if target else "")


def references(kind: str, obj: Obj) -> list[str]:
    refs: list[str] = []
    spec = obj.get("spec") or {}
    if kind == "Pod" or kind in WORKLOAD_KINDS:
        pod_spec = spec if kind == "Pod" else pod_template(kind, obj)
        if pod_spec.get("nodeName"):
            refs.append(f"Node/{pod_spec['nodeName']}")
        for volume in pod_spec.get("volumes") or []:
            if "configMap" in volume:
                refs.append(f"ConfigMap/{volume['configMap'].get('name')}")
            if "secret" in volume:
                refs.append(f"Secret/{volume['secret'].get('secretName')} (name only)")
            if "persistentVolumeClaim" in volume:
                refs.append(f"PersistentVolumeClaim/{volume['persistentVolumeClaim']['claimName']}")
        for container in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    refs.append(f"ConfigMap/{source['configMapRef'].get('name')}")
                if "secretRef" in source:
                    refs.append(f"Secret/{source['secretRef'].get('name')} (name only)")
            for env in container.get("env") or []:
                value_from = env.get("valueFrom") or {}
                if "configMapKeyRef" in value_from:
                    ref = value_from["configMapKeyRef"]
                    refs.append(f"ConfigMap/{ref.get('name')} key {ref.get('key')}")
                if "secretKeyRef" in value_from:
                    ref = value_from["secretKeyRef"]
                    refs.append(f"Secret/{ref.get('name')} key {ref.get('key')} (name only)")
        for secret in pod_spec.get("imagePullSecrets") or []:
            refs.append(f"Secret/{secret.get('name')} (image pull, name only)")
    if kind in ("Service", "NetworkPolicy", "PodDisruptionBudget"):
        selector = spec.get("selector") or spec.get("podSelector") or {}
        labels = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
        refs.append("selects " + (",".join(f"{k}={v}" for k, v in labels.items()) or "all pods"))
    if kind == "PersistentVolumeClaim":
        refs.append(f"StorageClass/{spec.get('storageClassName') or '(default)'}")
        if spec.get("volumeName"):
            refs.append(f"PersistentVolume/{spec['volumeName']}")
    return list(dict.fromkeys(refs))


def hpa_line(hpa: Obj) -> str:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    target = spec.get("scaleTargetRef") or {}
    problems = [f"{c.get('type')}={c.get('status')} ({c.get('reason')}: {c.get('message')})"
                for c in status.get("conditions") or []
                if (c.get("type"), c.get("status")) in
                (("AbleToScale", "False"), ("ScalingActive", "False"), ("ScalingLimited", "True"))]
    return (f"hpa {meta(hpa)['name']} -> {target.get('kind')}/{target.get('name')}: "
            f"{status.get('currentReplicas', '?')} current, {status.get('desiredReplicas', '?')} "
            f"desired, min {spec.get('minReplicas', 1)} max {spec.get('maxReplicas')}"
            + (f"; {'; '.join(problems)}" if problems else ""))


def one_line(kind: str, obj: Obj) -> str:
    """A one-line status of any object, for listings."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Pod":
        return pod_summary(obj).line()
    if kind in WORKLOAD_KINDS:
        return workload_summary(kind, obj).line()
    if kind == "Node":
        return node_summary(obj).line()
    if kind == "Event":
        return event_summary(obj).line()
    if kind == "HorizontalPodAutoscaler":
        return hpa_line(obj)
    if kind == "ConfigMap":
        return f"keys: {', '.join(sorted(obj.get('data') or {})) or 'none'}"
    if kind == "PersistentVolume":
        claim = spec.get("claimRef") or {}
        return (f"{meta(obj)['name']}: {status.get('phase', '?')}, class "
                f"{spec.get('storageClassName') or '(none)'}, capacity "
                f"{(spec.get('capacity') or {}).get('storage')}, claim "
                f"{claim.get('namespace', '-')}/{claim.get('name', '-')}")
    if kind == "StorageClass":
        default = (meta(obj).get("annotations") or {}).get(
            "storageclass.kubernetes.io/is-default-class") == "true"
        return f"{meta(obj)['name']}: provisioner {obj.get('provisioner')}" + (
            " (default)" if default else "")
    if kind == "ResourceQuota":
        hard, used = status.get("hard") or spec.get("hard") or {}, status.get("used") or {}
        return f"quota {meta(obj)['name']}: " + ", ".join(
            f"{k} {used.get(k, '?')}/{v}" for k, v in sorted(hard.items()))
    if kind == "LimitRange":
        return f"limitrange {meta(obj)['name']}: " + "; ".join(
            f"{i.get('type')} default {i.get('default')} max {i.get('max')}"
            for i in spec.get("limits") or [])
    if kind == "Ingress":
        routes = []
        for rule in spec.get("rules") or []:
            for path in ((rule.get("http") or {}).get("paths")) or []:
                backend = path.get("backend") or {}
                svc = backend.get("service") or {}
                name = svc.get("name") or backend.get("serviceName")
                port = (svc.get("port") or {}).get("number") or backend.get("servicePort")
                routes.append(f"{rule.get('host', '*')}{path.get('path', '/')} -> {name}:{port}")
        return f"ingress {meta(obj)['name']}: " + ("; ".join(routes) or "no rules")
    if kind == "NetworkPolicy":
        selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
        types = spec.get("policyTypes") or ["Ingress"]
        rules = len(spec.get("ingress") or []), len(spec.get("egress") or [])
        return (f"networkpolicy {meta(obj)['name']}: selects "
                f"{','.join(f'{k}={v}' for k, v in selector.items()) or 'all pods'}, types "
                f"{'/'.join(types)}, {rules[0]} ingress and {rules[1]} egress rules")
    if kind == "Service":
        return f"type {spec.get('type', 'ClusterIP')}, selector {spec.get('selector') or {}}"
    phase = status.get("phase")
    return f"phase {phase}" if phase else "present"
