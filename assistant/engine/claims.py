"""The PersistentVolumeClaim behind a workload that fails to write: which claim it is (the one
mounted where the log line writes, else the pod's only one), and what resizing it rests on (its
size, whether its StorageClass lets it grow)."""

from __future__ import annotations

from tools import Obj
from tools.refs import ObjectRef
from tools.summaries import meta

from ..diagnosis import Finding
from .pod_issues import pod_ref
from .view import ClusterView


def full_claims(view: ClusterView, findings: list[Finding]) -> list[Finding]:
    """The PersistentVolumeClaims behind workloads that crash on a full or read-only file
    system: the claim mounted where the log line writes, else the pod's only claim."""
    found: dict[str, Finding] = {}
    known = {f.object for f in findings}
    for finding in [f for f in findings if f.category == "storage_full"
                    and not f.object.startswith("PersistentVolumeClaim/")]:
        lines = " ".join(e.detail for e in finding.evidence)
        for pod in (p for p in view.items("Pod") if pod_ref(p) in finding.related):
            claim = _claim_written(pod, lines)
            ref = str(ObjectRef("PersistentVolumeClaim", meta(pod).get("namespace"), str(claim)))
            if claim is None or ref in known or ref in found:
                continue
            found[ref] = Finding(
                category="storage_full", object=ref, summary=f"pvc {claim}: writes fail",
                explanation=(f"the volume of PersistentVolumeClaim {claim}, mounted by "
                             f"{pod_ref(pod)}, is full or read-only: {finding.explanation}"),
                evidence=finding.evidence[:3], confidence=finding.confidence,
                impact=finding.impact, related=[pod_ref(pod)])
            found[ref].facts = {"claim": claim}
    return list(found.values())


def _claim_written(pod: Obj, lines: str) -> str | None:
    spec = pod.get("spec") or {}
    claims = {v.get("name"): v["persistentVolumeClaim"].get("claimName")
              for v in spec.get("volumes") or [] if v.get("persistentVolumeClaim")}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for mount in container.get("volumeMounts") or []:
            path = mount.get("mountPath")
            if mount.get("name") in claims and path and path != "/" and path in lines:
                return str(claims[mount["name"]])
    return str(next(iter(claims.values()))) if len(set(claims.values())) == 1 else None


def claim_facts(view: ClusterView, namespace: str, name: str) -> dict[str, str]:
    """A claim's size and whether its StorageClass lets it grow (what "grow it" rests on)."""
    claim = view.find("PersistentVolumeClaim", name, namespace) or {}
    size = ((claim.get("status") or {}).get("capacity") or {}).get("storage") or (
        ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    class_name = (claim.get("spec") or {}).get("storageClassName") or ""
    storage_class = view.find("StorageClass", class_name) if class_name else None
    grows = "" if storage_class is None else (
        "true" if storage_class.get("allowVolumeExpansion") else "false")
    return {"capacity": str(size or ""), "storage_class": class_name, "expandable": grows}
