"""What a model's answer may contain: remediation commands from an allow-list, on the root
object; a summary that names the root object and cites evidence that exists.

A proposal that fails is dropped and said so in the notes (without repeating it); a summary that
fails stays out of the answer, kept in the notes as an unsupported claim.
"""

from __future__ import annotations

import re
import shlex

from ..diagnosis import Remediation, RootCause, Target
from .schemas import Explanation, ProposedStep

# kubectl verbs a human may apply after reading the diagnosis: reads, and changes scoped to one
# object. Never delete, exec, run, cp, proxy, port-forward, apply/create/replace of free content.
READ_VERBS = frozenset({"get", "describe", "logs", "top", "explain", "events"})
HUMAN_VERBS = frozenset({"rollout", "set", "scale", "edit", "patch", "label", "annotate",
                         "cordon", "uncordon", "drain", "autoscale"})
ROLLOUT_SUBVERBS = frozenset({"status", "history", "undo", "restart", "pause", "resume"})
_CHAINING = re.compile(r"[;&|`$<>]|\n")
_PLACEHOLDER = re.compile(r"<[\w.:-]+>")  # "<value>", "<container>": for the human to fill


def allowed_command(command: str, names: set[str]) -> bool:
    """A single kubectl command with an allowed verb that is about one of `names`."""
    if _CHAINING.search(_PLACEHOLDER.sub("X", command)):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if len(words) < 2 or words[0] != "kubectl":
        return False
    verb = words[1]
    if verb not in READ_VERBS | HUMAN_VERBS:
        return False
    if verb == "rollout" and (len(words) < 3 or words[2] not in ROLLOUT_SUBVERBS):
        return False
    if verb in HUMAN_VERBS and any(w in ("namespace", "namespaces", "ns") for w in words[2:4]):
        return False
    mentioned = " ".join(words[2:]).lower()
    return any(name.lower() in mentioned for name in names if name)


def names_of(root: RootCause | None, target: Target | None) -> set[str]:
    """The names a remediation may be about: the root object, its namespace, the target."""
    names: set[str] = set()
    if root is not None:
        _kind, _, rest = root.object.partition("/")
        namespace, _, name = rest.partition("/")
        names |= {name, namespace} - {"-", ""}
    if target is not None:
        names.add(target.name)
    return names


def vet_remediation(steps: list[ProposedStep], names: set[str]) -> tuple[list[Remediation], int]:
    """The proposals that pass, and how many were dropped."""
    kept = [Remediation(step=s.step[:300], command=s.command, risk=s.risk) for s in steps
            if _passes(s.command or _embedded(s.step), names)]
    kept = [k for k in kept if not _mentions_forbidden(k.step)]
    return kept, len(steps) - len(kept)


def _embedded(step: str) -> str | None:
    """A kubectl command written into the step's words, vetted like a command."""
    at = step.find("kubectl ")
    return None if at < 0 else step[at:].rstrip(".")


def _passes(command: str | None, names: set[str]) -> bool:
    return command is None or allowed_command(command, names)


def _mentions_forbidden(text: str) -> bool:
    lower = text.lower()
    return "delete ns" in lower or "delete namespace" in lower or "kubectl delete" in lower


def vet_summary(answer: Explanation, evidence_count: int, root: RootCause | None,
                target: Target | None) -> str | None:
    """Why the model's summary is not supported; None when it is."""
    cited = [i for i in answer.cites if 1 <= i <= evidence_count]
    if evidence_count and not cited:
        return "it cites no evidence item"
    if not answer.summary.strip():
        return "it is empty"
    wanted = names_of(root, None) or ({target.name} if target else set())
    if root is not None and not any(n.lower() in answer.summary.lower() for n in wanted):
        return "it does not name the root object"
    if _mentions_forbidden(answer.summary):
        return "it proposes deleting objects"
    return None
