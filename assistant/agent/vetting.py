"""What a model's answer may contain, as an allow-list: a proposed command is shown only if it
is one plain `kubectl` command a human could read and apply safely; free text (the steps and the
summary) carries no URL and no instruction to run anything else.

A command passes when, parsed with shlex, it is `kubectl` with
- a verb from `READ_VERBS` (on kinds the tools read, namespaced or nodes), or from
  `CHANGE_VERBS` on the root object or one of its owners (the `Scope`), by kind and name;
- `-n` naming the diagnosed namespace, no `-A`, no selectors on a change;
- no shell metacharacters, comments, URLs, invisible or look-alike characters, and only flags
  from `_FLAGS` (so no `-f` files, no identity or server flags such as `-sHOST`, `--as`,
  `--token`, `--kubeconfig`: those would send the user's credentials elsewhere);
- a `patch` body that passes `vetting_values` (allowed keys, image origins, replicas above
  zero and not far beyond what runs, no env entry changed by position, no autoscaler pointed
  elsewhere, no annotation that switches a protection off), `set env` variables that pass
  `vetting_env` (no proxy, preload, code-loading, debugger, auth-off or TLS-off variables, no
  address the spec does not already name), `annotate`/`label` keys that switch nothing off;
- nothing about Secrets, RBAC kinds or service accounts, anywhere in it;
- no `scale` to zero replicas or far beyond what the workload runs, no `set image` to an image
  origin not already in the pod spec (`image_origin`: the registry host; on a registry many
  owners share, such as Docker Hub or ghcr.io, the host and the owner).
Steps and summaries are judged by `vetting_prose`. Anything else is refused with the reason,
which tests and notes read; the reason never repeats the proposal. A proposal that fails is
dropped and said so in the notes; a summary that fails stays out of the answer, kept in the
notes as an unsupported claim.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from tools import Cluster, Kind, Toolbox, parse_kind
from tools.kinds import info

from ..diagnosis import Remediation, RootCause, Target
from .schemas import Explanation, ProposedStep
from .vetting_env import env_assignments, env_problem
from .vetting_prose import fold, links, prose_problem, unmask
from .vetting_scope import Scope, image_origin, replicas_problem
from .vetting_values import annotation_problem, patch_problem

READ_VERBS = frozenset({"get", "describe", "logs", "top", "events"})
CHANGE_VERBS = frozenset({"rollout", "set", "scale", "edit", "patch", "label", "annotate"})
SUBVERBS = {"rollout": frozenset({"status", "history", "undo", "restart", "pause", "resume"}),
            "set": frozenset({"image", "env", "resources"})}
_READ_SUBVERBS = frozenset({"status", "history"})  # `rollout status` and `history` only read
# Flags a proposal may carry, as an allow-list: True when the flag takes a value. Anything else
# (`--server`, `-s`, `--kubeconfig`, `--token`, `--as`, `--context`, `--raw`, `-v`, `--cache-dir`,
# `--patch-file`...) is refused; the ones that send the user's credentials elsewhere or act as
# someone else are named as such.
_FLAGS: dict[str, bool] = {
    "-n": True, "--namespace": True, "-c": True, "--container": True, "-o": True,
    "--output": True, "-l": True, "--selector": True, "--field-selector": True,
    "--replicas": True, "--current-replicas": True, "--patch": True, "--type": True,
    "--tail": True, "--since": True, "--since-time": True, "--limit-bytes": True,
    "--limits": True, "--requests": True, "--to-revision": True, "--revision": True,
    "--sort-by": True, "--timeout": True, "-L": True, "--label-columns": True, "-e": True,
    "--env": True, "--previous": False, "--follow": False, "--containers": False,
    "--list": False, "--show-labels": False, "--overwrite": False, "--all-containers": False,
    "--timestamps": False, "-w": False, "--watch": False, "--no-headers": False,
    "--show-kind": False, "--dry-run": False, "--ignore-not-found": False, "--local": False,
    "--record": False, "--prefix": True, "--keys": True, "--for": True, "--types": True}
_CREDENTIAL_FLAGS = frozenset({
    "-s", "--server", "--kubeconfig", "--token", "--as", "--as-group", "--as-uid",
    "--certificate-authority", "--insecure-skip-tls-verify", "--context", "--cluster", "--user",
    "--username", "--password", "--client-key", "--client-certificate", "--tls-server-name"})
_SELECTORS = frozenset({"-l", "--selector", "--field-selector"})
_SHELL = re.compile(r"[;&|`$<>\\#\n\r]")  # chaining, substitution, redirection, comments
_PLACEHOLDER = re.compile(r"<[\w.:-]+>")  # "<value>", "<container>": for the human to fill
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://|\bwww\.", re.I)
_SENSITIVE = re.compile(r"secret|\b(?:cluster)?roles?\b|(?:cluster)?rolebinding|serviceaccount|"
                        r"\bsa/|\bcsr\b|certificatesigningrequest|tokenrequest|impersonat",
                        re.I)
_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)+", re.I)


def scope_of(cluster: Cluster, root: RootCause | None, target: Target | None) -> Scope:
    """The scope of changes for a diagnosis: the root object (else the target), its owners and
    their images, read from the cluster; what cannot be read is simply not in scope."""
    refs = [_ref(root.object) if root else None, _ref(target.ref) if target else None]
    box = Toolbox(cluster)
    namespace = next((r[1] for r in refs if r and r[1]), None)
    objects: set[tuple[str, str]] = set()
    origins: set[str] = set()
    hosts: set[str] = set()
    replicas = 0
    for ref in refs:
        if ref is None:
            continue
        kind, ns, name = ref
        objects.add((kind, name))
        described = box.describe(kind, name, ns)
        if not described.ok:
            continue
        for owner in described.owners:
            owner_kind, _, owner_name = owner.partition("/")
            objects.add((owner_kind, owner_name.removesuffix(" (gone)")))
        origins |= {image_origin(i) for i in _images(described.kind, described.raw)}
        hosts |= {h.lower() for h in _HOST.findall(json.dumps(described.raw.get("spec")))}
        replicas = max(replicas, _replicas(described.raw))
    return Scope(namespace, frozenset(objects), frozenset(origins), frozenset(hosts), replicas)


def _ref(text: str) -> tuple[Kind, str | None, str] | None:
    """`Kind/ns/name` (or `Kind/-/name`) as a known kind, namespace and name."""
    kind_text, _, rest = text.partition("/")
    namespace, _, name = rest.partition("/")
    kind = parse_kind(kind_text)
    if kind is None or not name:
        return None
    return kind, None if namespace in ("-", "") else namespace, name


def _replicas(obj: dict[str, Any]) -> int:
    """The most replicas an object runs or may scale to: its spec, its status, an autoscaler's
    maximum."""
    counts = [(obj.get(part) or {}).get(key) for part in ("spec", "status")
              for key in ("replicas", "maxReplicas")]
    return max([c for c in counts if isinstance(c, int) and not isinstance(c, bool)], default=0)


def _images(kind: str, obj: dict[str, Any]) -> list[str]:
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    if kind != "Pod":
        spec = ((spec.get("template") or {}).get("spec")) or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    return [c["image"] for c in containers if isinstance(c, dict) and c.get("image")]


# --- commands ---------------------------------------------------------------------------------

def command_problem(command: str, scope: Scope) -> str | None:
    """Why `command` may not be shown to a human; None when it may."""
    text = _PLACEHOLDER.sub("X", command)
    if fold(text) != text:
        return "it has invisible or look-alike characters"
    if _URL.search(text):
        return "it contains a URL"
    if _SHELL.search(text):
        return "it has shell metacharacters or a comment"
    if _SENSITIVE.search(text):
        return "it touches Secrets, RBAC or service accounts"
    try:
        words = shlex.split(text)
    except ValueError:
        return "it does not parse as one command"
    if len(words) < 2 or words[0] != "kubectl":
        return "it is not a kubectl command"
    verb = words[1]
    if verb not in READ_VERBS | CHANGE_VERBS:
        return f"kubectl {verb} is not an allowed verb" if verb.isalpha() else "no verb"
    sub = None
    if verb in SUBVERBS:
        sub = words[2] if len(words) > 2 else ""
        if sub not in SUBVERBS[verb]:
            return f"kubectl {verb} {sub} is not allowed".strip()
    parsed = _parse(words[2 + (sub is not None):], verb)
    if isinstance(parsed, str):
        return parsed
    positional, flags = parsed
    if any(o.endswith("-file") or "-file=" in o
           for o in flags.get("-o", []) + flags.get("--output", [])):
        return "it reads a template from a local file"
    if verb in READ_VERBS or sub in _READ_SUBVERBS:
        by_selector = verb == "logs" and not positional and any(f in flags for f in _SELECTORS)
        return (None if by_selector else _read_problem(verb, positional)) or _namespace_problem(
            flags, scope, cluster_wide=_only_cluster_scoped(positional, verb))
    return _namespace_problem(flags, scope) or _change_problem(verb, sub, positional, flags,
                                                               scope)


def _parse(args: list[str], verb: str) -> tuple[list[str], dict[str, list[str]]] | str:
    """Positional words and flag values (by long name where a short one has two meanings); a
    flag not on the allow-list is the reason. A short flag takes its value attached as well
    (`-nweb`, `-sHOST`), and short flags that take none run together (`-wsHOST` is `-w -s
    HOST`), as kubectl reads them."""
    positional: list[str] = []
    flags: dict[str, list[str]] = {}
    words = list(reversed(args))
    while words:
        word = words.pop()
        if word == "-":
            return "it reads from standard input"
        if not word.startswith("-") or word == "--":
            if word != "--":
                positional.append(word)
            continue
        name, has_value, value = word.partition("=")
        if not name.startswith("--") and len(name) > 2:
            if _FLAGS.get(_SHORT_BY_VERB.get((verb, name[:2]), name[:2])) is False:
                words.append(f"-{word[2:]}")  # a switch: what follows is the next short flag
                word = name = name[:2]
                has_value = value = ""
            else:
                name, value, has_value = name[:2], name[2:] + has_value + value, "="
        name = _SHORT_BY_VERB.get((verb, name), name)
        if name in _CREDENTIAL_FLAGS:
            return f"the flag {name} is not allowed: it sends your credentials elsewhere or " \
                   "acts as someone else"
        if name not in _FLAGS:
            return f"the flag {name} is not allowed"
        if _FLAGS[name] and not has_value:
            value = words.pop() if words else ""
        flags.setdefault(name, []).append(value)
    return positional, flags


# Short flags whose meaning depends on the verb; elsewhere `-p` and `-f` are refused.
_SHORT_BY_VERB = {("logs", "-p"): "--previous", ("logs", "-f"): "--follow",
                  ("patch", "-p"): "--patch"}


def _namespace_problem(flags: dict[str, list[str]], scope: Scope,
                       cluster_wide: bool = False) -> str | None:
    named = flags.get("-n", []) + flags.get("--namespace", [])
    if scope.namespace is None or (cluster_wide and not named):
        return None
    if not named:
        return f"it names no namespace; add -n {scope.namespace}"
    if any(n != scope.namespace for n in named):
        return "it is about another namespace than the diagnosed one"
    return None


def _objects(positional: list[str], verb: str) -> list[tuple[Kind | None, str]] | str:
    """(kind, name) pairs the command is about; name "" for a whole kind."""
    # not `KEY=VALUE`, `container=image`, nor `KEY-` (unset) of `set env`
    plain = [p for p in positional if "=" not in p and not (verb == "set" and p.endswith("-"))]
    if not plain:
        return "it names no object"
    first = plain[0]
    if "/" in first:
        pairs = []
        for word in plain:
            kind_text, _, name = word.partition("/")
            pairs.append((parse_kind(kind_text), name))
        return pairs
    kinds = [parse_kind(k) for k in first.split(",")]
    if verb == "logs" and kinds == [None]:
        return [("Pod", first)]  # `kubectl logs POD`
    names = plain[1:] or [""]
    return [(kind, name) for kind in kinds for name in names]


def _only_cluster_scoped(positional: list[str], verb: str) -> bool:
    """Whether a read is about nodes only (which live in no namespace)."""
    objects = _objects(positional, verb)
    return not isinstance(objects, str) and all(
        kind is not None and not info(kind).namespaced for kind, _ in objects)


# Kinds a human may read that the tools do not, which hold nothing the tools hide: kubectl's
# `all` (workloads, pods and services) and EndpointSlices.
_PLAIN_READS = frozenset({"all", "endpointslice", "endpointslices"})


def _read_problem(verb: str, positional: list[str]) -> str | None:
    if verb == "events" and not positional:
        return None
    first, rest = (positional[0], positional[1:]) if positional else ("", [])
    if "/" not in first and first:
        kinds = [k for k in first.split(",") if k.lower() not in _PLAIN_READS]
        if not kinds:
            return None  # `get all`, `get endpointslices NAME`
        positional = [",".join(kinds), *rest]
    objects = _objects(positional, verb)
    if isinstance(objects, str):
        return objects
    for kind, _ in objects:
        if kind is None:
            return "it reads a kind the assistant does not read"
        if not info(kind).namespaced and kind != "Node":
            return f"it reads {kind}, which is cluster-wide"
    return None


def _change_problem(verb: str, sub: str | None, positional: list[str],
                    flags: dict[str, list[str]], scope: Scope) -> str | None:
    if any(flag in flags for flag in _SELECTORS):
        return "a change by selector can touch more than the root object"
    objects = _objects(positional, verb)
    if isinstance(objects, str):
        return objects
    if len(objects) != 1 or objects[0][0] is None or not objects[0][1]:
        return "a change must name exactly one object, KIND/NAME"
    kind, name = objects[0]
    if (kind, name) not in scope.objects:
        return "it changes an object other than the root object or its owners"
    if verb == "scale":
        replicas = flags.get("--replicas", [""])
        if not all(r.isascii() and r.isdigit() for r in replicas):
            return "it scales to zero (or to no number) replicas"
        problem = next(filter(None, (replicas_problem(int(r), scope) for r in replicas)), None)
        if problem:
            return problem
    if verb == "patch":
        problem = patch_problem(flags.get("--patch", []), (flags.get("--type") or [""])[-1],
                                scope)
        if problem:
            return problem
    if verb in ("annotate", "label"):
        pairs = (p.partition("=") for p in positional)
        problem = next(filter(None, (annotation_problem(key, value)
                                     for key, has_value, value in pairs if has_value)), None)
        if problem:
            return problem
    if sub == "env":
        assignments = [*positional, *flags.get("-e", []), *flags.get("--env", [])]
        for name, value in env_assignments(assignments):
            problem = env_problem(name, value, scope.hosts)
            if problem:
                return problem
    if sub == "image":
        images = [p.partition("=")[2] for p in positional if "=" in p]
        if not images or any(image_origin(i) not in scope.origins for i in images):
            return "it changes an image to a registry the pod spec does not already use"
    return None


def allowed_command(command: str, scope: Scope) -> bool:
    return command_problem(command, scope) is None


# --- free text --------------------------------------------------------------------------------

def text_problem(text: str, scope: Scope) -> str | None:
    """Why a step or a summary may not be shown: a URL, an instruction to run a program other
    than kubectl, advice that weakens the cluster, a kubectl command that would not pass as a
    command (see vetting_prose). An image named by reference (`ghcr.io/shop/api:1.4.3`) from an
    origin the pod spec already uses is not a link."""
    return prose_problem(text, lambda command: command_problem(command, scope),
                         lambda image: image_origin(image) in scope.origins)


def vet_remediation(steps: list[ProposedStep],
                    scope: Scope) -> tuple[list[Remediation], list[str]]:
    """The proposals that pass, and why each of the others was dropped (a reason never repeats
    the proposal)."""
    kept: list[Remediation] = []
    refused: list[str] = []
    for step in steps:
        problem = text_problem(step.step, scope) or (
            None if step.command is None else command_problem(step.command, scope))
        if problem is None:
            kept.append(Remediation(step=step.step[:300], command=step.command, risk=step.risk))
        else:
            refused.append(problem)
    return kept, refused


def quotable(reason: str) -> bool:
    """Whether a refusal's reason may be shown in the notes: a reason may name a flag, a key or
    a variable of the proposal, and one of those may be a link or a dotted host name."""
    seen = unmask(reason)
    return not links(seen) and not re.search(r"\w\.\w", seen)


def vet_summary(answer: Explanation, evidence_count: int, root: RootCause | None,
                target: Target | None, scope: Scope) -> str | None:
    """Why the model's summary is not supported; None when it is."""
    cited = [i for i in answer.cites if 1 <= i <= evidence_count]
    if evidence_count and not cited:
        return "it cites no evidence item"
    if not answer.summary.strip():
        return "it is empty"
    wanted = names_of(root) or ({target.name} if target else set())
    if root is not None and not any(n.lower() in answer.summary.lower() for n in wanted):
        return "it does not name the root object"
    return text_problem(answer.summary, scope)


def names_of(root: RootCause | None) -> set[str]:
    """The names a summary may be about: the root object and its namespace."""
    if root is None:
        return set()
    _kind, _, rest = root.object.partition("/")
    namespace, _, name = rest.partition("/")
    return {name, namespace} - {"-", ""}
