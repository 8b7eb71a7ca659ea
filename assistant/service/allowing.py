"""Which namespaces a free-form question names, so that an interface with an allow-list refuses
it as it refuses `-n NAMESPACE` ("why is coredns failing in kube-system?" from a channel that
may read `shop` only), instead of answering about an allowed namespace.

    outside("why is coredns failing in kube-system?", allowed={"shop"}, known=[...])
    # -> "kube-system"

A namespace named as one ("namespace X", "ns X", "-n X", "X namespace") counts whether or not it
exists; "in X" counts when X is a namespace of the cluster (otherwise "in production" would
refuse every question that says where something runs).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

_NAME = r"([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)"
_EXPLICIT = [re.compile(rf"\b(?:namespace|ns)\s+[`'\"]?{_NAME}\b", re.I),
             re.compile(rf"(?:^|\s)(?:-n|--namespace)[\s=]+{_NAME}\b", re.I),
             re.compile(rf"\b{_NAME}[`'\"]?\s+namespace\b", re.I)]
_IN = re.compile(rf"\b(?:in|from|of)\s+[`'\"]?{_NAME}\b", re.I)
_NOT_NAMES = {"the", "a", "an", "this", "that", "my", "our", "its", "which", "what", "each",
              "every", "all", "any", "in", "from", "of", "to", "for", "on", "at", "by", "into",
              "same", "other", "another", "whole", "entire", "your", "their", "his", "her",
              "one", "some", "no", "per", "whose", "is", "are", "was", "were", "be", "been",
              "and", "or", "but", "check", "has", "have", "had", "looks", "seems", "here",
              "there", "now", "ok", "okay", "fine", "down", "up", "status", "health", "healthy",
              "please", "pls", "again", "too", "also", "still", "list", "show", "describe",
              "get", "itself", "broken", "failing", "empty", "new", "old"}
# ("failing in namespace shop": not `in`; "the shop namespace is down": not `is`)


def named_namespaces(question: str, known: Iterable[str]) -> list[str]:
    """Namespaces `question` names: explicitly, or after "in" when the cluster has them."""
    found: list[str] = []
    for pattern in _EXPLICIT:
        found += [m.group(1).lower() for m in pattern.finditer(question)]
    existing = set(known)
    found += [m.group(1).lower() for m in _IN.finditer(question)
              if m.group(1).lower() in existing]
    return [n for i, n in enumerate(found) if n not in _NOT_NAMES and n not in found[:i]]


def outside(question: str, allowed: Collection[str] | None, known: Iterable[str]) -> str | None:
    """The first namespace `question` names that `allowed` does not hold (None: all allowed)."""
    if allowed is None:
        return None
    return next((n for n in named_namespaces(question, known) if n not in allowed), None)
