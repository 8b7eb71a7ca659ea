"""Which labels pods carry, beside the selector that asks for others: a Service's selector or
a pod affinity written for labels a chart has since renamed (`app` became
`app.kubernetes.io/name`, the value kept)."""

from __future__ import annotations

from tools import Obj
from tools.summaries import meta

from .view import ClusterView


def closest_labels(view: ClusterView, namespace: str | None,
                   selector: dict[str, str]) -> tuple[str, Obj | None]:
    """The pod label nearest to the selector's ("app.kubernetes.io/name=memcached"), and the
    pod that carries it."""
    from rapidfuzz import fuzz

    best, best_score, carrier = "", 0.0, None
    for pod in view.items("Pod", namespace):
        labels = meta(pod).get("labels") or {}
        for key, value in labels.items():
            if str(selector.get(key)) == str(value):
                continue  # this label already matches: not what differs
            others = {k: v for k, v in selector.items() if k != key}
            if key in selector and others and all(str(labels.get(k)) == str(v)
                                                  for k, v in others.items()):
                if best_score < 80:  # the pods match every key but this one: its value moved
                    best, best_score, carrier = f"{key}={value}", 80.0, pod
                continue
            for want_key, want in selector.items():
                score = float(fuzz.ratio(f"{want_key}={want}", f"{key}={value}"))
                if str(value) == str(want) and key != want_key:  # relabelled: `app` became
                    score = max(score, 85.0)  # `app.kubernetes.io/name`, the value kept
                if score > best_score and score >= 70:
                    best, best_score, carrier = f"{key}={value}", score, pod
    return best, carrier
