"""Numbers as evidence: the symptom plans' PromQL (data in promql.yaml), asked of a `Metrics`
(a live Prometheus or a snapshot's series), each answer a number with its query and a reading.

    answer = metric_evidence(metrics, "throttling", "shop", "checkout", pods=["checkout-7d9-x2k9p"])
    answer.evidence[0].reading   # "container app of pod checkout-7d9-x2k9p was throttled in 80%..."
    answer.evidence[0].query     # the PromQL, exactly as sent
    answer.unanswered            # what could not be answered, and why (no Prometheus, no series)

With no `Metrics` (Prometheus not configured), nothing is asked and every question of the symptom
is returned as unanswered, saying it needs Prometheus: never "healthy" by silence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import parse_qs, urlsplit

import yaml

from tools.prometheus import Metrics, MetricsError, MetricsUnauthorized, MetricsUnreachable
from tools.promql import metric_names
from tools.redacting import redact_line

SYMPTOMS = ("latency", "errors", "throttling", "memory", "saturation", "not_scaling")
NOT_CONFIGURED = "no Prometheus is configured (SRE_PROMETHEUS__URL)"
_PER_QUESTION = 5  # evidence items kept per question, the most concerning first
_MAX_PODS = 50


@dataclass(frozen=True)
class PromQuery:
    id: str
    question: str
    symptoms: tuple[str, ...]
    promql: str
    per: tuple[str, ...]
    unit: str
    concern: float | None
    reading: str

    @property
    def metrics(self) -> list[str]:
        return metric_names(self.promql)


@dataclass(frozen=True)
class MetricEvidence:
    question: str  # the library entry's id ("throttling") or "alert"
    object: str  # "Pod/shop/checkout-7d9-x2k9p", "Deployment/shop/checkout"
    value: float
    query: str  # the PromQL as sent
    reading: str  # one line for a human
    concerning: bool  # at or past the entry's concern level

    @property
    def detail(self) -> str:
        """The evidence line a diagnosis shows (source "metrics"): the reading and its query."""
        return f"{self.reading} [PromQL: {self.query}]"


@dataclass
class MetricsAnswer:
    evidence: list[MetricEvidence] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # questions with a number
    unanswered: list[str] = field(default_factory=list)  # "question: why not"
    notes: list[str] = field(default_factory=list)  # what the bounds left out


@cache
def library() -> dict[str, PromQuery]:
    text = resources.files("knowledge").joinpath("promql.yaml").read_text(encoding="utf-8")
    return {key: PromQuery(
        id=key, question=entry["question"], symptoms=tuple(entry["symptoms"]),
        promql=" ".join(entry["promql"].split()), per=tuple(entry.get("per") or ()),
        unit=entry["unit"], concern=entry.get("concern"), reading=entry["reading"])
        for key, entry in yaml.safe_load(text).items()}


def plan_metric_names() -> list[str]:
    """Every metric the library reads: what `sre snapshot` captures."""
    return list(dict.fromkeys(name for q in library().values() for name in q.metrics))


def queries_for(symptom: str) -> list[PromQuery]:
    return [q for q in library().values() if symptom in q.symptoms]


def expression_from_generator_url(url: str) -> str | None:
    """The alert's expression from its Alertmanager `generatorURL` (`/graph?g0.expr=...`)."""
    values = parse_qs(urlsplit(url).query).get("g0.expr")
    return values[0] if values else None


def expression_of_alert(metrics: Metrics | None, alertname: str,
                     generator_url: str | None = None) -> str | None:
    """A firing alert's expression: from its `generatorURL` when Alertmanager passed one on,
    else from the alerting rule of that name Prometheus reports (None: not found)."""
    if generator_url and (found := expression_from_generator_url(generator_url)):
        return found
    if metrics is None:
        return None
    try:
        rules = metrics.rules()
    except MetricsError:
        return None
    return next((str(r["query"]) for r in rules
                 if r.get("type") == "alerting" and r.get("name") == alertname), None)


def metric_evidence(
    metrics: Metrics | None,
    symptom: str,
    namespace: str,
    workload: str,
    pods: Sequence[str] = (),
    containers: Sequence[str] = (),
    *,
    kind: str = "Deployment",
    alert_expression: str | None = None,
    at: float | None = None,
) -> MetricsAnswer:
    """The numbers the `symptom` plan reads for a workload's pods (and containers, when named),
    plus the firing alert's own expression evaluated at `at` (default: the reader's now).

    `symptom` is a class of `SYMPTOMS`; another (crash, pending...) reads no numbers. `pods`
    empty: the workload's name followed by `-` is the pod pattern. An error of Prometheus
    becomes an unanswered question with its sentence; unreachable or refused credentials end
    the plan there (every other query would fail the same way)."""
    answer = MetricsAnswer()
    asked = queries_for(symptom)
    if metrics is None:
        answer.unanswered = [f"{q.question} ({' / '.join(q.metrics)}): {NOT_CONFIGURED}"
                             for q in asked]
        if alert_expression:
            answer.unanswered.append(f"the alert's expression now: {NOT_CONFIGURED}")
        return answer
    at = metrics.now() if at is None else at
    values = {"ns": namespace, "workload": workload, "pods": _pods_regex(workload, pods)}
    wanted = set(containers)
    for query in asked:
        promql = Template(query.promql).substitute(values)
        try:
            result = metrics.query(promql, at)
        except MetricsError as e:
            answer.unanswered.append(f"{query.question}: {e}")
            if isinstance(e, (MetricsUnreachable, MetricsUnauthorized)):
                answer.unanswered += [f"{q.question}: {e}" for q in asked[asked.index(query) + 1:]]
                return answer
            continue
        if result.note:
            answer.notes.append(f"{query.question}: {result.note}")
        found = []
        for series in result.series:
            if wanted and series.labels.get("container") not in wanted | {None}:
                continue
            if math.isnan(series.value):
                continue
            found.append(_item(query, promql, series.labels, series.value, namespace, workload,
                               kind))
        if not found:
            answer.unanswered.append(
                f"{query.question}: no series of {' / '.join(query.metrics)} for these pods")
            continue
        found.sort(key=lambda e: (-round(e.value, 9), e.object, e.reading))
        answer.evidence += found[:_PER_QUESTION]
        answer.answered.append(query.question)
    if alert_expression:
        _alert(metrics, alert_expression, at, namespace, workload, kind, answer)
    return answer


def _alert(metrics: Metrics, expression: str, at: float, namespace: str, workload: str,
           kind: str, answer: MetricsAnswer) -> None:
    try:
        result = metrics.query(expression, at)
    except MetricsError as e:
        answer.unanswered.append(f"the alert's expression now: {e}")
        return
    expression = redact_line(expression)  # the rule's text, shown as evidence
    # An alert's expression is usually cluster-wide: only this namespace's series are evidence
    # here (and other namespaces stay out of reach of whoever asks about this one).
    mine = [s for s in result.series if s.labels.get("namespace", namespace) == namespace]
    if not mine:
        answer.evidence.append(MetricEvidence(
            "alert", f"{kind}/{namespace}/{workload}", math.nan, expression,
            "the alert's expression returns nothing now: the condition no longer holds", False))
        return
    for series in sorted(mine, key=lambda x: -x.value)[:_PER_QUESTION]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(series.labels.items())
                           if k in ("namespace", "pod", "container", "job", "service"))
        answer.evidence.append(MetricEvidence(
            "alert", _object(series.labels, namespace, workload, kind), series.value, expression,
            f"the alert's expression is {series.value:.4g} now" + (f" for {labels}" if labels
                                                                   else ""), True))
    answer.answered.append("the alert's expression now")


def _item(query: PromQuery, promql: str, labels: Mapping[str, str], value: float,
          namespace: str, workload: str, kind: str) -> MetricEvidence:
    reading = query.reading.format(who=_who(query, labels, workload),
                                   value=_written(value, query.unit))
    concerning = query.concern is not None and round(value, 9) >= query.concern
    return MetricEvidence(query.id, _object(labels, namespace, workload, kind), value, promql,
                          reading, concerning)


def _who(query: PromQuery, labels: Mapping[str, str], workload: str) -> str:
    if "container" in query.per and labels.get("container"):
        return f"container {labels['container']} of pod {labels.get('pod', '?')}"
    if "horizontalpodautoscaler" in query.per:
        return f"HPA {labels.get('horizontalpodautoscaler', workload)}"
    return workload


def _object(labels: Mapping[str, str], namespace: str, workload: str, kind: str) -> str:
    if labels.get("pod"):
        return f"Pod/{namespace}/{labels['pod']}"
    if labels.get("horizontalpodautoscaler"):
        return f"HorizontalPodAutoscaler/{namespace}/{labels['horizontalpodautoscaler']}"
    return f"{kind}/{namespace}/{workload}"


def _pods_regex(workload: str, pods: Sequence[str]) -> str:
    """A PromQL string's content matching the pods: Kubernetes names hold only [a-z0-9.-], of
    which `.` is special to a regular expression (escaped once for the regex, once for PromQL)."""
    names = sorted(set(pods))[:_MAX_PODS] or [f"{workload}-"]
    pattern = "|".join(name.replace(".", "\\\\.") for name in names)
    return pattern + ".*" if not pods else pattern


def _written(value: float, unit: str) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if unit == "ratio":
        percent = value * 100
        return f"{percent:.0f}%" if abs(percent) >= 10 else f"{percent:.1f}%"
    if unit == "seconds":
        return f"{value:.3g} s" if value >= 1 else f"{value * 1000:.3g} ms"
    if unit == "bytes":
        return f"{value / 1024 / 1024:.0f} MiB"
    if unit == "per_second":
        return f"{value:.3g} requests/s"
    return f"{value:.0f}"
