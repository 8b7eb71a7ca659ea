"""What a question or a target is about: a workload, a pod, a namespace, or the whole cluster.

Resolves near-miss names ("no workload named chekout; the closest is checkout") and alert text
("KubePodCrashLooping ... pod=X namespace=Y").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from knowledge import alert_labels as semantics
from tools import Cluster, Forbidden, Kind, KindUnavailable, NotFound, Toolbox, parse_kind
from tools.summaries import meta

from ..diagnosis import Target
from .alert_subjects import consumer_of, proxied
from .naming import (
    STOP,
    TYPO,
    dotted,
    first_named,
    joined,
    part_named,
    several,
    software_homes,
    spelled_homes,
    typo_of,
)

_LABEL_SHAPES = (  # key="value" (PromQL, Alertmanager's default text), "• *key:* `value`" (the
    # kube-prometheus-stack Slack template), "- key = value" (Alertmanager's plain template)
    re.compile(r"\b([a-z_]+)=\"?([\w.@-]+(?::\d+)?)\"?"),
    re.compile(r"^\s*[-•*]\s*\*?([a-z_]+):?\*?:?\s*`([\w.@-]+(?::\d+)?)`", re.MULTILINE),
    re.compile(r"^\s*-\s*([a-z_]+)\s*=\s*([\w.@-]+(?::\d+)?)\s*$", re.MULTILINE),
)
# `deployment/checkout`; never a URL's path (`mimir-nginx.mimir.svc/api/v1/push`)
_KIND_NAME = re.compile(r"(?<![\w./:-])([a-zA-Z]+)/([a-z0-9][a-z0-9.-]*)\b")
_NS_WORDS = re.compile(  # a lookahead, so "in namespace shop" yields "namespace" and "shop"
    r"(?=\b(?:namespace|ns|in)\s+[`\"']?([a-z0-9][a-z0-9-]*))", re.I)
_NS_AFTER = re.compile(r"\b([a-z0-9][a-z0-9-]*)[`\"']?\s+(?:ns|namespace)\b", re.I)  # "payments ns"


_FINE = re.compile(r"\b([a-z0-9][a-z0-9-]*[a-z0-9])\s+(?:(?:is\s+)?still\s+)?"
                   r"(?:works?|working|is\s+(?:fine|ok|okay|up|healthy|green)|"
                   r"(?:ran|runs|finished|completed|succeeded)\s+(?:fine|ok|okay|normally|"
                   r"just\s+fine|on\s+time|successfully)|"
                   r"(?:is\s+)?[a-z]+ing\s+(?:fine|ok|okay|normally|just fine)|"
                   r"looks?\s+(?:fine|ok|okay|healthy|green)|"
                   r"(?:is\s+)?(?:all|only|just)\s+2\d\ds|(?:returns?|answers?|gives?)\s+"
                   r"(?:all\s+|only\s+)?2\d\ds?|"
                   r"(?:[a-z]+\s+){1,6}?and\s+(?:still\s+)?works?\s+(?:fine|ok|okay|normally))\b")
# (the last: "thumbnailer uses the same bucket and works fine": the one that works)


@dataclass
class Scope:
    namespaces: list[str]  # what to load
    target: Target | None  # None: the whole namespace(s)
    note: str | None = None  # e.g. "no workload named chekout; the closest is checkout"
    unknown: str | None = None  # set when the question names something that does not exist
    guessed: str | None = None  # the target is the closest name to this word, not the word
    partial: bool = False  # the target's name contains the word the question used, and more


def resolve(cluster: Cluster, question: str, target: str | None,
            namespace: str | None) -> Scope:
    """The scope of a diagnosis from an explicit target, else from the question's words."""
    box = Toolbox(cluster)
    known = cluster.namespaces()
    if namespace and namespace not in known:
        return Scope([], None, unknown=_unknown_namespace(namespace, known))
    text = question or ""
    labels = alert_labels(text)
    namespace = namespace or semantics.namespace(labels)
    said_ns = None  # a namespace the question names as such ("namespace X", "X ns")
    if not namespace:
        for word in [*_NS_WORDS.findall(text), *_NS_AFTER.findall(text)]:
            if word in known:
                namespace = said_ns = word
    if target:
        return _explicit(box, known, target, namespace)
    named = consumer_of(box, semantics.consumer(labels)) or proxied(box, known, labels)
    if named is not None:  # a lag alert from the broker's exporter: about its consumer; a
        return Scope([named.namespace or ""], named)  # proxy's: the Service it routes to
    about = semantics.subject(labels)
    if about:
        return _labelled(box, known, about, namespace)
    explicit = _KIND_NAME.search(text)
    if explicit and parse_kind(explicit.group(1)):
        return _explicit(box, known, explicit.group(0), namespace)
    tokens = re.findall(r"[a-z0-9][a-z0-9-]*[a-z0-9]", _noise().sub(" ", text).lower())
    node = _node_named(box.cluster, tokens)
    if node is not None:  # "is aks-nodepool1-...-vmss000003 ok?"
        return _explicit(box, known, f"node/{node}", None)
    mentioned = sorted({w for w in tokens if w in known} - dotted(text, known))
    fine = set(_FINE.findall(text.lower()))  # "kibana still works": not what is asked about
    words = list(dict.fromkeys(w for w in tokens if w not in STOP and w not in known
                               and len(w) > 2 and w not in fine))
    for first, pair in reversed(joined(box, tokens, namespace)):  # "order worker" is
        at = words.index(first) if first in words else len(words)  # order-worker, where
        words.insert(at, pair)  # the question says it
    if semantics.is_alert(labels):  # an exporter's alert is about what it exports: the
        words = [stem for w in words for stem in (  # workload it is named after first
            (w.removesuffix("-exporter"), w) if w.endswith("-exporter") else (w,))]
    specific = {w: x for w in words for x in words if x.startswith(f"{w}-")}  # "trino ...
    words = list(dict.fromkeys(x for w in words for x in (  # trino-worker hpa": the more
        (specific[w], w) if w in specific else (w,))))  # specific name first
    asked = [m.lower() for m in _ABOUT.findall(text)]  # "what's wrong with keycloak": the
    words = [w for w in words if w in asked] + [w for w in words if w not in asked]  # subject
    named_ns = [*mentioned, *([namespace] if namespace else [])]
    words = [w for w in words if not typo_of(w, named_ns)]  # "paymnts api ... payments ns"
    best_found = None
    if not namespace and len(mentioned) == 1:  # "checkout team: cart requests time out"
        best_found = first_named(box, words, mentioned[0], fine=fine)
        other = None if best_found else (first_named(box, words, None, exact=True)
                                         or part_named(box, words))
        if other is not None and other[1].namespace and other[1].kind != "Namespace":
            # two subjects ("checkout throws 503 and loki-2 is Pending too"): both namespaces
            # (and those of every other name it spells: "grafana shows nothing from loki"),
            # and the answer leads with whichever problem hurts more
            return Scope(sorted({mentioned[0], other[1].namespace,
                                 *spelled_homes(box, words)}), None)
        software = None if best_found else software_homes(box, words)
        if software is not None and software[1] - {mentioned[0]}:  # "flink checkpoints fail
            return Scope(sorted({mentioned[0], *software[1]}), None)  # and nextcloud ..."
        namespace = mentioned[0]
    else:
        best_found = first_named(box, words, namespace, fine=fine)
    scope_ns = [namespace] if namespace else known
    if best_found is not None:
        word, best, matches = best_found
        if best.kind == "Namespace":
            return Scope([best.name], None)
        if said_ns and best.score < 100 and word in best.name.split("-"):
            return Scope([said_ns], None)  # "payments ns ... settlement file": the namespace
        if several(word, best, matches):  # "magento pods": magento-web, magento-consumers
            return Scope([best.namespace or ""], None)
        ref = Target(kind=best.kind, namespace=best.namespace, name=best.name)
        note = guessed = None
        if best.score < 100 and word not in best.name.split("-") and \
                best.name != f"{word}s":  # "order" asks for orders
            note = f"no workload named {word}; the closest is {best.name}"
            guessed = word if best.score < TYPO else None  # "red": redis is a weak guess
        twins = sorted({m.namespace or "" for m in matches if m.kind == best.kind
                        and m.name == best.name and m.namespace != best.namespace})
        if twins and not _runs(box, best.kind, best.name, best.namespace):  # the copy left
            running = [ns for ns in twins if _runs(box, best.kind, best.name, ns)]  # at 0
            if running:  # after a move is not what a question about failures means
                twins = sorted({*twins, best.namespace or ""} - {running[0]})
                ref = Target(kind=best.kind, namespace=running[0], name=best.name)
                best = next(m for m in matches if m.kind == best.kind and m.name == best.name
                            and m.namespace == running[0])
        if twins:
            note = (f"{best.kind} {best.name} also exists in namespace "
                    f"{', '.join(twins)}; this answer is about {best.namespace} "
                    "(name one with -n or \"in NAMESPACE\")")
        return Scope([best.namespace or ""], ref, note=note, guessed=guessed,
                     partial=best.name not in (word, f"{word}s"))
    software = None if mentioned or namespace else software_homes(box, words)
    if len(mentioned) > 1 and (namespace is None or namespace in mentioned):
        scope_ns = mentioned  # "anything broken in app or batch?"
    elif namespace:
        scope_ns = [namespace]
    elif software is not None:  # "paged about flink": the pods that run it
        scope_ns = sorted(software[1])
    scope = Scope(scope_ns, None)
    scope.note = _absent_kind(box.cluster, text, scope.namespaces)
    return scope


_ABOUT = re.compile(r"\b(?:wrong|up|going on|happening|the matter|the problem|the issue)\s+"
                    r"with\s+(?:the\s+|my\s+|our\s+)?([a-z0-9][a-z0-9-]*[a-z0-9])", re.I)


def _runs(box: Toolbox, kind: str, name: str, namespace: str | None) -> bool:
    """Whether a workload asks for any replica (a Deployment scaled to 0 after a move does not)."""
    try:
        obj = box.cluster.get(kind, name, namespace)  # type: ignore[arg-type]
    except (Forbidden, KindUnavailable, NotFound):  # unreadable: count it as running
        return True
    replicas = (obj.get("spec") or {}).get("replicas")
    return replicas is None or int(replicas) > 0


def _node_named(cluster: Cluster, tokens: list[str]) -> str | None:
    """The node a question names by its full name, or by its host name without the domain
    (ip-10-0-2-77 for ip-10-0-2-77.eu-central-1.compute.internal): node names are long and
    specific, so no other partial match is a node's name."""
    words = set(tokens[:64])
    try:
        return next((n for n in (meta(o)["name"] for o in cluster.list("Node"))
                     if n in words or ("." in n and n.split(".")[0] in words)), None)  # short
    except (Forbidden, KindUnavailable, NotFound):
        return None


def alert_labels(text: str) -> dict[str, str]:
    """The labels an alert (or a person) writes into a question, in any of the usual shapes."""
    labels: dict[str, str] = {}
    for shape in _LABEL_SHAPES:
        for key, value in shape.findall(text):
            labels.setdefault(key.lower(), value)
    return labels


def _node_at(cluster: Cluster, address: str) -> str:
    """The node an exporter's scrape address (`10.0.0.12:9100`) belongs to, by its addresses;
    the address itself when no node has it."""
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    try:
        nodes = cluster.list("Node")
    except (Forbidden, KindUnavailable, NotFound):
        return address
    return next((meta(n)["name"] for n in nodes if meta(n)["name"] == host or any(
        a.get("address") == host for a in (n.get("status") or {}).get("addresses") or [])),
        address)


def _labelled(box: Toolbox, known: list[str], about: semantics.Subject,
              namespace: str | None) -> Scope:
    """The scope of the object an alert's labels name. When it is gone (a pod replaced since the
    alert fired), its namespace is still where to look, and the note says so."""
    name = _node_at(box.cluster, about.name) if about.kind == "Node" else about.name
    scope = _explicit(box, known, f"{about.kind}/{name}", namespace)
    if scope.unknown and namespace and namespace in known and about.namespace:
        return Scope([namespace], None, note=f"{scope.unknown} (gone since the alert fired?); "
                     f"looking at namespace {namespace}")
    return scope


@cache
def _noise() -> re.Pattern[str]:
    """Parts of an alert that name the monitoring system, not the object: links, and the lines
    of labels that say which Prometheus, scrape job, target or receiver reported it."""
    names = "|".join(re.escape(label) for label in semantics.definitions().monitoring)
    return re.compile(rf"<?https?://\S+|^\s*[-•*]\s*\*?(?:{names})\b.*$",
                      re.MULTILINE | re.IGNORECASE)


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
        spaces = _homes_on(box.cluster, best.name, known) if kind == "Node" else \
            [best.namespace or ""]
        return Scope(spaces, Target(kind=kind, namespace=best.namespace, name=best.name), note)
    where = f" in namespace {namespace}" if namespace else ""
    return Scope([], None, unknown=f"no {kind} named {name}{where}")


def _homes_on(cluster: Cluster, node: str, known: list[str]) -> list[str]:
    """The namespaces of the pods a node runs (those the caller may read), else all of them."""
    try:
        pods = cluster.list("Pod", None, fields=f"spec.nodeName={node}")
    except (Forbidden, KindUnavailable, NotFound):
        return known
    return sorted({meta(p).get("namespace") or "" for p in pods} & set(known)) or known


def _unknown_namespace(name: str, known: list[str]) -> str:
    from rapidfuzz import process

    best = process.extractOne(name, known) if known else None
    hint = f"; the closest is {best[0]}" if best and best[1] >= 60 else ""
    return f"no namespace named {name}{hint}"
