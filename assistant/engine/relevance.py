"""What bears on a target: the target, its pods and owners, and the objects around it (the
Services that select its pods, the Ingresses that route to them and the ingress controller
that says it cannot serve one, the autoscaler that scales it, the nodes its pods run on, the
claims they mount, the NetworkPolicies that select them).
"""

from __future__ import annotations

from tools import Obj
from tools.ownership import owns, selected_pods
from tools.refs import ObjectRef
from tools.selectors import matches_selector
from tools.summaries import meta

from ..diagnosis import Target
from .ingresses import backends, complaining
from .pod_issues import pod_ref
from .view import ClusterView
from .workloads import pod_claims, workload_ref


def target_pods(view: ClusterView, target: Target) -> list[Obj]:
    """The pods a target stands for: itself, its workload's, a Service's or an HPA's, the
    ones a node runs, the ones a Job or ReplicaSet owns (a CronJob's run, a Deployment's
    revision: the alert names the run, the pods answer for it), an Ingress's backends'."""
    ns = target.namespace
    if target.kind in ("Job", "ReplicaSet"):
        return [p for p in view.items("Pod", ns) if owns(target.kind, target.name, p)] + (
            spawned(view, _run_of(view, target)) if target.kind == "Job" else [])
    if target.kind == "Pod":
        pod = view.find("Pod", target.name, ns)
        return [pod] if pod is not None else []
    if target.kind == "Service":
        service = view.find("Service", target.name, ns)
        return selected_pods(service, view.items("Pod", ns)) if service else []
    if target.kind == "Ingress":  # the pods behind the Services it routes to
        ingress = next((i for i in view.everywhere("Ingress") if meta(i)["name"] == target.name
                        and meta(i).get("namespace") == ns), None)
        services = [s for name in (backends(ingress) if ingress else set())
                    if (s := view.find("Service", name, ns)) is not None]
        return [p for s in services for p in selected_pods(s, view.items("Pod", ns))]
    if target.kind == "PersistentVolumeClaim":
        return [p for p in view.items("Pod", ns) if target.name in pod_claims(p)]
    if target.kind == "Node":  # "is node X bad?": the pods it runs answer for it
        return [p for p in view.items("Pod") if (p.get("spec") or {}).get("nodeName")
                == target.name]
    if target.kind == "HorizontalPodAutoscaler":
        hpa = view.find("HorizontalPodAutoscaler", target.name, ns)
        scaled = ((hpa or {}).get("spec") or {}).get("scaleTargetRef") or {}
        target = Target(kind=scaled.get("kind", "Deployment"), namespace=ns,
                        name=scaled.get("name", ""))
    return [p for p in view.items("Pod", ns) if workload_ref(view, p) == target.ref] + (
        spawned(view, target) if target.kind == "CronJob" else [])


def _run_of(view: ClusterView, job: Target) -> Target:
    """The CronJob a Job is a run of (its pods' own children are named after the CronJob),
    else the Job."""
    owner = next((o for o in meta(view.find("Job", job.name, job.namespace) or {}).get(
        "ownerReferences") or [] if o.get("kind") == "CronJob"), None)
    return Target(kind="CronJob", namespace=job.namespace, name=str(owner["name"])) \
        if owner else job


def spawned(view: ClusterView, target: Target) -> list[Obj]:
    """The pods a run creates itself, owned by nothing it owns: named after it (spark-submit's
    driver `sessionize-nightly-5f2e...-driver`), and the pods those own (its executors)."""
    pods = view.items("Pod", target.namespace)
    roots = {meta(p)["name"] for p in pods if not meta(p).get("ownerReferences")
             and meta(p)["name"].startswith(f"{target.name}-")}
    return [p for p in pods if meta(p)["name"] in roots or any(
        o.get("kind") == "Pod" and o.get("name") in roots
        for o in meta(p).get("ownerReferences") or [])] if roots else []


def neighbourhood(view: ClusterView, target: Target) -> set[str]:
    """Object refs whose findings answer a question about `target`."""
    pods = target_pods(view, target)
    ns = target.namespace
    refs = {target.ref}
    for pod in pods:
        refs |= {pod_ref(pod), workload_ref(view, pod)}
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            refs.add(str(ObjectRef("Node", None, node)))
        refs |= {str(ObjectRef("PersistentVolumeClaim", ns, claim)) for claim in pod_claims(pod)}
    labels = [meta(p).get("labels") or {} for p in pods]
    names = {ObjectRef.parse(ref).name for ref in refs if not ref.startswith("Pod/")}
    for service in view.items("Service", ns):
        selector = (service.get("spec") or {}).get("selector") or {}
        named_alike = meta(service)["name"] in names  # meant for it, even if it selects nothing
        if named_alike or selector and any(
                matches_selector({"matchLabels": selector}, lab) for lab in labels):
            refs.add(str(ObjectRef("Service", ns, meta(service)["name"])))
    if target.kind == "Service":
        refs |= {workload_ref(view, p) for p in pods}
    served = {ObjectRef.parse(ref).name for ref in refs if ref.startswith("Service/")}
    ingresses = [i for i in view.everywhere("Ingress")
                 if meta(i).get("namespace") == ns and backends(i) & served]
    refs |= {str(ObjectRef("Ingress", ns, meta(i)["name"])) for i in ingresses}
    refs |= {workload_ref(view, p) for p in complaining(view, ingresses)}  # the way in
    for hpa in view.items("HorizontalPodAutoscaler", ns):
        scaled = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if str(ObjectRef(str(scaled.get("kind")), ns, str(scaled.get("name")))) in refs:
            refs.add(str(ObjectRef("HorizontalPodAutoscaler", ns, meta(hpa)["name"])))
    for policy in view.items("NetworkPolicy", ns):
        selector = (policy.get("spec") or {}).get("podSelector") or {}
        if any(matches_selector(selector, lab) for lab in labels):
            refs.add(str(ObjectRef("NetworkPolicy", ns, meta(policy)["name"])))
    return refs
