"""ObjectRef: the string form stays the wire format, parsed back to the same parts."""

from __future__ import annotations

import pytest

from tools import ObjectRef


@pytest.mark.parametrize("text", ["Deployment/shop/checkout", "Pod/shop/checkout-7d9f8b6c4-x2k9p",
                                  "Node/-/node-1", "PersistentVolume/-/pv-0001"])
def test_string_round_trips(text: str) -> None:
    assert str(ObjectRef.parse(text)) == text


def test_parts_of_a_namespaced_reference() -> None:
    ref = ObjectRef.parse("StatefulSet/data/postgres")
    assert (ref.kind, ref.namespace, ref.name) == ("StatefulSet", "data", "postgres")


@pytest.mark.parametrize("text", ["Node/-/node-1", "Node/node-1", "Namespace//shop"])
def test_cluster_scoped_kinds_have_no_namespace(text: str) -> None:
    ref = ObjectRef.parse(text)
    assert ref.namespace is None
    assert str(ref) == f"{ref.kind}/-/{ref.name}"


def test_built_from_an_object_reads_like_today() -> None:
    pod = {"metadata": {"name": "api-0", "namespace": "shop"}}
    node = {"metadata": {"name": "node-1"}}
    assert str(ObjectRef.of("Pod", pod)) == "Pod/shop/api-0"
    assert str(ObjectRef.of("Node", node)) == "Node/-/node-1"
    assert ObjectRef.of("Pod", pod).short == "Pod/api-0"


def test_equal_references_are_one_key() -> None:
    assert ObjectRef.parse("Service/shop/cart") == ObjectRef("Service", "shop", "cart")
    assert len({ObjectRef.parse("Node/n1"), ObjectRef("Node", None, "n1")}) == 1


@pytest.mark.parametrize("text", ["", "checkout", "Deployment/shop/checkout/extra", "/shop/x",
                                  "Deployment/shop/"])
def test_bad_input_is_a_clear_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="not an object reference"):
        ObjectRef.parse(text)
