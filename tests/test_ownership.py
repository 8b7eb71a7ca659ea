"""Ownership on small object lists: owner chains, the pods of a target, revisions."""

from __future__ import annotations

from typing import Any

from tools import Obj, ObjectRef
from tools.ownership import by_revision, owned_by, owner_chain, pods_of, revision, top_owner


def _obj(kind: str, name: str, *owners: tuple[str, str], uid: str | None = None,
         revision: str | None = None) -> Obj:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": uid or f"uid-{name}",
                            "ownerReferences": [{"kind": k, "name": n, "controller": True}
                                                for k, n in owners]}
    if revision is not None:
        meta["annotations"] = {"deployment.kubernetes.io/revision": revision}
    return {"kind": kind, "metadata": meta}


DEPLOY = _obj("Deployment", "checkout")
RS_OLD = _obj("ReplicaSet", "checkout-5c6d", ("Deployment", "checkout"), revision="9")
RS_NEW = _obj("ReplicaSet", "checkout-7d9f", ("Deployment", "checkout"), revision="10")
POD = _obj("Pod", "checkout-7d9f-x2k9p", ("ReplicaSet", "checkout-7d9f"))
OLD_POD = _obj("Pod", "checkout-5c6d-aaaaa", ("ReplicaSet", "checkout-5c6d"))
CRON = _obj("CronJob", "report")
JOB = _obj("Job", "report-2890", ("CronJob", "report"))
JOB_POD = _obj("Pod", "report-2890-q1w2e", ("Job", "report-2890"))
LONE = _obj("Pod", "debug")
STRAY = _obj("Pod", "checkout-zzzz-bbbbb", ("ReplicaSet", "other"))
ALL = [DEPLOY, RS_OLD, RS_NEW, POD, OLD_POD, CRON, JOB, JOB_POD, LONE, STRAY]


def find(kind: str, name: str, namespace: str | None) -> Obj | None:
    return next((o for o in ALL if o["kind"] == kind and o["metadata"]["name"] == name), None)


def items(kind: str, namespace: str) -> list[Obj]:
    return [o for o in ALL if o["kind"] == kind]


def test_owner_chain_of_a_deployment_pod() -> None:
    chain = owner_chain(POD, find)
    assert [str(link.ref) for link in chain] == ["ReplicaSet/shop/checkout-7d9f",
                                                 "Deployment/shop/checkout"]
    assert all(link.obj is not None for link in chain)


def test_owner_chain_of_a_cronjob_pod() -> None:
    assert top_owner(JOB_POD, find) == ObjectRef("CronJob", "shop", "report")


def test_a_pod_without_owner_has_none() -> None:
    assert owner_chain(LONE, find) == [] and top_owner(LONE, find) is None


def test_owner_that_is_gone_ends_the_chain() -> None:
    chain = owner_chain(STRAY, find)
    assert [(str(link.ref), link.obj) for link in chain] == [("ReplicaSet/shop/other", None)]


def test_a_deleted_replicaset_points_to_the_deployment_its_name_names() -> None:
    orphan = _obj("Pod", "checkout-1a2b-ccccc", ("ReplicaSet", "checkout-1a2b"))
    assert top_owner(orphan, find) == ObjectRef("Deployment", "shop", "checkout")


def test_chain_stops_before_kinds_not_followed() -> None:
    chain = owner_chain(POD, find, follow=["Deployment"])
    assert [(link.ref.short, link.obj) for link in chain] == [("ReplicaSet/checkout-7d9f", None)]


def test_pods_of_a_deployment_through_all_its_replicasets() -> None:
    names = {p["metadata"]["name"] for p in pods_of("Deployment", DEPLOY, items)}
    assert names == {"checkout-7d9f-x2k9p", "checkout-5c6d-aaaaa"}


def test_pods_of_a_cronjob_through_its_jobs() -> None:
    assert pods_of("CronJob", CRON, items) == [JOB_POD]


def test_pods_of_a_replicaset_of_another_uid_are_not_its_own() -> None:
    impostor = _obj("Pod", "checkout-7d9f-zzzzz")
    impostor["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": "checkout-7d9f", "uid": "someone-else"}]
    assert pods_of("ReplicaSet", RS_NEW, lambda k, ns: [POD, impostor]) == [POD]


def test_replicasets_in_revision_order_numbers_not_text() -> None:
    ordered = by_revision(owned_by(items("ReplicaSet", "shop"),
                                   ObjectRef("Deployment", "shop", "checkout")))
    assert [revision(rs) for rs in ordered] == [9, 10]


def test_a_missing_or_odd_revision_counts_as_zero() -> None:
    assert revision(_obj("ReplicaSet", "x")) == 0
    assert revision(_obj("ReplicaSet", "x", revision="abc")) == 0


def test_pods_of_a_service_are_those_its_selector_picks() -> None:
    service = {"kind": "Service", "metadata": {"name": "checkout", "namespace": "shop"},
               "spec": {"selector": {"app": "checkout"}}}
    picked = _obj("Pod", "checkout-7d9f-x2k9p")
    picked["metadata"]["labels"] = {"app": "checkout", "pod-template-hash": "7d9f"}
    other = _obj("Pod", "cart-1")
    other["metadata"]["labels"] = {"app": "cart"}
    assert pods_of("Service", service, lambda k, ns: [picked, other]) == [picked]
    assert pods_of("Service", {**service, "spec": {}}, lambda k, ns: [picked, other]) == []
