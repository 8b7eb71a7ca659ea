"""What a question or an alert is about (its symptom classes), and each class's investigation
plan: data in symptoms.yaml.

    intent = classify("why is the orders API slow?")   # Intent(symptoms=("latency",), health=False)
    intent.plan                                         # ("status", "logs", "dependencies", ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
# "pods are green, no restarts": a symptom the person says is absent is not asked about
_ABSENT = re.compile(r"\b(?:no|zero|0|never|without|nor|nothing|none|hasn'?t|has not|"
                     r"haven'?t|have not|didn'?t|did not|isn'?t|is not)\s+(?:been\s+|once\s+)?"
                     r"(?:recent\s+|new\s+|any\s+)?"
                     r"(?:restart\w*|crash\w*|errors?|oom\w*|exceptions?|5xx|"
                     r"time ?outs?|throttl\w*|evictions?|warnings?)\b")
_BUSINESS_PENDING = re.compile(  # "invoices stuck in 'pending'": work not done, not a pod
    r"\b(?:invoices?|orders?|payments?|payouts?|refunds?|tasks?|transactions?|messages?|"
    r"emails?|tickets?|uploads?|transfers?|withdrawals?|deposits?)\b(?:(?!\bpods?\b)[^.?!\n])"
    r"{0,24}?"
    r"['\"]?\bpending\b['\"]?", re.IGNORECASE)
_PLENTY = re.compile(r"\b(?:free|spare|plenty of|enough|lots of|tons of|idle|available|unused|"
                     r"low)\s+(?:cpu|memory|ram|disk|capacity)\b|\b(?:cpu|memory|ram|disk)\s+"
                     r"(?:is\s+|looks?\s+)?(?:fine|ok|okay|idle|low|normal)\b")  # said as fine
_WHEN = re.compile(r"\b(?:after|since|during|before)\s+(?:the\s+|a\s+|an\s+|this\s+|last\s+|"
                   r"today'?s\s+|tonight'?s\s+|yesterday'?s\s+)?(?:[\w-]+\s+){0,2}?"
                   r"(?:batch|job|export|backup|cron(?:job)?|nightly(?:\s+run)?)\b", re.I)
# ("is payments-api ok after the settlement batch?": when, not what is missing)
# Event reasons a person pastes ("FailedGetResourceMetric", "BackOff") are the cluster's own
# words, seen whole in its events: they name no symptom the tools cannot see.
_EVENT_REASON = re.compile(r"\b(?:Failed|Back|Unhealthy|Killing|Evicted|Preempt)[A-Z]?[A-Za-z]*"
                           r"[A-Z][A-Za-z]*\b")
_PROBE_FAILED = re.compile(r"\b(startup |liveness |readiness |)probe (?:failed|errored)\b"
                           r"(?::[^'\"\n]*['\"])?", re.I)  # and its quoted message: the probe's
_RESOLVED = re.compile(r"\[RESOLVED\]|\bstatus\s*[=:]\s*\"?resolved\b", re.IGNORECASE)


@dataclass(frozen=True)
class SymptomClass:
    id: str
    words: tuple[re.Pattern[str], ...]
    alerts: tuple[str, ...]
    plan: tuple[str, ...]
    unseen: tuple[str, ...]
    next: tuple[str, ...]
    seen: bool  # the tools see this symptom whole: finding nothing means it is not there


@dataclass(frozen=True)
class Intent:
    """The symptom classes a question names (alerts first) and whether an empty result may be
    answered "healthy": only when every class named is one the tools see whole."""

    symptoms: tuple[str, ...]
    health: bool
    alerts: tuple[str, ...] = ()  # alert names found in the question
    text: str = ""  # the question, lowered
    suspect: bool = False  # "is this fallout from the crdb upgrade?": what it names is a
    # suspect of a problem it does not name, not the problem itself

    @property
    def plan(self) -> tuple[str, ...]:
        classes = symptom_classes()
        steps: list[str] = []
        for symptom in self.symptoms or ("health",):
            steps += [s for s in classes[symptom].plan if s not in steps]
        return tuple(steps)

    def unseen(self) -> list[str]:
        classes = symptom_classes()
        return list(dict.fromkeys(u for s in self.symptoms for u in classes[s].unseen))

    def next_steps(self) -> list[str]:
        classes = symptom_classes()
        return list(dict.fromkeys(n for s in self.symptoms for n in classes[s].next))

    def wants(self, *symptoms: str) -> bool:
        return any(s in self.symptoms for s in symptoms)


@cache
def symptom_classes() -> dict[str, SymptomClass]:
    text = resources.files("knowledge").joinpath("symptoms.yaml").read_text(encoding="utf-8")
    return {
        key: SymptomClass(
            id=key, words=tuple(re.compile(w, re.IGNORECASE) for w in entry.get("words") or []),
            alerts=tuple(entry.get("alerts") or []), plan=tuple(entry.get("plan") or []),
            unseen=tuple(entry.get("unseen") or []), next=tuple(entry.get("next") or []),
            seen=bool(entry.get("seen")))
        for key, entry in yaml.safe_load(text).items()
    }


@cache
def _alert_classes() -> dict[str, str]:
    return {alert: c.id for c in symptom_classes().values() for alert in c.alerts}


def classify(question: str) -> Intent:
    """The intent of `question`: alert names first (they are precise), then words."""
    classes = symptom_classes()
    by_alert = _alert_classes()
    text = question or ""
    alerts = tuple(dict.fromkeys(w for w in _WORD.findall(text) if w in by_alert))
    if alerts:  # precise: an alert's own words (its description) would name every class
        found = list(dict.fromkeys(by_alert[a] for a in alerts if by_alert[a] != "health"))
        return Intent(symptoms=tuple(found), alerts=alerts, text=text.lower(), health=bool(
            _RESOLVED.search(text)) or all(classes[s].seen for s in found))
    lowered = text.lower()
    quoted = _PROBE_FAILED.sub(r"\1probe", _EVENT_REASON.sub(" ", text)).lower()
    asked = _WHEN.sub(" ", _PLENTY.sub(" ", _ABSENT.sub(" ", _BUSINESS_PENDING.sub(
        " not processed ", quoted))))
    found = [s.id for s in classes.values()
             if s.id != "health" and any(w.search(asked) for w in s.words)]
    health = all(classes[s].seen for s in found) or bool(
        _HEALTH_ASKED.search(lowered) and _PAST.search(lowered)) or bool(_NOW_ASKED.search(lowered))
    return Intent(symptoms=tuple(found), health=health, alerts=alerts, text=lowered,
                  suspect=bool(_SUSPECT.search(lowered)))


# "is this fallout from ...", "did the node upgrade break ...", "is redis the culprit?"
_SUSPECT = re.compile(r"\b(?:fallout|side[- ]effects?|knock-on|consequences?|result)\s+"
                      r"(?:of|from)\b|"
                      r"\b(?:because of|caused by|due to|related to|linked to|triggered by|"
                      r"to blame|the culprit|the cause)\b|"
                      r"\bdid\s+(?:the\s+)?[^?.!]{1,40}?\b(?:break|cause|trigger)\b|"
                      # "is coredns broken?? event-collector cant resolve ...": a suspect,
                      # then the symptom the question is about
                      r"\bis\s+(?:the\s+)?(?:[\w-]+\s+)?(?:broken|down|the problem|at fault|"
                      r"acting up)\s*\?+\s+\w")
# "... it resolved itself, but is vault actually ok now?": a past event, and the question asks
# whether it is healthy now, so "healthy" is an answer it allows
_HEALTH_ASKED = re.compile(r"\b(?:is|are)\s+(?:[\w-]+\s+){0,4}(?:actually\s+|really\s+)?"
                           r"(?:ok|okay|fine|healthy|alright|all right)(?:\s+(?:now|again))?"
                           r"(?:\s+(?:after|since|following)\b[^?.!]{0,80})?\s*\?")
# "is search ranking degraded rn?", "anything broken in cache right now?": asks about the present
# state, so "healthy now" answers it ("wiki is also down now??" says it is down: no question)
_NOW_ASKED = re.compile(r"(?:^|[.!?,;:]\s*|\b(?:but|and|so|ok|okay)\s+)(?:is|are)\s+"
                        r"(?:[\w-]+\s+){0,4}"
                        r"(?:still\s+)?(?:down|degraded|broken|"
                        r"impacted|affected|up|working)\s+(?:rn|right now|now|at the moment)\s*\?|"
                        r"\b(?:anything|something)\s+(?:else\s+)?(?:broken|wrong|down|failing)\b"
                        r"[^?.!]{0,60}\b(?:rn|right now|now|at the moment)\s*\?")
_PAST = re.compile(r"\b(?:resolved|recovered|went away|came back|earlier|yesterday|"
                   r"last night'?s?|after|during|was|were|had)\b")
