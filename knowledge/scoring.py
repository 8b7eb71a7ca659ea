"""How runbook search scores: fusion weights, section weights, alert words, the abstain rule.

Every number here was chosen on the `tune` split of bench/retrieval/queries.yaml and checked on
its `holdout` split, which was fixed before tuning began (`python -m bench.retrieval --split tune
--calibrate` refits the abstain rule and prints what to paste here; the README says how often the
holdout has been read).

- Fusion: each side's raw score is divided by the query's best on that side, then weighted.
  A runbook that one side ranks first keeps at least that side's weight, so a lexical #1 on an
  exact alert name cannot sink below runbooks both sides only half like (reciprocal rank fusion
  let that happen).
- Sections: a question is answered by Symptoms, Diagnose and Remediate; Verify and Prevent are
  full of generic kubectl commands, so they count a little less.
- Alert words: an alert name that no runbook lists (say `KubeNodeReadinessFlapping`) is read as
  the plain words of its symptom class in knowledge/symptoms.yaml (`node`, `kubelet`, ...).
- Abstain: a logistic score over raw evidence (the top runbook's cosine similarity, the lexical
  score per unit of the query's word rarity, how far the #1 stands out on each side, whether the
  query asks how to build or set something up: runbooks answer failures, and a how-to question
  shares their words without being about one), and how much of the query the top runbook holds:
  the share of the query's rarity in words it uses (a question about `istio` is not answered by
  a runbook that never says it), the share of the query's adjacent word pairs it has adjacent
  (a pasted error line it quotes), and how well its Symptoms section alone scores against the
  best section. Below `MATCH_THRESHOLD` the search says "no runbook matches". A runbook that
  lists an exact alert or reason name from the query (front matter `applies_to.reasons`) always
  matches. The weights are fitted on the tune split; the bias is chosen by cross-validation on
  that split so that about 98.5% of labelled queries the rule did not see are answered.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

LEXICAL_WEIGHT = 0.5
"""Share of the lexical side in the fused score (the dense side has the rest)."""
SECTION_WEIGHT = {"Verify": 0.7, "Prevent": 0.7}
"""Sections not named here weigh 1."""

# Logistic abstain rule: match = sigmoid(bias + sum(weight * feature)), features by name
# (`Evidence.features`); printed by `python -m bench.retrieval --split tune --calibrate`.
HYBRID_RULE = {"bias": -3.46, "cosine": 1.64, "lexical_per_idf": 0.97, "lexical_gap": 0.93,
               "dense_gap": 0.61, "how_to": -1.34, "coverage": 1.87, "pairs": 2.3,
               "symptoms": 1.08}
LEXICAL_RULE = {"bias": -2.29, "lexical_per_idf": 1.22, "lexical_gap": 1.0, "how_to": -1.48,
                "coverage": 1.91, "pairs": 2.4, "symptoms": 1.13}
MATCH_THRESHOLD = 0.5

_HOW_TO = re.compile(r"\s*(how (do|can|should) (i|we)|how to|set up|configure|install|enable|"
                     r"migrate|create|write)\b", re.IGNORECASE)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_CAMEL = re.compile(r"[a-z][A-Z]")
_PLAIN = re.compile(r"[a-z][a-z '-]*[a-z]")


def asks_how_to(text: str) -> bool:
    """The query asks how to do, build or set something up ("how do I ...", "configure ...")
    rather than naming a failure."""
    return _HOW_TO.match(text) is not None


def section_weight(section: str) -> float:
    return SECTION_WEIGHT.get(section, 1.0)


def exact_names(reasons: Iterable[str]) -> set[str]:
    """The reasons that are precise names (`KubeQuotaFullyUsed`, `FailedCreate`), lower-cased;
    plain words such as `Error` or `Forbidden` are left out: they name nothing in particular."""
    return {r.lower() for r in reasons if _NAME.fullmatch(r) and _CAMEL.search(r)}


def query_names(text: str) -> set[str]:
    """The whole words of a query, lower-cased, to compare with `exact_names`."""
    return {w.lower() for w in _NAME.findall(text)}


def alert_words(text: str, known: set[str]) -> str:
    """Plain words for the alert names in `text` that no runbook lists (`known` holds the ones
    that some runbook does): the words of the alert's symptom class in knowledge/symptoms.yaml."""
    unlisted = [w for w in _NAME.findall(text) if w[0].isupper() and w.lower() not in known]
    if not unlisted:  # alert names are capitalised: most queries never read symptoms.yaml
        return ""
    extra: list[str] = []
    for word in unlisted:
        extra += _alert_class_words().get(word, ())
    return " ".join(dict.fromkeys(extra))


@cache
def _alert_class_words() -> dict[str, tuple[str, ...]]:
    from .symptoms import symptom_classes

    table: dict[str, tuple[str, ...]] = {}
    for symptom in symptom_classes().values():
        plain = []
        for pattern in symptom.words:
            word = re.sub(r"(\w)\?", "", pattern.pattern.replace(r"\b", ""))
            if _PLAIN.fullmatch(word):
                plain.append(word)
        for alert in symptom.alerts:
            table[alert] = tuple(plain)
    return table


@dataclass(frozen=True)
class Evidence:
    """The raw evidence for the best runbook of one query, what the abstain rule reads."""

    cosine: float | None  # cosine similarity of the fused #1's nearest section; None: lexical
    lexical_per_idf: float  # the best BM25 score over the summed rarity (idf) of the query words
    lexical_gap: float  # (best - second best BM25 runbook) / best, 0 when nothing matched
    dense_gap: float  # the best runbook's cosine minus the mean of the next nine
    exact: bool  # the fused #1 lists an exact alert or reason name from the query
    how_to: bool = False  # the query asks how to do something (`asks_how_to`)
    coverage: float = 0.0  # share of the query's rarity held by words the fused #1 uses
    pairs: float = 0.0  # share of the query's adjacent word pairs the fused #1 has adjacent
    symptoms: float = 0.0  # BM25 of the fused #1's Symptoms section over the best section's

    def match(self) -> float:
        """How likely it is that the library answers the query at all, from 0 to 1."""
        if self.exact:
            return 1.0
        rule = LEXICAL_RULE if self.cosine is None else HYBRID_RULE
        values = self.features()
        z = rule["bias"] + sum(weight * values[name] for name, weight in rule.items()
                               if name != "bias")
        return 1 / (1 + math.exp(-z))

    def features(self) -> dict[str, float]:
        """What the rules weigh, by name."""
        return {"cosine": self.cosine or 0.0, "lexical_per_idf": self.lexical_per_idf,
                "lexical_gap": self.lexical_gap, "dense_gap": self.dense_gap,
                "how_to": float(self.how_to), "coverage": self.coverage, "pairs": self.pairs,
                "symptoms": self.symptoms}


def dense_gap(best: Sequence[float]) -> float:
    """How far the nearest runbook stands out from the next nine (`best` sorted, highest first):
    a query the library knows nothing about is about equally far from everything."""
    if len(best) < 2:
        return 0.0
    rest = best[1:10]
    return best[0] - sum(rest) / len(rest)


def lexical_gap(best: Sequence[float]) -> float:
    """How far the lexical #1 runbook stands out from #2 (`best` sorted, highest first)."""
    if not best or best[0] <= 0:
        return 0.0
    second = best[1] if len(best) > 1 else 0.0
    return (best[0] - second) / best[0]
