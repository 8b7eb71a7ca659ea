"""What a question or a target is about: a workload, a pod, a namespace, or the whole cluster.

Resolves near-miss names ("no workload named chekout; the closest is checkout") and alert text
("KubePodCrashLooping ... pod=X namespace=Y").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools import Cluster, Forbidden, Kind, KindUnavailable, NotFound, Toolbox, parse_kind

from ..diagnosis import Target

_LABEL = re.compile(r"\b(pod|namespace|deployment|statefulset|daemonset|job|cronjob|service|"
                    r"container|node)=\"?([\w.-]+)\"?")
_KIND_NAME = re.compile(r"\b([a-zA-Z]+)/([a-z0-9][a-z0-9.-]*)\b")
_NS_WORDS = re.compile(  # a lookahead, so "in namespace shop" yields "namespace" and "shop"
    r"(?=\b(?:namespace|ns|in)\s+[`\"']?([a-z0-9][a-z0-9-]*))", re.I)
_STOP = {"why", "is", "the", "what", "whats", "what's", "going", "on", "in", "namespace", "my",
         "are", "a", "an", "of", "failing", "crashing", "down", "broken", "not", "working", "and",
         "pods", "pod", "with", "wrong", "happening", "show", "me", "its", "it", "to", "for",
         "deployment", "service", "job", "cronjob", "keeps", "restarting", "pending", "does",
         "do", "how", "fix", "can", "i", "this", "that", "there", "be", "cluster", "errors",
         "error", "503", "500", "502", "returning", "slow", "healthy", "happened", "did",
         "statefulset", "daemonset", "node", "check", "status", "ok", "okay", "any", "problem",
         "problems", "issue", "issues", "failed", "failure", "firing", "alert", "please",
         "diagnose", "diagnosis", "investigate", "look", "into", "everything"}


@dataclass
class Scope:
    namespaces: list[str]  # what to load
    target: Target | None  # None: the whole namespace(s)
    note: str | None = None  # e.g. "no workload named chekout; the closest is checkout"
    unknown: str | None = None  # set when the question names something that does not exist


def resolve(cluster: Cluster, question: str, target: str | None,
            namespace: str | None) -> Scope:
    """The scope of a diagnosis from an explicit target, else from the question's words."""
    box = Toolbox(cluster)
    known = cluster.namespaces()
    if namespace and namespace not in known:
        return Scope([], None, unknown=_unknown_namespace(namespace, known))
    text = question or ""
    labels = dict((k.lower(), v) for k, v in _LABEL.findall(text))
    if labels.get("namespace") and not namespace:
        namespace = labels["namespace"]
    if not namespace:
        for word in _NS_WORDS.findall(text):
            if word in known:
                namespace = word
    if target:
        return _explicit(box, known, target, namespace)
    for key in ("deployment", "statefulset", "daemonset", "cronjob", "job", "pod", "service"):
        if key in labels:
            return _explicit(box, known, f"{key}/{labels[key]}", namespace)
    explicit = _KIND_NAME.search(text)
    if explicit and parse_kind(explicit.group(1)):
        return _explicit(box, known, explicit.group(0), namespace)
    words = [w for w in re.findall(r"[a-z0-9][a-z0-9-]*[a-z0-9]", text.lower())
             if w not in _STOP and w not in known and len(w) > 2]
    scope_ns = [namespace] if namespace else known
    for word in words:
        found = box.find(word, namespace=namespace)
        if not found.ok or not found.matches:
            continue
        best = found.matches[0]
        if best.kind == "Namespace":
            return Scope([best.name], None)
        ref = Target(kind=best.kind, namespace=best.namespace, name=best.name)
        note = None
        if best.score < 100:
            note = f"no workload named {word}; the closest is {best.name}"
        twins = sorted({m.namespace or "" for m in found.matches if m.kind == best.kind
                        and m.name == best.name and m.namespace != best.namespace})
        if twins:
            note = (f"{best.kind} {best.name} also exists in namespace "
                    f"{', '.join(twins)}; this answer is about {best.namespace} "
                    "(name one with -n or \"in NAMESPACE\")")
        return Scope([best.namespace or ""], ref, note=note)
    scope = Scope([namespace] if namespace else scope_ns, None)
    scope.note = _absent_kind(box.cluster, text, scope.namespaces)
    return scope


_KIND_WORDS: dict[str, Kind] = {
    "ingress": "Ingress", "ingresses": "Ingress", "cronjob": "CronJob", "cronjobs": "CronJob",
    "autoscaler": "HorizontalPodAutoscaler", "hpa": "HorizontalPodAutoscaler",
    "pvc": "PersistentVolumeClaim", "statefulset": "StatefulSet", "daemonset": "DaemonSet",
    "networkpolicy": "NetworkPolicy",
}


def _absent_kind(cluster: Cluster, text: str, namespaces: list[str]) -> str | None:
    """A note when the question asks about a kind the scope has none of, or the cluster lacks."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    for word, kind in _KIND_WORDS.items():
        if word not in words:
            continue
        where = f"namespace {namespaces[0]}" if len(namespaces) == 1 else "the cluster"
        try:
            if any(cluster.list(kind, ns) for ns in namespaces):
                return None
        except KindUnavailable:
            return f"this cluster does not serve {kind} objects"
        except (NotFound, Forbidden):
            return None
        return f"there is no {kind} in {where}; looking at everything else there"
    return None


def _explicit(box: Toolbox, known: list[str], target: str, namespace: str | None) -> Scope:
    kind_text, _, name = target.rpartition("/")
    if not kind_text:
        found = box.find(name, namespace=namespace)
        if found.ok and found.matches:
            best = found.matches[0]
            if best.kind == "Namespace":
                return Scope([best.name], None)
            note = None if best.score >= 100 else (
                f"no workload named {name}; the closest is {best.name}")
            return Scope([best.namespace or ""],
                         Target(kind=best.kind, namespace=best.namespace, name=best.name), note)
        return Scope([], None, unknown=f"nothing named {name}"
                     + (f" in namespace {namespace}" if namespace else ""))
    kind = parse_kind(kind_text)
    if kind is None:
        return Scope([], None, unknown=f"unknown kind {kind_text!r}")
    if kind == "Namespace":
        if name not in known:
            return Scope([], None, unknown=_unknown_namespace(name, known))
        return Scope([name], None)
    try:
        obj = box.cluster.get(kind, name, namespace) if namespace else None
    except NotFound:
        obj = None
    except KindUnavailable as e:
        return Scope([], None, unknown=f"this cluster does not serve {kind} objects ({e})")
    if obj is not None:
        return Scope([namespace or ""], Target(kind=kind, namespace=namespace, name=name))
    found = box.find(name, kind=kind, namespace=namespace)
    if found.ok and found.matches:
        best = found.matches[0]
        note = None if best.score >= 100 else (
            f"no {kind.lower()} named {name}; the closest is {best.name}")
        return Scope([best.namespace or ""],
                     Target(kind=kind, namespace=best.namespace, name=best.name), note)
    where = f" in namespace {namespace}" if namespace else ""
    return Scope([], None, unknown=f"no {kind} named {name}{where}")


def _unknown_namespace(name: str, known: list[str]) -> str:
    from rapidfuzz import process

    best = process.extractOne(name, known) if known else None
    hint = f"; the closest is {best[0]}" if best and best[1] >= 60 else ""
    return f"no namespace named {name}{hint}"
