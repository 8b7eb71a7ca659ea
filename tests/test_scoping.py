"""What a question is about, when the cluster makes it ambiguous: the same workload name in two
namespaces is answered for one and the other is named, never silently ignored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.scenarios import SCENARIO_DIR, load, write_snapshot_dir

import tools
from assistant.engine import diagnose


def _twin_namespaces(tmp_path: Path) -> tools.Cluster:
    prod = load(SCENARIO_DIR / "crashloop-missing-env.yaml")
    staging = prod.renamed({"shop": "shop-staging"})
    both = replace(prod, objects=prod.objects + [o for o in staging.objects
                                                 if o["kind"] != "Node"],
                   logs={**prod.logs, **staging.logs},
                   previous_logs={**prod.previous_logs, **staging.previous_logs},
                   namespaces=["shop", "shop-staging"])
    return tools.open_cluster(snapshot=write_snapshot_dir(both, tmp_path / "snap"))


def test_a_name_in_two_namespaces_is_answered_for_one_and_the_other_is_named(
        tmp_path: Path) -> None:
    result = diagnose(_twin_namespaces(tmp_path), "why is checkout failing?")
    assert result.root_cause is not None
    answered = result.root_cause.object.split("/")[1]
    other = "shop-staging" if answered == "shop" else "shop"
    assert f"also exists in namespace {other}; this answer is about {answered}" in result.summary


def test_naming_the_namespace_removes_the_ambiguity(tmp_path: Path) -> None:
    result = diagnose(_twin_namespaces(tmp_path), "why is checkout failing in shop-staging?")
    assert result.root_cause is not None
    assert result.root_cause.object == "Deployment/shop-staging/checkout"
    assert "also exists" not in result.summary
