"""Which objects the words of a question name: a word that is a name or close to one ("chekout"
for checkout), two or three words that together are one ("order worker"), a word that is only
part of several names ("magento"), and the words that name nothing (stop words, a Kafka topic's
`orders.cdc`, a container's name elsewhere)."""

from __future__ import annotations

import re

from tools import Forbidden, KindUnavailable, NotFound, Obj, Toolbox
from tools.results import Match
from tools.summaries import meta

# words that name no object
STOP = {"why", "is", "the", "what", "whats", "what's", "going", "on", "in", "namespace", "my",
        "are", "a", "an", "of", "failing", "crashing", "down", "broken", "not", "working", "and",
        "pods", "pod", "with", "wrong", "happening", "show", "me", "its", "it", "to", "for",
        "deployment", "service", "job", "cronjob", "keeps", "restarting", "pending", "does",
        "do", "how", "fix", "can", "i", "this", "that", "there", "be", "cluster", "errors",
        "error", "503", "500", "502", "returning", "slow", "healthy", "happened", "did",
        "statefulset", "daemonset", "node", "check", "status", "ok", "okay", "any", "problem",
        "problems", "issue", "issues", "failed", "failure", "firing", "alert", "please",
        "diagnose", "diagnosis", "investigate", "look", "into", "everything"}

MAX_WORDS = 12  # words of a question looked up as names
MAX_PAIRS = 6  # pairs of adjacent words looked up as one hyphenated name
_NEAR_NAMESPACE = 90  # a word this close to a namespace's name is a typo of it
TYPO = 85  # a name this close to a word is a typo of it ("chekout"); below, a guess
_CLOSE = 75  # in a namespace the question names, a looser match is a coincidence, not a typo


def joined(box: Toolbox, tokens: list[str], namespace: str | None) -> list[tuple[str, str]]:
    """(first word, name) for two adjacent words that together are an object's whole name
    ("order worker" for order-worker), or three in any order ("celery pdf workers" for
    celery-worker-pdf), looked up for a few windows only."""
    pairs = [(a, f"{a}-{b}") for a, b in zip(tokens, tokens[1:], strict=False)
             if a not in STOP and b not in STOP and len(a) > 2 and len(b) > 2][:MAX_PAIRS]
    found = []
    for first, pair in pairs:
        looked = box.find(pair, namespace=namespace)
        if looked.ok and any(m.name == pair for m in looked.matches):
            found.append((first, pair))
    windows = [(a, b, c) for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False)
               if not {a, b, c} & STOP and min(len(a), len(b), len(c)) > 2
               and not any(first in (a, b) for first, _ in found)][:MAX_PAIRS]
    for a, b, c in windows:
        words = {a, b, c} | {w[:-1] for w in (a, b, c) if w.endswith("s")}  # "workers"
        looked = box.find(f"{a}-{b}-{c}", namespace=namespace)  # "celery pdf workers":
        whole = next((m.name for m in looked.matches if looked.ok  # celery-worker-pdf
                      and len(m.name.split("-")) == 3 and set(m.name.split("-")) <= words),
                     None)
        if whole:
            found.append((a, whole))
    return found


def typo_of(word: str, names: list[str]) -> bool:
    """Whether `word` is a misspelling of one of the namespaces the question names: it means
    that namespace, not the closest workload."""
    from rapidfuzz import fuzz

    return any(fuzz.ratio(word, name) >= TYPO for name in names)


_DOTTED = re.compile(r"(?<![\w.-])([a-z0-9][a-z0-9-]*)((?:\.[a-z0-9][a-z0-9-]*)+)", re.I)
_TLDS = {"com", "net", "org", "io", "eu", "dev", "app", "co", "uk", "de", "fr", "nl", "local",
         "internal", "cloud", "ai", "us", "info", "biz", "me", "tech", "example", "test", "lan",
         "corp", "svc"}


def dotted(text: str, known: list[str]) -> set[str]:
    """Namespace names that the question only uses as the first part of a dotted name that is
    not a host (the Kafka topic `orders.cdc`, the queue `payments.dlq`), unless it also says
    them alone. A host's first label still names its app (`docs.acme.io`), and
    `postgres.orders.svc` still names `orders`."""
    first = {m.group(1).lower() for m in _DOTTED.finditer(text)
             if m.group(2).rsplit(".", 1)[-1].lower() not in _TLDS} & set(known)
    alone = {w.lower() for w in re.findall(r"(?<![\w.-])([a-z0-9][a-z0-9-]*)(?![\w-]|\.\w)",
                                           text, re.I)}
    return first - alone


def first_named(box: Toolbox, words: list[str], namespace: str | None, exact: bool = False,
           fine: set[str] | None = None) -> tuple[str, Match, list[Match]] | None:
    """The first word of the question that names an object (in `namespace`, if given), with
    its matches: the first name a question gives is what it is about."""
    looked = [(w, box.find(w, namespace=namespace)) for w in words[:MAX_WORDS]]  # bounded
    read: dict[str, list[str]] = {}  # container name -> the pods that run one, read once
    exacts = [(w, [m for m in found.matches if m.score >= 100]) for w, found in looked
              if found.ok]
    named = next(((w, m[0], m) for w, m in exacts if m), None)
    if exact:
        return named
    for word, found in looked:  # a near namespace is a coincidence ("morning": monitoring)
        matches = [m for m in found.matches if m.score >= (_CLOSE if namespace else 0)
                   and (m.kind != "Namespace" or m.score >= _NEAR_NAMESPACE)
                   and not any(m.name == f or m.name.startswith(f"{f}-")  # nor a guess the
                               for f in fine or set())]  # question rules out ("X looks fine")
        if found.ok and matches:  # a loose guess ("dns": coredns) yields to a name the
            if named is not None and matches[0].score < _CLOSE:  # question spells exactly
                return named
            if matches[0].score < 100 and _container_elsewhere(box, word, matches[0], read):
                continue
            return word, matches[0], matches
    return named


def spelled_homes(box: Toolbox, words: list[str]) -> set[str]:
    """The namespaces of the workloads a question spells exactly, one or more words."""
    return {m.namespace for word in words[:MAX_WORDS]
            for m in box.find(word).matches
            if m.score >= 100 and m.namespace and m.kind in _WORKLOAD_KINDS}


def several(word: str, best: Match, matches: list[Match]) -> bool:
    """Whether a word only part of a name ("magento") names as well other workloads of the
    namespace (magento-web, magento-consumers): the question is about all of them."""
    return best.score < 100 and word in best.name.split("-") and any(
        m.name != best.name and m.namespace == best.namespace and m.score == best.score
        and m.kind in _WORKLOAD_KINDS and word in m.name.split("-") for m in matches)


_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def part_named(box: Toolbox, words: list[str]) -> tuple[str, Match, list[Match]] | None:
    """A workload elsewhere whose name holds a word of the question as one of its parts
    ("is prometheus broken?": prometheus-kube-prometheus-stack-prometheus in monitoring)."""
    found = first_named(box, words, None)
    return found if found is not None and found[0] in found[1].name.split("-") else None


def _container_elsewhere(box: Toolbox, word: str, match: Match,
                         read: dict[str, list[str]]) -> bool:
    """Whether `word` is the name of a container in pods other than those of `match` ("orders'
    vault-agent logged X": the sidecar of orders, not vault-agent-injector): the question
    quotes a container, not the object whose name begins alike. `read` keeps the pods' one
    listing for every word of the question."""
    if not read:
        try:
            pods = box.cluster.list("Pod", None)
        except (Forbidden, KindUnavailable, NotFound):
            pods = []
        for pod in pods:
            for key in ("containers", "initContainers"):
                for container in (pod.get("spec") or {}).get(key) or []:
                    read.setdefault(str(container.get("name")), []).append(meta(pod)["name"])
        read.setdefault("", [])  # read, even when nothing runs
    holders = read.get(word, [])
    return bool(holders) and not any(h.startswith(f"{match.name}-") for h in holders)


def software_homes(box: Toolbox, words: list[str]) -> tuple[str, set[str]] | None:
    """The first word that names no object but the software some pods run ("paged about flink":
    the pods whose image, ServiceAccount, env names (`FLINK_PROPERTIES`) or mounted ConfigMaps
    say flink), with the namespaces of those pods."""
    try:
        pods = box.cluster.list("Pod", None)
    except (Forbidden, KindUnavailable, NotFound):
        return None
    for word in words[:MAX_WORDS]:
        if len(word) < SOFTWARE_CHARS or not word.isalpha():
            continue
        homes = {str(meta(p).get("namespace")) for p in pods if _runs_software(p, word)}
        if homes:
            return word, homes
    return None


SOFTWARE_CHARS = 4  # a shorter word names too much by accident


def _runs_software(pod: Obj, word: str) -> bool:
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    images = {str(c.get("image") or "").rsplit("/", 1)[-1].split("@")[0].split(":")[0].lower()
              for c in containers}
    if word in images or any(i.startswith(f"{word}-") for i in images):
        return True
    if spec.get("serviceAccountName") == word:
        return True
    if any(str(e.get("name", "")).startswith(f"{word.upper()}_")
           for c in containers for e in c.get("env") or [] if isinstance(e, dict)):
        return True
    mounted = [str((v.get("configMap") or {}).get("name") or "") for v in spec.get("volumes") or []]
    return any(word in name.split("-") for name in mounted)
