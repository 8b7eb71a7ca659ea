"""An error the question quotes, seen in the logs it is about: "vaultwarden logs are full of
ERROR 'Username or password is incorrect' - is vault broken?". The tools read those lines;
when none of the checks finds a failure, what the person pasted is seen whole (a user's
mistyped password answered with an error, not the app failing), and "healthy" answers the
question it asks."""

from __future__ import annotations

import re

from tools import Obj
from tools.summaries import meta

from .reading import containers, dependency_in
from .view import ClusterView

QUOTED_MIN = 12  # a quote shorter than this ("OK", 'ERROR') says too little to look for


def quoted_in_logs(view: ClusterView, namespaces: list[str], question: str) -> str | None:
    """The first phrase the question quotes that a log of the namespaces holds, with how many
    of the lines read carry it ("'Username or password is incorrect' (4 lines of
    vaultwarden-7d9c6b5f48-kq5zt)"); None when nothing it quotes is there."""
    quotes = [q for q in (m.group(m.lastindex or 0).strip() for m in _QUOTE.finditer(question))
              if len(q) >= QUOTED_MIN]
    if not quotes:
        return None
    for pod in (p for ns in namespaces for p in view.items("Pod", ns)):
        for container, _ in containers(pod):
            excerpt = view.log(meta(pod).get("namespace") or "", meta(pod)["name"], container,
                               False)
            lines = [*excerpt.head, *excerpt.errors, *excerpt.tail] if excerpt else []
            for quote in quotes:
                held = sum(line.repeats for line in lines if quote.lower() in line.text.lower())
                if held:
                    return f"'{quote}' ({held} lines of {meta(pod)['name']})"
    return None


_QUOTE = re.compile(r"'([^'\n]{1,200})'|\"([^\"\n]{1,200})\"|`([^`\n]{1,200})`")


QUOTED_CALL_LINES = 5  # how far above a quoted line the call it reports may be named


def quoted_calls(view: ClusterView, pods: list[Obj], question: str) -> list[tuple[str, str]]:
    """(host[:port], namespace) of the calls the lines a question quotes report: the host the
    quoted line names, or one the lines just above it name ("Downloading cache from
    http://minio.storage.svc:9000/..." over "Failed to extract cache"). What the person pasted
    is about that dependency, whatever the pod's status says."""
    quotes = [q.lower() for q in (m.group(m.lastindex or 0).strip()
                                  for m in _QUOTE.finditer(question)) if len(q) >= QUOTED_MIN]
    found: list[tuple[str, str]] = []
    for pod in pods if quotes else []:
        namespace = meta(pod).get("namespace") or ""
        for container, _ in containers(pod):
            for previous in (False, True):
                excerpt = view.log(namespace, meta(pod)["name"], container, previous)
                kept = {line.number: line.text for line in (
                    [*excerpt.head, *excerpt.errors, *excerpt.tail] if excerpt else [])}
                for number, text in kept.items():
                    if not any(q in text.lower() for q in quotes):
                        continue
                    host = next((h for n in range(number, number - QUOTED_CALL_LINES - 1, -1)
                                 if (h := dependency_in(kept.get(n, "")))), None)
                    if host and (host, namespace) not in found:
                        found.append((host, namespace))
    return found
