"""Which namespaces a free-form question names, for the interfaces with an allow-list (Slack
channels, `sre web -n`): a question naming another one is refused, one naming only allowed
namespaces is answered."""

from __future__ import annotations

import pytest

from assistant.service.allowing import named_namespaces, outside

KNOWN = ["shop", "payments", "kube-system", "default"]


@pytest.mark.parametrize(("question", "named"), [
    ("why is coredns failing in kube-system?", ["kube-system"]),
    ("why is api failing in namespace shop", ["shop"]),
    ("what is wrong in the default namespace?", ["default"]),
    ("anything broken in this namespace?", []),
    ("check namespace payments and the shop namespace", ["payments", "shop"]),
    ("is it ok? -n payments", ["payments"]),
    ("why is checkout failing in production?", []),  # not a namespace of this cluster
])
def test_the_namespaces_a_question_names(question: str, named: list[str]) -> None:
    assert named_namespaces(question, KNOWN) == named


def test_a_question_naming_only_allowed_namespaces_is_answered() -> None:
    assert outside("why is api failing in namespace shop", {"shop"}, KNOWN) is None
    assert outside("why is api failing in namespace shop", None, KNOWN) is None


def test_a_question_naming_another_namespace_is_refused() -> None:
    assert outside("why is coredns failing in kube-system?", {"shop"}, KNOWN) == "kube-system"
    assert outside("the payments namespace is down", {"shop"}, KNOWN) == "payments"
