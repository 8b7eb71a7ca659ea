"""What a step or a summary may say (part of vetting, issue 15): no URL, no instruction to run a
program other than kubectl, and every kubectl command in it (`k` and `oc` included) as one
that would pass as a proposed command.

The text is folded first (NFKC, so fullwidth letters are letters; invisible characters such as
zero-width spaces and direction marks removed; every kind of space a space), so that
`kube\u200bctl` and `ｋｕｂｅｃｔｌ` are read as `kubectl`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_PROSE_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://|\bwww\.|\b(?:[a-z0-9-]+\.)+(?:sh|io|com|net|"
                        r"org|xyz|ru|cn|tk|top|ly|gg|me|dev|app)/", re.I)
# An address given by IP with a path or a port and path (`203.0.113.5/fix.yaml`); a CIDR
# (`10.0.0.0/8`) or a bare IP is not a URL.
_IP_URL = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?/(?!\d)")
# Instructions to run something other than kubectl.
_PROGRAMS = re.compile(
    r"\b(?:curl|wget|bash|zsh|sudo|chmod|chown|rm\s+-|eval|base64\s+(?:-d|--decode|-D)|nc|ncat|"
    r"python3?\s+-c|powershell|iex|helm|apt(?:-get)?|pip\s+install|npm\s+install|ssh|scp|npx|"
    r"bunx|uvx|pipx\s+run|go\s+run|deno\s+run|etcdctl|kubeadm\s+reset|mkfs(?:\.\w+)?|"
    r"dd\s+(?:if|of)(?==)|shred|wipefs|fdisk|parted|terraform\s+(?:destroy|apply)|pulumi\s+(?:destroy|up)|"
    r"systemctl\s+(?:reboot|poweroff|halt|stop|disable|mask|kill)|shutdown\s+-|"
    r"(?:docker|podman|nerdctl|crictl|ctr)\s+(?:exec|run|rm|rmi|rmp|kill|stop|system|prune|"
    r"image|images\s+rm|volume|container))\b|"
    r"\b(?:gcloud|aws|az|doctl|eksctl|oci|ibmcloud)\b[^.\n]{0,80}?\b(?:delete(?:-[\w-]+)?|"
    r"terminate-[\w-]+|deregister-[\w-]+|remove-[\w-]+|detach-[\w-]+|destroy|purge)\b|"
    r"\b(?:download|run|execute|install|pipe|paste)\b[^.]{0,40}\b(?:script|binary|installer|"
    r"one-liner|shell|terminal)\b", re.I)
# Statements that destroy data, whichever client sends them.
_DESTRUCTIVE = re.compile(
    r"\b(?:DROP\s+(?:TABLE|DATABASE|SCHEMA|INDEX|USER|ROLE|KEYSPACE|COLLECTION)|TRUNCATE\s+"
    r"(?:TABLE\s+)?\w|DELETE\s+FROM|FLUSH(?:ALL|DB)|dropDatabase|deleteMany|UNLINK\s+\*)\b", re.I)
# Advice that weakens the cluster, in words rather than a command.
_UNSAFE_ADVICE = re.compile(
    r"privileged:\s*true|\bhost(?:Network|PID|IPC):\s*true|insecure-skip-tls-verify|"
    r"\b(?:mode\s+)?0?777\b|world-writable|\b(?:remove|delete|strip|clear)\b[^.]{0,40}"
    r"\bfinalizers?\b|force-delet|grace[- ]period(?:=0|\s+(?:of\s+)?(?:zero|0)\b)|"
    r"\b(?:delete|remove|wipe)\b[^.]{0,30}\b(?:pvc|persistentvolumeclaims?|persistentvolumes?|"
    r"\bpv\b|volumes?|statefulsets?|databases?)\b|"
    r"\b(?:delete|remove|disable)\b[^.]{0,30}\bnetwork\s?polic(?:y|ies)\b|"
    r"\b(?:delete|drain|cordon|evict|kill|remove)\s+(?:every|all)\b[^.]{0,20}\b(?:pods?|nodes?)\b",
    re.I)
_CHANGE_DELETE = re.compile(r"\bdelete\s+(?:the\s+)?(?:ns|namespace|namespaces)\b", re.I)
_VERBS = ("get|describe|logs|delete|apply|create|edit|patch|scale|rollout|set|label|annotate|"
          "exec|drain|cordon|uncordon|taint|replace|run|cp|debug|port-forward|proxy|auth|top|"
          "events|attach|expose|autoscale|certificate|wait|diff|kustomize|plugin|config|api-\\w+|"
          "explain|cluster-info|version|completion|alpha")
# Programs that are kubectl under another name; `k` only before a kubectl verb.
_KUBECTL = re.compile(r"\b(?:kubectl(?:\.exe)?|oc|kubecolor|microk8s\s+kubectl|k3s\s+kubectl|"
                      rf"k(?=\s+(?:{_VERBS})\b))[\s`'\"]+", re.I)
_A_VERB = re.compile(rf"kubectl (?:-|(?:{_VERBS})\b)", re.I)  # a command, not the name
# Verbs of kubectl that no step may ask for, even when the command around them does not parse.
_REFUSED_VERBS = re.compile(r"\b(?:delete|apply\s+-[fk]|replace|exec|drain|cordon|taint|cp|"
                            r"debug|port-forward|attach)\b", re.I)
# Where a command written into a sentence ends: a quote, a full stop, a comma, or a word that
# joins it to the rest of the sentence ("... -n web to go back").
_PROSE_END = re.compile(r"[`'\"]|\.(?:\s|$)|,\s|\s(?:to|and|then|so|if|for|which|until|when|"
                        r"after|before|once|or)\s")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")


def fold(text: str) -> str:
    """`text` as a reader sees it: NFKC, no invisible characters, plain spaces."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(" " if c.isspace() and c not in "\n" else c for c in folded
                   if unicodedata.category(c) not in ("Cf", "Cc") or c == "\n")


def prose_problem(text: str, judge: Callable[[str], str | None]) -> str | None:
    """Why a step or a summary may not be shown; `judge` says why a command may not be."""
    text = fold(text)
    if _PROSE_URL.search(text) or _IP_URL.search(text):
        return "it contains a URL"
    if _PROGRAMS.search(text) or _DESTRUCTIVE.search(text):
        return "it tells the reader to run something other than kubectl"
    if _CHANGE_DELETE.search(text):
        return "it proposes deleting namespaces"
    if _UNSAFE_ADVICE.search(text):
        return "it advises a change that weakens or destroys more than the root object"
    for embedded, sentence in _embedded(text):
        # "use kubectl to check" names the program; "kubectl get ..." is a command
        problem = judge(embedded) if _A_VERB.match(embedded) else None
        if problem:
            return f"a command in it is refused: {problem}"
        verb = _REFUSED_VERBS.search(re.sub(r"[`'\"]", " ", sentence))
        if verb:
            return f"it tells the reader to run kubectl {verb.group(0).lower()}"
    return None


def _embedded(text: str) -> list[tuple[str, str]]:
    """kubectl commands written into prose, each up to the end of its sentence or quote, as
    `kubectl ...`, with the sentence they are in."""
    found = []
    for match in _KUBECTL.finditer(text):
        rest = "kubectl " + text[match.end():]
        end = _PROSE_END.search(rest, len("kubectl "))
        sentence = _SENTENCE_END.split(text[match.end():], maxsplit=1)[0]
        found.append((rest[:end.start()] if end else rest.rstrip("."), sentence))
    return found
