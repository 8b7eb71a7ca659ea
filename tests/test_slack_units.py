"""The Slack app's pure parts: `/sre` parsing, Block Kit limits, and the namespace restriction
at the data layer (on a real snapshot cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.slack_env import DEFAULT_SCENARIOS, merged
from harness.scenarios import write_snapshot_dir

import tools
from assistant.diagnosis import Diagnosis, Evidence, Remediation, RootCause
from assistant.engine import diagnose
from assistant.slack import blocks
from assistant.slack.commands import Ask, Diagnose, Help, Runbook, parse, parse_mention
from tools.restricting import Restricted


@pytest.mark.parametrize(("text", "expected"), [
    ("diagnose", Diagnose(None, None)),
    ("diagnose deploy/checkout -n shop", Diagnose("deploy/checkout", "shop")),
    ("DIAGNOSE checkout --namespace=shop", Diagnose("checkout", "shop")),
    ("diagnose -nshop", Diagnose(None, "shop")),
    ("ask why is checkout failing?", Ask("why is checkout failing?")),
    ("runbook crash loop", Runbook("crash loop")),
    ("", Help()),
    ("help", Help()),
    ("ask", Help("`ask` needs a question", "ask")),
    ("diagnose -n", Help("`-n` needs a namespace", "diagnose")),
    ("diagnose -n 'Bad NS'", Help("`Bad NS` is not a namespace name", "diagnose")),
    ("diagnose a b", Help("unexpected `b`", "diagnose")),
    ('diagnose "unclosed', Help("I could not read `\"unclosed` (an unclosed quote?)", "diagnose")),
    ("runbok oom", Help("unknown command `runbok`", "runbook")),
    ("%%%", Help("I did not understand `%%%`")),
])
def test_parse(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_mentions_are_questions_unless_they_start_with_a_command() -> None:
    assert parse_mention("<@U1> why is checkout failing?") == Ask("why is checkout failing?")
    assert parse_mention("<@U1> diagnose checkout") == Diagnose("checkout", None)
    assert parse_mention("<@U1>  ") == Help()


def _huge() -> Diagnosis:
    return Diagnosis(
        question="q", target=None, healthy=False, summary="S <script> & more " * 400,
        root_cause=RootCause(category="x", object="Pod/a/b", explanation="E" * 7000),
        evidence=[Evidence(source="log", object=f"Pod/shop/p{i}", detail="line " * 300)
                  for i in range(120)],
        remediation=[Remediation(step=f"step {i}", command="kubectl " + "x" * 5000)
                     for i in range(40)],
        confidence=0.5, notes=["n" * 4000])


@pytest.mark.parametrize("show", [False, True])
def test_long_answers_are_split_within_slack_limits(show: bool) -> None:
    messages = blocks.answer(_huge(), "abc", show_evidence=show)
    assert len(messages) > 1
    for message in messages:
        assert 0 < len(message.blocks) <= blocks.MAX_BLOCKS
        assert len(message.text) <= blocks.MAX_TEXT
        for block in message.blocks:
            for text in _texts(block):
                assert len(text) <= blocks.MAX_SECTION
        assert "<script>" not in json.dumps(message.blocks)
    assert messages[-1].blocks[-1]["type"] == "actions"
    assert all(b["type"] != "actions" for m in messages[:-1] for b in m.blocks)
    shown = "".join(json.dumps(m.blocks) for m in messages)
    assert ("Pod/shop/p119" in shown) is show


def _texts(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


@pytest.fixture
def cluster(tmp_path: Path) -> tools.Cluster:
    return tools.open_cluster(snapshot=write_snapshot_dir(merged(DEFAULT_SCENARIOS), tmp_path))


def test_restricted_hides_other_namespaces_like_missing_ones(cluster: tools.Cluster) -> None:
    shop = Restricted(cluster, ["shop"])
    assert cluster.namespaces() == ["payments", "shop"]
    assert shop.namespaces() == ["shop"]
    assert {p["metadata"]["namespace"] for p in shop.list("Pod")} == {"shop"}
    assert [n["metadata"]["name"] for n in shop.list("Namespace")] == ["shop"]
    assert shop.list("Node") == cluster.list("Node")  # cluster-scoped stays readable
    refusals = []
    for namespace in ("payments", "no-such-namespace"):
        with pytest.raises(tools.NotFound) as caught:
            shop.list("Pod", namespace)
        refusals.append(str(caught.value))
        with pytest.raises(tools.NotFound):
            shop.get("Deployment", "payment-processing-worker", namespace)
        with pytest.raises(tools.NotFound):
            list(shop.log_lines(namespace, "p", "c"))
        with pytest.raises(tools.NotFound):
            shop.get("Namespace", namespace)
    assert refusals[0] == refusals[1]  # the same words whether it exists or not
    assert shop.get("Deployment", "checkout", "shop")["metadata"]["name"] == "checkout"


def test_the_engine_on_a_restricted_cluster_sees_nothing_else(cluster: tools.Cluster) -> None:
    shop = Restricted(cluster, ["shop"])
    result = diagnose(shop, "why is payment-processing-worker crashing?")
    text = result.model_dump_json()
    assert "payments" not in text
    explicit = diagnose(shop, "", "deploy/payment-processing-worker", None)
    assert "payments" not in explicit.model_dump_json()
